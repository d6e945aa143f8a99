/**
 * `npm run demo`: a full Dream Cascade (5 Belters, 2 Drummers, 1 Camina) offline on the simulated provider,
 * with live progress, the final synthesis and the cost table.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { DreamCascade, Format, Orchestrator, Provider } from "multi-agent-orchestration"

const task = process.argv[2] ?? "Research quantum computing applications"

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(DreamCascade.make({ belterCount: 5, drummerCount: 2, caminaCount: 1 }), task, {
    config: { maxConcurrentAgents: 3, primaryModel: "gpt-4o", workerModel: "gpt-4o-mini" },
    onEvent: (event) =>
      Console.log(`${event.progress.toFixed(1).padStart(5)}%  ${event.type.padEnd(22)} ${event.agentId ?? ""}`.trimEnd())
  })
  yield* Console.log(`\n${result.finalSynthesis ?? result.error}\n`)
  if (result.costs !== undefined) yield* Console.log(Format.costTable(result.costs))
  yield* Console.log(`\n${result.status} in ${Format.formatDuration(result.executionTime)}, ${Format.formatCost(result.totalCost)}`)
})

program.pipe(Effect.provide(Provider.simulated({ latency: "150 millis" })), NodeRuntime.runMain)
