import { assert, describe, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Duration, Effect, Exit, Layer, Option, Redacted } from "effect"
import { Orchestrator, OrchestratorError, Provider } from "multi-agent-orchestration"
import { anthropicMessage, buildProvider, chatCompletion, fakeServer, openAiResponse } from "./fakeServers.js"
import { fixedWorkflow, recorder, tasks } from "./helpers.js"

const key = Redacted.make("sk-test-0f1e2d3c4b5a69788796")
const positive = "must be a positive, finite duration (milliseconds, or a string such as \"30 seconds\")"

/** One bad option: the layer that has it (pointed at the test's server) and the problems it must name. */
interface Case {
  readonly name: string
  readonly layer: (url: string) => Layer.Layer<Provider.Provider, unknown>
  readonly problems: ReadonlyArray<string>
}

const openAi = (url: string, options: Partial<Provider.OpenAiOptions>) =>
  Provider.openAi({ apiKey: key, apiUrl: `${url}/v1`, ...options })
const anthropic = (url: string, options: Partial<Provider.AnthropicOptions>) =>
  Provider.anthropic({ apiKey: key, apiUrl: url, ...options })
const compatible = (url: string, options: Partial<Provider.OpenAiCompatibleOptions>) =>
  Provider.openAiCompatible({ baseUrl: `${url}/v1`, ...options })

const cases: ReadonlyArray<Case> = [
  // timeout, on each provider
  ...[NaN, -1, 0, Infinity].map((timeout): Case => ({
    name: `openAi timeout ${timeout}`,
    layer: (url) => openAi(url, { timeout }),
    problems: [`openAi: timeout ${positive}, got ${timeout}`]
  })),
  {
    name: "openAi timeout Duration.infinity",
    layer: (url) => openAi(url, { timeout: Duration.infinity }),
    problems: [`openAi: timeout ${positive}, got Infinity`]
  },
  {
    name: "openAi timeout \"-5 seconds\"",
    layer: (url) => openAi(url, { timeout: "-5 seconds" }),
    problems: [`openAi: timeout ${positive}, got "-5 seconds"`]
  },
  {
    name: "anthropic timeout NaN",
    layer: (url) => anthropic(url, { timeout: NaN }),
    problems: [`anthropic: timeout ${positive}, got NaN`]
  },
  {
    name: "openAiCompatible timeout 0 seconds",
    layer: (url) => compatible(url, { timeout: Duration.zero }),
    problems: [`openAiCompatible: timeout ${positive}, got 0`]
  },
  // limits
  ...(["concurrency", "requestsPerMinute", "tokensPerMinute"] as const).flatMap((limit) =>
    [NaN, 0, 0.5, 2.5, -3].map((value): Case => ({
      name: `openAi ${limit} ${value}`,
      layer: (url) => openAi(url, { [limit]: value }),
      problems: [`openAi: ${limit} must be a whole number of at least 1, got ${value}`]
    }))
  ),
  {
    name: "anthropic concurrency Infinity",
    layer: (url) => anthropic(url, { concurrency: Infinity }),
    problems: ["anthropic: concurrency must be a whole number of at least 1, got Infinity"]
  },
  {
    name: "openAiCompatible requestsPerMinute NaN",
    layer: (url) => compatible(url, { requestsPerMinute: NaN }),
    problems: ["openAiCompatible: requestsPerMinute must be a whole number of at least 1, got NaN"]
  },
  {
    name: "openAi maxTokens 0",
    layer: (url) => openAi(url, { maxTokens: 0 }),
    problems: ["openAi: maxTokens must be a whole number of at least 1, got 0"]
  },
  // base URLs
  {
    name: "openAi apiUrl without a scheme",
    layer: () => Provider.openAi({ apiKey: key, apiUrl: "api.openai.com/v1" }),
    problems: ["openAi: apiUrl must be an http:// or https:// URL, got \"api.openai.com/v1\""]
  },
  {
    name: "anthropic apiUrl \"localhost:8080\" (a scheme of \"localhost:\")",
    layer: () => Provider.anthropic({ apiKey: key, apiUrl: "localhost:8080" }),
    problems: ["anthropic: apiUrl must be an http:// or https:// URL, got \"localhost:8080\""]
  },
  {
    name: "openAiCompatible baseUrl \"\"",
    layer: () => Provider.openAiCompatible({ baseUrl: "" }),
    problems: ["openAiCompatible: baseUrl must be an http:// or https:// URL, got \"\""]
  },
  {
    name: "openAiCompatible baseUrl ftp://",
    layer: () => Provider.openAiCompatible({ baseUrl: "ftp://127.0.0.1/v1" }),
    problems: ["openAiCompatible: baseUrl must be an http:// or https:// URL, got \"ftp://127.0.0.1/v1\""]
  },
  // names and keys
  {
    name: "openAi defaultModel \"\"",
    layer: (url) => openAi(url, { defaultModel: "" }),
    problems: ["openAi: defaultModel must not be empty, got \"\""]
  },
  {
    name: "anthropic defaultModel \"  \"",
    layer: (url) => anthropic(url, { defaultModel: "  " }),
    problems: ["anthropic: defaultModel must not be empty, got \"  \""]
  },
  {
    name: "openAiCompatible defaultModel \"\"",
    layer: (url) => compatible(url, { defaultModel: "" }),
    problems: ["openAiCompatible: defaultModel must not be empty, got \"\""]
  },
  {
    name: "openAi apiKey \"\"",
    layer: (url) => openAi(url, { apiKey: Redacted.make("") }),
    problems: ["openAi: apiKey must not be empty"]
  },
  {
    name: "anthropic anthropicVersion \"\"",
    layer: (url) => anthropic(url, { anthropicVersion: "" }),
    problems: ["anthropic: anthropicVersion must not be empty, got \"\""]
  },
  {
    name: "openAiCompatible name with a colon",
    layer: (url) => compatible(url, { name: "my:server" }),
    problems: ["openAiCompatible: name is the model prefix it answers to and must not contain \":\", got \"my:server\""]
  },
  // withLimits
  ...(["concurrency", "requestsPerMinute", "tokensPerMinute"] as const).map((limit): Case => ({
    name: `withLimits ${limit} 0`,
    layer: (url) => Provider.withLimits(compatible(url, {}), { [limit]: 0 }),
    problems: [`withLimits: ${limit} must be a whole number of at least 1, got 0`]
  })),
  // router
  {
    name: "router with no routes",
    layer: () => Provider.router({}),
    problems: ["router: needs at least one route"]
  },
  {
    name: "router with an empty route name",
    layer: (url) => Provider.router({ "": compatible(url, {}) }),
    problems: ["router: a route name must not be empty, got \"\""]
  },
  {
    name: "router with an empty default",
    layer: (url) => Provider.router({ local: compatible(url, {}) }, { default: "" }),
    problems: ["router: default must not be empty, got \"\""]
  },
  {
    name: "router with a default that is no route",
    layer: (url) => Provider.router({ local: compatible(url, {}) }, { default: "openai" }),
    problems: ["router: default \"openai\" is not one of the routes (local)"]
  },
  {
    name: "router with a route whose options are bad",
    layer: (url) => Provider.router({ local: compatible(url, {}), backup: compatible(url, { defaultModel: "" }) }),
    problems: ["route \"backup\": openAiCompatible: defaultModel must not be empty, got \"\""]
  }
]

/** A run of a small workflow on `layer`: its exit, the events it emitted, and the requests the server got. */
const runOn = (layer: (url: string) => Layer.Layer<Provider.Provider, unknown>) =>
  Effect.gen(function*() {
    const server = yield* fakeServer(() => ({ json: chatCompletion("ok", "llama3.1", { input: 1, output: 1 }) }))
    const events = recorder()
    const exit = yield* Effect.exit(
      Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", { onEvent: events.onEvent }).pipe(
        Effect.provide(layer(server.url))
      )
    )
    return { exit, events: events.events, requests: server.received.length }
  })

/** The problems of the `InvalidConfig` the exit failed with; fails the test on a success or a defect. */
const problemsOf = (exit: Exit.Exit<unknown, unknown>): ReadonlyArray<string> => {
  if (Exit.isSuccess(exit)) return assert.fail("expected the run to fail with InvalidConfig")
  assert.isFalse(Cause.isDie(exit.cause), `a defect, not a typed error: ${Cause.pretty(exit.cause)}`)
  const error = Option.getOrUndefined(Cause.failureOption(exit.cause))
  assert.instanceOf(error, OrchestratorError.InvalidConfig)
  return (error as OrchestratorError.InvalidConfig).problems
}

describe("bad provider options are a typed InvalidConfig before any request", () => {
  for (const c of cases) {
    it.scoped(c.name, () =>
      Effect.gen(function*() {
        const { events, exit, requests } = yield* runOn(c.layer)
        assert.deepStrictEqual(problemsOf(exit), c.problems)
        assert.strictEqual(requests, 0)
        assert.deepStrictEqual(events, [])
      }))
  }

  it.scoped("every problem of a layer is listed at once", () =>
    Effect.gen(function*() {
      const { exit, requests } = yield* runOn((url) =>
        Provider.openAi({
          apiKey: Redacted.make(" "),
          apiUrl: "nope",
          defaultModel: "",
          timeout: NaN,
          maxTokens: 1.5,
          concurrency: 0,
          requestsPerMinute: NaN,
          tokensPerMinute: -1
        }).pipe(
          Provider.withLimits({ concurrency: 0 }),
          (layer) => Provider.router({ openai: layer, local: compatible(url, { timeout: -1 }) })
        )
      )
      assert.deepStrictEqual(problemsOf(exit), [
        "route \"openai\": openAi: apiKey must not be empty",
        "route \"openai\": openAi: apiUrl must be an http:// or https:// URL, got \"nope\"",
        "route \"openai\": openAi: defaultModel must not be empty, got \"\"",
        `route "openai": openAi: timeout ${positive}, got NaN`,
        "route \"openai\": openAi: maxTokens must be a whole number of at least 1, got 1.5",
        "route \"openai\": openAi: concurrency must be a whole number of at least 1, got 0",
        "route \"openai\": openAi: requestsPerMinute must be a whole number of at least 1, got NaN",
        "route \"openai\": openAi: tokensPerMinute must be a whole number of at least 1, got -1",
        "route \"openai\": withLimits: concurrency must be a whole number of at least 1, got 0",
        `route "local": openAiCompatible: timeout ${positive}, got -1`
      ])
      assert.strictEqual(requests, 0)
    }))

  it.scoped("timeout: NaN no longer starts a run whose every agent times out after 0", () =>
    Effect.gen(function*() {
      const { events, exit } = yield* runOn((url) => compatible(url, { timeout: NaN }))
      assert.strictEqual(Exit.isFailure(exit) && Cause.pretty(exit.cause).includes("timed out after 0"), false)
      assert.deepStrictEqual(problemsOf(exit), [`openAiCompatible: timeout ${positive}, got NaN`])
      assert.deepStrictEqual(events, [])
    }))

  it.scoped("good options of every kind are accepted, and every route answers", () =>
    Effect.gen(function*() {
      const openai = yield* fakeServer(() => ({ json: openAiResponse("ok", "gpt-4o", { input: 1, output: 1 }) }))
      const claude = yield* fakeServer(() => ({ json: anthropicMessage("ok", "claude-sonnet-4-5", { input: 1, output: 1 }) }))
      const local = yield* fakeServer(() => ({ json: chatCompletion("ok", "llama3.1", { input: 1, output: 1 }) }))
      const provider = yield* buildProvider(
        Provider.router({
          openai: openAi(openai.url, { timeout: "30 seconds", concurrency: 2, requestsPerMinute: 600, tokensPerMinute: 1 }),
          anthropic: anthropic(claude.url, { timeout: Duration.minutes(1), maxTokens: 1, defaultModel: "claude-haiku-4-5" }),
          local: compatible(local.url, { timeout: [5, 0], name: "ollama", apiKey: Redacted.make("token") })
        }, { default: "local" }).pipe(Provider.withLimits({ concurrency: 1, tokensPerMinute: 1_000_000 }))
      )
      for (const model of ["openai:gpt-4o", "anthropic:claude-haiku-4-5", "local:llama3.1"]) {
        yield* provider.complete({ prompt: "hi", model })
      }
      assert.deepStrictEqual([openai, claude, local].map((server) => server.received.length), [1, 1, 1])
    }))
})

describe("layerConfig forms and fromEnv check what they read", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

  it.scoped("openAiLayerConfig: a timeout of \"0 seconds\" and a URL without a scheme", () =>
    Effect.gen(function*() {
      const { exit, requests } = yield* runOn((url) =>
        Provider.openAiLayerConfig({
          apiKey: Config.redacted("KEY"),
          apiUrl: Config.string("URL"),
          timeout: Config.duration("TIMEOUT")
        }).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([
          ["KEY", "sk-test-0f1e2d3c4b5a6978"],
          ["URL", url.replace("http://", "")],
          ["TIMEOUT", "0 seconds"]
        ])))))
      )
      const problems = problemsOf(exit)
      assert.strictEqual(problems.length, 2)
      assert.match(problems[0]!, /^openAi: apiUrl must be an http:\/\/ or https:\/\/ URL, got "127\.0\.0\.1:\d+"$/)
      assert.strictEqual(problems[1], `openAi: timeout ${positive}, got 0`)
      assert.strictEqual(requests, 0)
    }))

  it.scoped("anthropicLayerConfig and openAiCompatibleLayerConfig: an empty model name", () =>
    Effect.gen(function*() {
      const first = yield* runOn((url) =>
        Provider.anthropicLayerConfig({
          apiKey: Config.redacted("KEY"),
          apiUrl: Config.succeed(url),
          defaultModel: Config.string("MODEL")
        }).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["KEY", "k-1"], ["MODEL", ""]])))))
      )
      assert.deepStrictEqual(problemsOf(first.exit), ["anthropic: defaultModel must not be empty, got \"\""])
      const second = yield* runOn((url) =>
        Provider.openAiCompatibleLayerConfig({ baseUrl: Config.succeed(`${url}/v1`), concurrency: Config.integer("CONCURRENCY") })
          .pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["CONCURRENCY", "0"]])))))
      )
      assert.deepStrictEqual(problemsOf(second.exit), ["openAiCompatible: concurrency must be a whole number of at least 1, got 0"])
      assert.strictEqual(first.requests + second.requests, 0)
    }))

  it.scoped("a variable that is missing is effect's ConfigError, as before", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Layer.build(Provider.openAiCompatibleLayerConfig({ baseUrl: Config.string("OPENAI_BASE_URL") })).pipe(withEnv({}))
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const error = Option.getOrUndefined(Cause.failureOption(exit.cause))
        assert.isFalse(error instanceof OrchestratorError.InvalidConfig)
        assert.include(String(error), "OPENAI_BASE_URL")
      }
    }))

  it.scoped("fromEnv names the variables whose URLs are malformed, all of them, before any request", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer(() => ({ json: anthropicMessage("ok", "claude-sonnet-4-5", { input: 1, output: 1 }) }))
      const exit = yield* Effect.exit(
        Orchestrator.run(fixedWorkflow(tasks("a")), "task").pipe(
          Effect.provide(Provider.fromEnv),
          withEnv({
            ANTHROPIC_API_KEY: "sk-ant-test-1234",
            ANTHROPIC_BASE_URL: "api.anthropic.com",
            OPENAI_BASE_URL: "localhost:11434/v1",
            OPENAI_MODEL: "llama3.1"
          })
        )
      )
      assert.deepStrictEqual(problemsOf(exit), [
        "ANTHROPIC_BASE_URL must be an http:// or https:// URL, got \"api.anthropic.com\"",
        "OPENAI_BASE_URL must be an http:// or https:// URL, got \"localhost:11434/v1\""
      ])
      assert.strictEqual(server.received.length, 0)
    }))
})
