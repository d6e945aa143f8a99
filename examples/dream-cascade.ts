/**
 * Dream Cascade: hierarchical research in three tiers (Belter → Drummer → Camina).
 *
 *   npx tsx examples/dream-cascade.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { DreamCascade, Format, Orchestrator, Provider } from "multi-agent-orchestration"

const cascade = DreamCascade.make({
  belterCount: 5, // Tier 1: quick parallel research
  drummerCount: 3, // Tier 2: deep analysis of groups of findings
  caminaCount: 1 // Tier 3: the executive synthesis
})

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(cascade, "Research quantum computing applications", {
    config: { primaryModel: "gpt-4o", workerModel: "gpt-4o-mini", maxConcurrentAgents: 5 }
  })
  for (const synthesis of result.synthesisResults) {
    yield* Console.log(`${synthesis.level} ${synthesis.synthesisId} ← ${synthesis.sourceAgentIds.join(", ")}`)
  }
  yield* Console.log(`\n${result.finalSynthesis}\n`)
  yield* Console.log(`Cost: ${Format.formatCost(result.totalCost)}`)
})

program.pipe(Effect.provide(Provider.simulated()), NodeRuntime.runMain)
