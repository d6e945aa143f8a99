import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Fiber, TestClock } from "effect"
import { DreamSwarm, Orchestrator, Provider } from "multi-agent-orchestration"
import { scripted } from "./helpers.js"

const plannerReply = (request: Provider.CompletionRequest) => {
  const count = Number(/Write (\d+) search queries/.exec(request.prompt ?? "")?.[1] ?? 0)
  return Array.from({ length: count }, (_, i) => `${i + 1}. query ${i + 1}`).join("\n")
}

const swarmProvider = (latency?: Duration.DurationInput) =>
  scripted({
    ...(latency === undefined
      ? {}
      : { latency: (r: Provider.CompletionRequest): Duration.DurationInput => (r.system?.startsWith("You plan") ? 0 : latency) }),
    reply: (request) =>
      Effect.succeed(
        request.system?.startsWith("You plan") === true
          ? plannerReply(request)
          : `found for ${/Search: (.*)/.exec(request.prompt ?? "")?.[1] ?? "summary"}`
      )
  })

describe("DreamSwarm", () => {
  it.effect("the README example: agents spread over the domains, maxParallel at a time", () =>
    Effect.gen(function*() {
      const { layer, log } = swarmProvider("1 second")
      const fiber = yield* Orchestrator.run(
        DreamSwarm.make({ numAgents: 5, domains: ["arxiv", "github", "news", "wikipedia"], maxParallel: 3 }),
        "Compare vector databases",
        { config: { maxConcurrentAgents: 10 } }
      ).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      assert.deepStrictEqual(result.agentResults.map((r) => r.metadata.domain), ["arxiv", "github", "news", "wikipedia", "arxiv"])
      assert.deepStrictEqual(result.agentResults.map((r) => r.agentType), Array(5).fill("specialized"))
      // Five agents of a second, at most three at a time, even though the run allows ten.
      assert.strictEqual(log.maxInFlight, 3)
      assert.deepStrictEqual(log.calls.slice(1, 6).map((c) => c.startedAt), [0, 0, 0, 1000, 1000])
      // Every domain has its own instructions.
      const systems = log.calls.slice(1, 6).map((c) => c.request.system ?? "")
      assert.include(systems[0]!, "arXiv")
      assert.include(systems[1]!, "GitHub")
      assert.include(systems[2]!, "news")
      assert.include(systems[3]!, "Wikipedia")
      // The synthesis groups the findings by domain.
      const synthesis = log.calls.at(-1)!.request.prompt!
      assert.match(synthesis, /## arxiv\n\n### swarm-1\n\nfound for query 1\n\n### swarm-5\n\nfound for query 5\n\n## github/)
      assert.match(result.finalSynthesis!, /## Findings by domain\n\n### arxiv\n\n- swarm-1: query 1\n- swarm-5: query 5\n\n### github/)
      assert.deepStrictEqual(result.metadata.domains, {
        arxiv: { agents: 2, completed: 2 },
        github: { agents: 1, completed: 1 },
        news: { agents: 1, completed: 1 },
        wikipedia: { agents: 1, completed: 1 }
      })
      assert.deepStrictEqual(Object.keys(result.costs!.byTier).sort(), ["arxiv", "decomposition", "github", "news", "synthesis", "wikipedia"])
    }))

  it.effect("accepts the original's agent types as domains", () =>
    Effect.gen(function*() {
      const types = ["text", "image", "video", "news", "academic", "social", "product", "technical"]
      const result = yield* Orchestrator.run(DreamSwarm.make({ numAgents: 8, domains: types }), "Electric bikes").pipe(
        Effect.provide(Provider.simulated())
      )
      assert.deepStrictEqual(result.agentResults.map((r) => r.tier), types)
    }))

  it.effect("an unknown domain is refused before any call, with the list of known ones", () =>
    Effect.gen(function*() {
      const { layer, log } = swarmProvider()
      const error = yield* Orchestrator.run(DreamSwarm.make({ domains: ["arxiv", "tiktok"], maxParallel: 0 }), "task").pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.deepStrictEqual(error.problems, [
        "dream-swarm: maxParallel must be an integer of at least 1, got 0",
        `dream-swarm: unknown domain "tiktok" (known domains: ${DreamSwarm.knownDomains.join(", ")})`
      ])
      assert.include(error.message, "arxiv, github, news, wikipedia, text, image, video, academic, social, product, technical")
      assert.strictEqual(log.calls.length, 0)
    }))
})
