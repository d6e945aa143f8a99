import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Fiber, Layer, Logger, LogLevel, TestClock } from "effect"
import { DreamSwarm, Orchestrator, Provider, Workflow } from "multi-agent-orchestration"
import { anthropicMessage, buildProvider, chatCompletion, fakeServer } from "./fakeServers.js"
import { fixedWorkflow, scripted, tasks } from "./helpers.js"

/** `Provider.fromEnv` built with these variables (and no others), with every log line collected. */
const fromEnv = (env: Record<string, string>) =>
  Effect.gen(function*() {
    const logs: Array<{ readonly level: string; readonly message: string }> = []
    const logger = Logger.make(({ logLevel, message }) => {
      logs.push({ level: logLevel.label, message: Array.isArray(message) ? message.join(" ") : String(message) })
    })
    const provider = yield* buildProvider(Provider.fromEnv).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.All)
    )
    return { provider, logs }
  })

describe("Provider.fromEnv", () => {
  it.scoped("with no key and no base URL it uses the simulated provider and says so once, plainly", () =>
    Effect.gen(function*() {
      const { logs, provider } = yield* fromEnv({})
      assert.strictEqual(provider.name, "simulated")
      yield* provider.complete({ prompt: "hello" })
      yield* provider.complete({ prompt: "hello again" })
      assert.deepStrictEqual(logs, [{
        level: "WARN",
        message: "No ANTHROPIC_API_KEY, OPENAI_API_KEY or OPENAI_BASE_URL is set: using the simulated provider, " +
          "whose replies are canned text (offline, no cost)."
      }])
    }))

  it.scoped("empty variables count as unset", () =>
    Effect.gen(function*() {
      const { provider } = yield* fromEnv({ ANTHROPIC_API_KEY: "", OPENAI_API_KEY: " ", OPENAI_BASE_URL: "" })
      assert.strictEqual(provider.name, "simulated")
    }))

  it.scoped("ANTHROPIC_API_KEY gives Anthropic, at ANTHROPIC_BASE_URL with ANTHROPIC_MODEL when set", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer(() => ({
        json: anthropicMessage("hi", "claude-haiku-4-5", { input: 3, output: 1 })
      }))
      const { logs, provider } = yield* fromEnv({
        ANTHROPIC_API_KEY: "sk-ant-env-key-1234",
        ANTHROPIC_BASE_URL: server.url,
        ANTHROPIC_MODEL: "claude-haiku-4-5"
      })
      assert.strictEqual(provider.name, "anthropic")
      assert.strictEqual(provider.defaultModel, "claude-haiku-4-5")
      const completion = yield* provider.complete({ prompt: "hello" })
      assert.strictEqual(completion.content, "hi")
      assert.strictEqual(server.received[0]!.headers["x-api-key"], "sk-ant-env-key-1234")
      assert.strictEqual(server.received[0]!.json.model, "claude-haiku-4-5")
      assert.deepStrictEqual(logs.filter((l) => l.level === "WARN"), [])
    }))

  it.scoped("OPENAI_API_KEY gives OpenAI", () =>
    Effect.gen(function*() {
      const { provider } = yield* fromEnv({ OPENAI_API_KEY: "sk-env-key-5678" })
      assert.strictEqual(provider.name, "openai")
      assert.strictEqual(provider.defaultModel, "gpt-4o-mini")
    }))

  it.scoped("OPENAI_BASE_URL gives the OpenAI-compatible client, without a key", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer(() => ({
        json: chatCompletion("local reply", "qwen2.5:7b", { input: 3, output: 2 })
      }))
      const { provider } = yield* fromEnv({ OPENAI_BASE_URL: `${server.url}/v1`, OPENAI_MODEL: "qwen2.5:7b" })
      assert.strictEqual(provider.name, "local")
      const completion = yield* provider.complete({ prompt: "hello" })
      assert.strictEqual(completion.content, "local reply")
      assert.strictEqual(server.received[0]!.path, "/v1/chat/completions")
      assert.strictEqual(server.received[0]!.json.model, "qwen2.5:7b")
      assert.isUndefined(server.received[0]!.headers.authorization)
    }))

  it.scoped("OPENAI_BASE_URL with OPENAI_API_KEY sends the key to that server", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer(() => ({ json: chatCompletion("ok", "llama3.1", { input: 3, output: 2 }) }))
      const { provider } = yield* fromEnv({ OPENAI_BASE_URL: `${server.url}/v1/`, OPENAI_API_KEY: "sk-vllm-token-9" })
      assert.strictEqual(provider.name, "local")
      yield* provider.complete({ prompt: "hello" })
      assert.strictEqual(server.received[0]!.path, "/v1/chat/completions")
      assert.strictEqual(server.received[0]!.headers.authorization, "Bearer sk-vllm-token-9")
    }))

  it.scoped("with both keys it routes between Anthropic and OpenAI, Anthropic by default", () =>
    Effect.gen(function*() {
      const { provider } = yield* fromEnv({ ANTHROPIC_API_KEY: "sk-ant-1234", OPENAI_API_KEY: "sk-5678" })
      assert.strictEqual(provider.name, "anthropic+openai")
      assert.strictEqual(provider.defaultModel, "anthropic:claude-sonnet-4-5")
    }))
})

describe("provider limits", () => {
  it.scoped("concurrency bounds the calls in flight at a real server", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer(() =>
        new Promise((resolve) =>
          setTimeout(() => resolve({ json: chatCompletion("ok", "llama3.1", { input: 1, output: 1 }) }), 20)
        )
      )
      const provider = yield* buildProvider(Provider.openAiCompatible({ baseUrl: `${server.url}/v1`, concurrency: 2 }))
      const calls = Array.from({ length: 6 }, () => provider.complete({ prompt: "hi" }))
      yield* Effect.all(calls, { concurrency: "unbounded" })
      assert.strictEqual(server.received.length, 6)
      assert.strictEqual(server.maxInFlight(), 2)
    }))

  it.effect("one limited layer bounds every agent of every run that shares it", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ latency: "1 second" })
      const run = Orchestrator.run(fixedWorkflow(tasks("a", "b", "c", "d", "e")), "task", {
        config: { maxConcurrentAgents: 10 }
      })
      const fiber = yield* Effect.all([run, run], { concurrency: "unbounded" }).pipe(
        Effect.provide(Provider.withLimits(layer, { concurrency: 2 })),
        Effect.fork
      )
      yield* TestClock.adjust("1 minute")
      const results = yield* Fiber.join(fiber)
      assert.deepStrictEqual(results.map((r) => r.status), ["completed", "completed"])
      assert.strictEqual(log.calls.length, 10)
      assert.strictEqual(log.maxInFlight, 2)
      // Two at a time, one second each.
      assert.deepStrictEqual(log.calls.map((c) => c.startedAt), [0, 0, 1000, 1000, 2000, 2000, 3000, 3000, 4000, 4000])
    }))

  it.effect("the limits hold inside nested workflows too", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ latency: "1 second" })
      const nested = Workflow.parallel([
        Workflow.sequential([fixedWorkflow(tasks("a", "b", "c")), fixedWorkflow(tasks("d", "e", "f"), { name: "second" })]),
        DreamSwarm.make({ numAgents: 4, domains: ["news", "academic"] })
      ])
      const fiber = yield* Orchestrator.run(nested, "task", { config: { maxConcurrentAgents: 10 } }).pipe(
        Effect.provide(Provider.withLimits(layer, { concurrency: 2 })),
        Effect.fork
      )
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(log.maxInFlight, 2)
      assert.isAtLeast(log.calls.length, 12)
    }))

  it.effect("requestsPerMinute is a token bucket on the Clock", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted()
      const fiber = yield* Effect.all(
        Array.from({ length: 4 }, () => Provider.complete({ prompt: "hi" })),
        { concurrency: "unbounded" }
      ).pipe(Effect.provide(Provider.withLimits(layer, { requestsPerMinute: 2 })), Effect.fork)
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual(log.calls.length, 2)
      yield* TestClock.adjust("2 minutes")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(log.calls.map((c) => c.startedAt), [0, 0, 30_000, 60_000])
    }))

  it.effect("tokensPerMinute counts each call's prompt estimate plus its maxTokens", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted()
      // 400 characters (100 tokens) + 400 max tokens: 500 tokens a call, two calls a minute.
      const call = Provider.complete({ prompt: "x".repeat(400), maxTokens: 400 })
      const fiber = yield* Effect.all([call, call, call], { concurrency: "unbounded" }).pipe(
        Effect.provide(Provider.withLimits(layer, { tokensPerMinute: 1000 })),
        Effect.fork
      )
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual(log.calls.length, 2)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(log.calls.map((c) => c.startedAt), [0, 0, 30_000])
    }))

  it.effect("a limit below 1 is refused when the layer is built, as a typed InvalidConfig", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(buildProvider(Provider.withLimits(Provider.simulated(), { concurrency: 0 })))
      assert.deepStrictEqual(error.problems, ["withLimits: concurrency must be a whole number of at least 1, got 0"])
    }).pipe(Effect.scoped))

  it.effect("without limits the layer's service is used as it is", () =>
    Effect.gen(function*() {
      const inner = yield* buildProvider(Provider.simulated())
      const same = yield* buildProvider(Provider.withLimits(Layer.succeed(Provider.Provider, inner), {}))
      assert.strictEqual(same, inner)
    }).pipe(Effect.scoped))
})
