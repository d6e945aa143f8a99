/**
 * Looped refinement: run, score, refine with the critique, until the score passes 0.9.
 *
 *   npx tsx examples/iterative.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Orchestrator, Provider, Workflow } from "multi-agent-orchestration"

const refined = Workflow.iterate(Workflow.agent({ name: "essay", system: "Write a short essay on the task." }), {
  maxIterations: 5,
  until: (r) => r.score > 0.9 // the README's convergence_fn
})

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(refined, "Why the sky is blue", {
    onEvent: (event) =>
      event.type === "iteration_complete"
        ? Console.log(`iteration ${event.data.iteration}: score ${event.data.score?.toFixed(2)}${event.data.converged ? " (converged)" : ""}`)
        : Effect.void
  })
  yield* Console.log(`kept iteration ${String(result.metadata.chosenIteration)}, converged: ${String(result.metadata.converged)}`)
})

program.pipe(Effect.provide(Provider.simulated()), NodeRuntime.runMain)
