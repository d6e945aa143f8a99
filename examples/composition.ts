/**
 * Patterns nest: a swarm then a cascade in a pipeline, refined in a loop. One concurrency limit, one cost
 * total, and events that name their place in the tree.
 *
 *   npx tsx examples/composition.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { DreamCascade, DreamSwarm, Format, Orchestrator, Provider, Workflow } from "multi-agent-orchestration"

const research = Workflow.sequential([
  DreamSwarm.make({ numAgents: 4, domains: ["arxiv", "news"] }),
  DreamCascade.make({ belterCount: 4, drummerCount: 2, caminaCount: 1 })
], { name: "swarm-then-cascade" })

const refined = Workflow.iterate(research, { maxIterations: 2, until: (r) => r.score > 0.9 })

const program = Effect.gen(function*() {
  const depth = new Map<string, number>()
  const result = yield* Orchestrator.run(refined, "The future of solid-state batteries", {
    config: { maxConcurrentAgents: 4, primaryModel: "gpt-4o-mini" },
    onEvent: (event) => {
      if (event.type !== "workflow_start") return Effect.void
      const level = event.parentId === undefined ? 0 : (depth.get(event.parentId) ?? 0) + 1
      depth.set(event.workflowId, level)
      return Console.log(`${"  ".repeat(level)}${event.data.workflow}`)
    }
  })
  yield* Console.log(`\n${result.status}: ${result.agentResults.length} agents, ${Format.formatCost(result.totalCost)}`)
})

program.pipe(Effect.provide(Provider.simulated()), NodeRuntime.runMain)
