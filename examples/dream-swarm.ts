/**
 * Dream Swarm: parallel multi-domain search, grouped by domain.
 *
 *   npx tsx examples/dream-swarm.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { DreamSwarm, Orchestrator, Provider } from "multi-agent-orchestration"

const swarm = DreamSwarm.make({
  numAgents: 5,
  domains: ["arxiv", "github", "news", "wikipedia"],
  maxParallel: 3
})

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(swarm, "Open-source vector databases")
  for (const agent of result.agentResults) {
    yield* Console.log(`${agent.agentId} [${String(agent.metadata.domain)}] ${agent.status}`)
  }
  yield* Console.log(`\n${result.finalSynthesis}`)
})

program.pipe(Effect.provide(Provider.simulated({ latency: "20 millis" })), NodeRuntime.runMain)
