/**
 * A durable Dream Cascade: kill it at any moment (Ctrl-C, kill -9) and run it again with the same run id;
 * it continues where it stopped, and what was paid for before is not paid again.
 *
 *   npx tsx examples/durable.ts my-run          # start, or continue, run "my-run"
 *   npx tsx examples/durable.ts my-run STORE    # in another store file (default .orchestrate/runs.db)
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { DreamCascade, Format, Orchestrator, Provider, RunStore } from "multi-agent-orchestration"

const runId = process.argv[2] ?? "durable-example"
const filename = process.argv[3] ?? RunStore.defaultFilename

const cascade = DreamCascade.make({ belterCount: 6, drummerCount: 2, caminaCount: 1 })

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(cascade, "Research durable execution engines", {
    config: { primaryModel: "gpt-4o", maxConcurrentAgents: 2 },
    durable: { runId },
    onEvent: (event) =>
      event.type === "agent_complete" ? Console.log(`${event.agentId} done (${event.progress.toFixed(0)}%)`) : Effect.void
  })
  const durable = result.metadata.durable as { previousCost: number; resumedCost: number; resumed: boolean }
  yield* Console.log(`\n${result.status}: ${result.agentResults.length} agents`)
  yield* Console.log(
    `paid before the restart ${Format.formatCost(durable.previousCost)}, after it ${Format.formatCost(durable.resumedCost)}, ` +
      `total ${Format.formatCost(result.totalCost)}`
  )
})

program.pipe(
  Effect.provide(Layer.merge(
    // Each call takes 300 ms, so that there is time to interrupt the run.
    Provider.simulated({ latency: "300 millis" }),
    RunStore.layerSqlite({ filename })
  )),
  NodeRuntime.runMain
)
