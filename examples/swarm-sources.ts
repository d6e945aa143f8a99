/**
 * Dream Swarm with real sources: each domain agent searches its source (arXiv, GitHub, Hacker News,
 * Wikipedia) with a tool, cites what it found, and the synthesis lists the sources. Offline by default;
 * `--real` searches the real APIs (set GITHUB_TOKEN for GitHub's higher limit).
 *
 *   npx tsx examples/swarm-sources.ts [--real]
 */
import { FetchHttpClient } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { DreamSwarm, Orchestrator, Provider } from "multi-agent-orchestration"
import * as SearchTools from "multi-agent-orchestration/SearchTools"

const swarm = DreamSwarm.make({
  numAgents: 4,
  domains: ["arxiv", "github", "news", "wikipedia"],
  tools: { toolkit: SearchTools.toolkit, toolFor: SearchTools.toolFor }
})

const searches = process.argv.includes("--real")
  ? Layer.provide(SearchTools.layerRealConfig({ userAgent: "multi-agent-orchestration-example/0.1" }), FetchHttpClient.layer)
  : SearchTools.layerSimulated()

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(swarm, "Quantum error correction", {
    onEvent: (event) =>
      event.type === "tool_result"
        ? Console.log(`${event.agentId} ${event.data.tool}: ${event.data.outcome} in ${event.data.durationMillis} ms`)
        : Effect.void
  })
  for (const source of result.metadata.sources as ReadonlyArray<DreamSwarm.Source>) {
    yield* Console.log(`[${source.domain}] ${source.title} <${source.url}>`)
  }
  yield* Console.log(`\n${result.finalSynthesis}`)
})

program.pipe(Effect.provide(Layer.merge(Provider.simulated(), searches)), NodeRuntime.runMain)
