import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, LogLevel, Option, Redacted, TestClock } from "effect"
import {
  DreamCascade,
  Format,
  Orchestrator,
  type OrchestratorError,
  OrchestratorEvent,
  OrchestratorResult,
  Pricing,
  Provider
} from "multi-agent-orchestration"
import {
  anthropicMessage,
  chatCompletion,
  type FakeUsage,
  fakeServer,
  openAiResponse,
  type Reply
} from "./fakeServers.js"

const KEY = "sk-live-9d2e7c41b08f3a65"

/** The end-to-end run: a full Dream Cascade, one decomposition call and eight agents. */
const cascade = () => DreamCascade.make({ belterCount: 5, drummerCount: 2, caminaCount: 1 })

/**
 * Runs `effect` while advancing the TestClock in small steps, giving real sockets time between steps. Time
 * bounds in these tests are generous (an hour), so that a slow machine never turns real latency into a
 * virtual time-out.
 */
const withVirtualTime = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (;;) {
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return yield* exit.value
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      yield* TestClock.adjust("500 millis")
    }
  })

interface Wire {
  readonly name: string
  readonly model: string
  /** The model the server says answered (a dated snapshot where the API does that). */
  readonly answeredBy: string
  readonly price: Pricing.ModelPrice
  readonly layer: (url: string) => Layer.Layer<Provider.Provider, OrchestratorError.InvalidConfig>
  readonly reply: (text: string, usage: FakeUsage) => unknown
  /** The usage the library must record for what the server reported. */
  readonly normalised: (usage: FakeUsage) => Tokens
  readonly error: (status: number) => unknown
}

const wires: ReadonlyArray<Wire> = [
  {
    name: "openai",
    model: "gpt-4o-mini",
    answeredBy: "gpt-4o-mini-2024-07-18",
    price: Pricing.builtIn["gpt-4o-mini"]!,
    layer: (url) => Provider.openAi({ apiKey: Redacted.make(KEY), apiUrl: `${url}/v1`, timeout: "1 hour" }),
    reply: (text, usage) => openAiResponse(text, "gpt-4o-mini-2024-07-18", usage),
    normalised: (u) => ({
      inputTokens: u.input,
      outputTokens: u.output,
      cachedInputTokens: u.cached ?? 0,
      cacheWriteInputTokens: 0
    }),
    error: (status) => ({ error: { message: `status ${status}`, type: "server_error" } })
  },
  {
    name: "anthropic",
    model: "claude-sonnet-4-5",
    answeredBy: "claude-sonnet-4-5-20250929",
    price: Pricing.builtIn["claude-sonnet-4-5"]!,
    layer: (url) => Provider.anthropic({ apiKey: Redacted.make(KEY), apiUrl: url, timeout: "1 hour" }),
    reply: (text, usage) => anthropicMessage(text, "claude-sonnet-4-5-20250929", usage),
    normalised: (u) => ({
      inputTokens: u.input + (u.cached ?? 0) + (u.cacheCreation ?? 0),
      outputTokens: u.output,
      cachedInputTokens: u.cached ?? 0,
      cacheWriteInputTokens: u.cacheCreation ?? 0
    }),
    error: (status) => ({
      type: "error",
      error: { type: status === 429 ? "rate_limit_error" : "api_error", message: "x" }
    })
  },
  {
    name: "local",
    model: "llama3.1",
    answeredBy: "llama3.1",
    price: { input: 0.2, output: 0.6, cachedInput: 0.05 },
    layer: (url) => Provider.openAiCompatible({ baseUrl: `${url}/v1`, apiKey: Redacted.make(KEY), timeout: "1 hour" }),
    reply: (text, usage) => chatCompletion(text, "llama3.1", usage),
    normalised: (u) => ({
      inputTokens: u.input,
      outputTokens: u.output,
      cachedInputTokens: u.cached ?? 0,
      cacheWriteInputTokens: 0
    }),
    error: (status) => ({ error: { message: `status ${status}` } })
  }
]

/** Different, recognisable usage for every call, with cached input on every other one. */
const usageFor = (n: number): FakeUsage => ({
  input: 100 + 10 * n,
  output: 40 + n,
  cached: n % 2 === 0 ? 30 : 0,
  cacheCreation: n % 3 === 0 ? 5 : 0
})

interface Tokens {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedInputTokens: number
  readonly cacheWriteInputTokens: number
}

/** The price of `usage` at `price`, worked out here from the table's rates per million tokens. */
const dollars = (price: Pricing.ModelPrice, usage: Tokens) =>
  ((usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteInputTokens) * price.input +
    usage.cachedInputTokens * (price.cachedInput ?? price.input) +
    usage.cacheWriteInputTokens * (price.cacheWrite ?? price.input) +
    usage.outputTokens * price.output) / 1_000_000

/** Collects every log line, at every level. */
const logCollector = () => {
  const lines: Array<string> = []
  const layer = Logger.add(Logger.make(({ message }) => {
    lines.push(JSON.stringify(message))
  }))
  return { lines, layer }
}

for (const wire of wires) {
  describe(`a Dream Cascade run against a fake ${wire.name} server`, () => {
    it.scoped("completes despite one 429 and one 500, with totals that match the server's usage and the prices", () =>
      Effect.gen(function*() {
        const served: Array<FakeUsage> = []
        const server = yield* fakeServer((_, n): Reply => {
          if (n === 3) {
            return { status: 429, headers: { "retry-after": "5" }, json: wire.error(429) }
          }
          if (n === 6) return { status: 500, json: wire.error(500) }
          const usage = usageFor(n)
          served.push(usage)
          // The plan comes back as the JSON it is asked for; every other reply is text.
          const text = n === 1
            ? JSON.stringify({ subtasks: ["tides", "turbines", "grids", "storage", "policy"] })
            : `Reply ${n}: findings on the angle.`
          return { json: wire.reply(text, usage) }
        })
        const events: Array<OrchestratorEvent.OrchestratorEvent> = []
        const logs = logCollector()
        const result = yield* withVirtualTime(
          Orchestrator.run(cascade(), "Research quantum computing applications", {
            config: {
              primaryModel: `${wire.name}:${wire.model}`,
              maxConcurrentAgents: 5,
              maxRetries: 2,
              timeoutSeconds: 3600
            },
            // Like a user who logs every event: the log lines must not carry the key either.
            onEvent: (event) => {
              events.push(event)
              return Effect.logDebug(OrchestratorEvent.toJson(event))
            }
          }).pipe(
            Effect.provide(
              Layer.mergeAll(wire.layer(server.url), Pricing.layer({ [wire.model]: wire.price }), logs.layer)
            ),
            Logger.withMinimumLogLevel(LogLevel.All)
          )
        )

        // 1 decomposition + 5 Belters + 2 Drummers + 1 Camina, and the two failed attempts.
        assert.strictEqual(result.status, "completed")
        assert.strictEqual(server.received.length, 11)
        assert.strictEqual(served.length, 9)
        assert.deepStrictEqual(result.agentResults.map((r) => r.status), Array(8).fill("completed"))
        assert.include(result.finalSynthesis ?? "", "findings on the angle")
        for (const request of server.received) assert.strictEqual(request.json.model, wire.model)

        const retries = events.filter((e): e is OrchestratorEvent.Of<"agent_retry"> => e.type === "agent_retry")
        assert.deepStrictEqual(retries.map((e) => e.data.errorTag).sort(), ["RateLimited", "Unavailable"])
        const limited = retries.find((e) => e.data.errorTag === "RateLimited")!
        assert.isAtLeast(limited.data.delayMillis, 5000)
        assert.include(limited.data.reason, `${wire.name} ${wire.model}: rate limited, retry after 5s (HTTP 429)`)

        const sum = served.map(wire.normalised).reduce((sum, u) => ({
          inputTokens: sum.inputTokens + u.inputTokens,
          outputTokens: sum.outputTokens + u.outputTokens,
          cachedInputTokens: sum.cachedInputTokens + u.cachedInputTokens,
          cacheWriteInputTokens: sum.cacheWriteInputTokens + u.cacheWriteInputTokens
        }))
        const { cacheWriteInputTokens, ...expected } = sum
        assert.deepStrictEqual(
          result.usage,
          cacheWriteInputTokens > 0 ? { ...expected, cacheWriteInputTokens } : expected
        )
        const cost = served.map(wire.normalised).reduce((sum, u) => sum + dollars(wire.price, u), 0)
        assert.closeTo(result.totalCost, cost, 1e-12)
        assert.isAbove(cost, 0)
        const byTier = result.costs?.byTier ?? {}
        const agents = result.agentResults.reduce((sum, r) => sum + r.cost, 0)
        assert.closeTo(agents + (byTier["synthesis"]?.cost ?? 0) + (byTier["decomposition"]?.cost ?? 0), cost, 1e-12)
        assert.deepStrictEqual(Object.keys(result.costs?.byModel ?? {}), [wire.answeredBy])

        // The key reached the server, and nothing else.
        const sawKey = server.received.every((r) =>
          r.headers.authorization === `Bearer ${KEY}` || r.headers["x-api-key"] === KEY
        )
        assert.isTrue(sawKey)
        const everything = [
          JSON.stringify(events),
          JSON.stringify(result),
          yield* OrchestratorResult.toJson(result),
          Format.costTable(result.costs!),
          logs.lines.join("\n")
        ].join("\n")
        assert.isAtLeast(logs.lines.length, 7)
        assert.notInclude(everything, KEY)
        assert.notInclude(everything, KEY.slice(3))
      }))

    it.scoped("a permanent error (401) is never retried, and its message carries no key", () =>
      Effect.gen(function*() {
        const server = yield* fakeServer(() => ({
          status: 401,
          json: { error: { type: "authentication_error", message: `invalid x-api-key: ${KEY}` } }
        }))
        const events: Array<OrchestratorEvent.OrchestratorEvent> = []
        const result = yield* withVirtualTime(
          Orchestrator.run(cascade(), "task", {
            config: {
              primaryModel: wire.model,
              fallbackModel: `${wire.name}:other-model`,
              maxRetries: 5,
              timeoutSeconds: 3600
            },
            onEvent: (event) => {
              events.push(event)
            }
          }).pipe(Effect.provide(wire.layer(server.url)))
        )
        assert.strictEqual(server.received.length, 1)
        assert.strictEqual(result.status, "failed")
        assert.include(result.error ?? "", `${wire.name} ${wire.model}: authentication failed (HTTP 401)`)
        assert.notInclude(JSON.stringify(result) + JSON.stringify(events), KEY)
      }))
  })
}

describe("fallback across providers", () => {
  it.scoped("primaryModel on one provider, fallbackModel on another: the run moves over once retries are spent", () =>
    Effect.gen(function*() {
      const openai = yield* fakeServer(() => ({ status: 503, json: { error: { message: "overloaded" } } }))
      const anthropic = yield* fakeServer(() => ({
        json: anthropicMessage("from claude", "claude-sonnet-4-5-20250929", { input: 10, output: 5 })
      }))
      const result = yield* withVirtualTime(
        Orchestrator.run(cascade(), "task", {
          config: {
            primaryModel: "openai:gpt-4o",
            fallbackModel: "anthropic:claude-sonnet-4-5",
            maxRetries: 1,
            timeoutSeconds: 3600
          }
        }).pipe(Effect.provide(Provider.router({
          openai: Provider.openAi({ apiKey: Redacted.make(KEY), apiUrl: `${openai.url}/v1`, timeout: "1 hour" }),
          anthropic: Provider.anthropic({ apiKey: Redacted.make(KEY), apiUrl: anthropic.url, timeout: "1 hour" })
        })))
      )
      assert.strictEqual(result.status, "completed")
      // Each of the 10 calls (the plan's reply is no plan, so it gets one repair call): two attempts on OpenAI,
      // then one on Anthropic.
      assert.strictEqual(openai.received.length, 20)
      assert.strictEqual(anthropic.received.length, 10)
      assert.deepStrictEqual(result.agentResults.map((r) => r.model), Array(8).fill("anthropic:claude-sonnet-4-5"))
      assert.deepStrictEqual(Object.keys(result.costs?.byModel ?? {}), ["claude-sonnet-4-5-20250929"])
      assert.strictEqual(result.finalSynthesis, "from claude")
    }))
})
