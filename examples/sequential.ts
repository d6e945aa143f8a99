/**
 * A pipeline: steps run one after another, each seeing the task and every earlier step's output.
 *
 *   npx tsx examples/sequential.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Orchestrator, Provider, Workflow } from "multi-agent-orchestration"

const pipeline = Workflow.sequential([
  Workflow.agent({ name: "outline", system: "Outline an article on the task as a bullet list." }),
  Workflow.agent({ name: "draft", system: "Write the article from the outline." }),
  Workflow.agent({ name: "edit", system: "Edit the draft for clarity and length." })
])

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(pipeline, "How tides work", {
    config: { numAgents: 3, parallelExecution: false },
    onEvent: (event) =>
      event.type === "workflow_start" && event.parentId !== undefined ? Console.log(`step: ${event.data.title}`) : Effect.void
  })
  yield* Console.log(`\n${result.finalSynthesis}`)
})

program.pipe(Effect.provide(Provider.simulated()), NodeRuntime.runMain)
