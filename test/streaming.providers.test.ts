import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Duration, Effect, Either, Fiber, type Layer, Option, Redacted, Stream, TestClock } from "effect"
import {
  type OrchestratorError,
  Orchestrator,
  type OrchestratorEvent,
  Provider,
  ProviderError
} from "multi-agent-orchestration"
import { fixedWorkflow, recorder, tasks } from "./helpers.js"
import {
  anthropicStream,
  chatStream,
  openAiStream,
  sse,
  type StreamReply,
  type StreamRequest,
  streamServer,
  type StreamUsage
} from "./streamServers.js"

const KEY = "sk-test-7c1e93b2a4d058"

/** One provider's streaming as the tests see it. */
interface Kit {
  readonly name: string
  readonly model: string
  readonly path: string
  readonly layer: (url: string) => Layer.Layer<Provider.Provider, OrchestratorError.InvalidConfig>
  readonly wire: (model: string, deltas: ReadonlyArray<string>, usage?: StreamUsage) => {
    readonly head: ReadonlyArray<string>
    readonly deltas: ReadonlyArray<string>
    readonly tail: ReadonlyArray<string>
  }
  /** An error event mid-stream saying the server is overloaded. */
  readonly overloaded: (model: string) => string
  /** A chunk that is not JSON, cut in the middle of a text delta. */
  readonly garbled: string
  /** Whether a stream without usage can be sent (Anthropic's first event always carries it). */
  readonly usageOptional: boolean
  readonly checkRequest: (request: StreamRequest) => void
}

// Time bounds are an hour: the tests drive the TestClock while real sockets work, and a slow machine must never
// turn real latency into a virtual time-out.
const kits: ReadonlyArray<Kit> = [
  {
    name: "openai",
    model: "gpt-4o",
    path: "/v1/responses",
    layer: (url) => Provider.openAi({ apiKey: Redacted.make(KEY), apiUrl: `${url}/v1`, timeout: "1 hour" }),
    wire: openAiStream,
    overloaded: (model) => openAiStream(model, []).error("server_error", "The server is overloaded"),
    garbled: `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","item_id":"msg_1","delta":"wor\n\n`,
    usageOptional: true,
    checkRequest: ({ headers, json }) => {
      assert.strictEqual(json.stream, true)
      assert.strictEqual(json.model, "gpt-4o")
      assert.strictEqual(headers.authorization, `Bearer ${KEY}`)
    }
  },
  {
    name: "anthropic",
    model: "claude-sonnet-4-5",
    path: "/v1/messages",
    layer: (url) => Provider.anthropic({ apiKey: Redacted.make(KEY), apiUrl: url, timeout: "1 hour" }),
    wire: (model, deltas, usage) => anthropicStream(model, deltas, usage ?? { input: 1, output: 1 }),
    overloaded: (model) => anthropicStream(model, [], { input: 1, output: 1 }).error("overloaded_error", "Overloaded"),
    garbled: `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"wor\n\n`,
    usageOptional: false,
    checkRequest: ({ headers, json }) => {
      assert.strictEqual(json.stream, true)
      assert.strictEqual(json.model, "claude-sonnet-4-5")
      assert.strictEqual(headers["x-api-key"], KEY)
    }
  },
  {
    name: "local",
    model: "llama3.1:8b",
    path: "/v1/chat/completions",
    layer: (url) =>
      Provider.openAiCompatible({ baseUrl: `${url}/v1`, apiKey: Redacted.make(KEY), timeout: "1 hour" }),
    wire: chatStream,
    overloaded: (model) => chatStream(model, []).error("server_error", "The server is overloaded"),
    garbled: `data: {"id":"chatcmpl-7f3a","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"wor\n\n`,
    usageOptional: true,
    checkRequest: ({ headers, json }) => {
      assert.strictEqual(json.stream, true)
      assert.deepStrictEqual(json.stream_options, { include_usage: true })
      assert.strictEqual(json.model, "llama3.1:8b")
      assert.strictEqual(headers.authorization, `Bearer ${KEY}`)
    }
  }
]

const words = ["Streams ", "arrive ", "a ", "piece ", "at ", "a ", "time."]
const text = words.join("")
const usage = { input: 31, output: 7 }

/** The whole stream of `kit` writing `words`, as pieces for the server. */
const whole = (kit: Kit, options: { readonly withoutUsage?: boolean } = {}): ReadonlyArray<string> => {
  const wire = kit.wire(kit.model, words, options.withoutUsage === true ? undefined : usage)
  return [...wire.head, ...wire.deltas, ...wire.tail]
}

/** The stream of `kit` up to (not including) delta `n`. */
const upTo = (kit: Kit, n: number): ReadonlyArray<string> => {
  const wire = kit.wire(kit.model, words, usage)
  return [...wire.head, ...wire.deltas.slice(0, n)]
}

/** The provider of `kit`'s layer against `url`, built in the test's scope. */
const providerAt = (kit: Kit, url: string) =>
  Effect.map(Effect.provide(Provider.Provider, kit.layer(url)), (provider) => provider)

const streamOf = (kit: Kit, url: string) =>
  Effect.flatMap(providerAt(kit, url), (provider) =>
    Effect.either(Stream.runCollect(Provider.streamFrom(provider, { prompt: "Say it.", model: kit.model }))))

const failure = <A>(result: Either.Either<A, ProviderError.ProviderError>): ProviderError.ProviderError => {
  if (Either.isRight(result)) return assert.fail("expected the stream to fail")
  return result.left
}

/** Runs `effect` while advancing the TestClock in small steps, giving real sockets time between steps. */
const withVirtualTime = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (;;) {
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return yield* exit.value
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))
      yield* TestClock.adjust("100 millis")
    }
  })

for (const kit of kits) {
  describe(`${kit.name} streams`, () => {
    it.scoped("the text as the server writes it, then the usage the stream ends with", () =>
      Effect.gen(function*() {
        // The server writes the second delta only once the client holds the first: a client that waited for
        // the whole body would never get it.
        let sawFirst!: () => void
        const firstSeen = new Promise<void>((resolve) => (sawFirst = resolve))
        const wire = kit.wire(kit.model, words, usage)
        const server = yield* streamServer(() => ({
          pieces: whole(kit),
          hold: { before: wire.head.length + 1, until: firstSeen }
        }))
        const provider = yield* providerAt(kit, server.url)
        const chunks = yield* Provider.streamFrom(provider, { prompt: "Say it.", model: kit.model }).pipe(
          Stream.tap((chunk) => Effect.sync(() => chunk._tag === "TextDelta" && sawFirst())),
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray)
        )
        const deltas = chunks.flatMap((chunk) => (chunk._tag === "TextDelta" ? [chunk.text] : []))
        assert.deepStrictEqual(deltas, words)
        const last = chunks.at(-1)!
        assert.strictEqual(last._tag, "Finish")
        if (last._tag !== "Finish") return
        assert.strictEqual(last.completion.content, text)
        assert.strictEqual(last.completion.model, kit.model)
        assert.deepStrictEqual(last.completion.usage, { inputTokens: usage.input, outputTokens: usage.output })
        assert.strictEqual(server.received.length, 1)
        assert.strictEqual(server.received[0]!.path, kit.path)
        kit.checkRequest(server.received[0]!)
      }))

    if (kit.usageOptional) {
      it.scoped("a stream that reports no usage is estimated, and says so", () =>
        Effect.gen(function*() {
          const server = yield* streamServer(() => ({ pieces: whole(kit, { withoutUsage: true }) }))
          const result = yield* streamOf(kit, server.url)
          const chunks = Chunk.toReadonlyArray(Either.getOrThrow(result))
          const last = chunks.at(-1)!
          if (last._tag !== "Finish") return assert.fail("expected a Finish")
          assert.strictEqual(last.completion.content, text)
          assert.isTrue(last.completion.usage.estimated)
          assert.strictEqual(last.completion.usage.outputTokens, Math.ceil(text.length / 4))
        }))
    }

    it.scoped("a stream cut mid-way ends in a transient Timeout", () =>
      Effect.gen(function*() {
        const server = yield* streamServer(() => ({ pieces: upTo(kit, 3), then: "cut" }))
        const error = failure(yield* streamOf(kit, server.url))
        assert.strictEqual(error._tag, "Timeout")
        assert.isTrue(ProviderError.isTransient(error))
        assert.strictEqual(error.provider, kit.name)
      }))

    it.scoped("a stream that ends early without its last event ends in a transient Timeout", () =>
      Effect.gen(function*() {
        const server = yield* streamServer(() => ({ pieces: upTo(kit, 3) }))
        const error = failure(yield* streamOf(kit, server.url))
        assert.strictEqual(error._tag, "Timeout")
        assert.include(error.message, "the stream ended before the reply was complete")
      }))

    it.scoped("a malformed chunk ends in a MalformedResponse that is partial, so transient", () =>
      Effect.gen(function*() {
        const wire = kit.wire(kit.model, words, usage)
        const server = yield* streamServer(() => ({
          pieces: [...wire.head, ...wire.deltas.slice(0, 2), kit.garbled, ...wire.deltas.slice(2), ...wire.tail]
        }))
        const error = failure(yield* streamOf(kit, server.url))
        assert.strictEqual(error._tag, "MalformedResponse")
        assert.isTrue(ProviderError.isTransient(error))
        assert.include(error.message, "wor")
      }))

    it.scoped("an error event mid-stream ends in its typed error", () =>
      Effect.gen(function*() {
        const wire = kit.wire(kit.model, words, usage)
        const server = yield* streamServer(() => ({
          pieces: [...wire.head, ...wire.deltas.slice(0, 2), kit.overloaded(kit.model)]
        }))
        const error = failure(yield* streamOf(kit, server.url))
        assert.strictEqual(error._tag, "Unavailable")
        assert.isTrue(ProviderError.isTransient(error))
        assert.include(error.message, "verloaded")
      }))

    it.scoped("a refused stream (429) fails before any text, with its Retry-After", () =>
      Effect.gen(function*() {
        const server = yield* streamServer(() => ({
          status: 429,
          contentType: "application/json",
          headers: { "retry-after": "7" },
          pieces: [JSON.stringify({ error: { message: "Rate limit reached", type: "rate_limit_error" } })]
        }))
        const error = failure(yield* streamOf(kit, server.url))
        assert.strictEqual(error._tag, "RateLimited")
        if (error._tag === "RateLimited") assert.strictEqual(Duration.toMillis(error.retryAfter!), 7000)
      }))

    it.scoped("in a run, a cut stream and a malformed chunk are retried, and the agent's text starts again", () =>
      Effect.gen(function*() {
        const wire = kit.wire(kit.model, words, usage)
        const server = yield* streamServer((_, n): StreamReply =>
          n === 1
            ? { pieces: upTo(kit, 3), then: "cut" }
            : n === 2
            ? { pieces: [...wire.head, ...wire.deltas.slice(0, 4), kit.garbled] }
            : { pieces: whole(kit) }
        )
        const events = recorder()
        const result = yield* withVirtualTime(
          Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
            onEvent: events.onEvent,
            streamTokens: true,
            config: { primaryModel: kit.model, maxRetries: 2, timeoutSeconds: 3600 }
          }).pipe(Effect.provide(kit.layer(server.url)))
        )
        assert.strictEqual(result.status, "completed")
        const agent = result.agentResults[0]!
        assert.strictEqual(agent.content, text)
        assert.strictEqual(agent.attempts, 3)
        assert.deepStrictEqual(events.ofType("agent_retry").map((e) => e.data.errorTag), ["Timeout", "MalformedResponse"])
        const deltas = events.ofType("agent_delta")
        const restarts = deltas.filter((e) => e.data.restart === true)
        assert.deepStrictEqual(restarts.map((e) => e.data.attempt), [2, 3])
        // What a viewer shows: the text since the last restart, which is the agent's whole reply.
        const lastRestart = deltas.lastIndexOf(restarts.at(-1)!)
        assert.strictEqual(deltas.slice(lastRestart).map((e) => e.data.text).join(""), text)
        // Every delta comes before the agent's completion.
        const types = events.types()
        assert.isBelow(types.lastIndexOf("agent_delta"), types.indexOf("agent_complete"))
        assert.strictEqual(server.received.length, 3)
      }))

    it.scoped("interrupting a run closes the open stream: the server sees its connection go", () =>
      Effect.gen(function*() {
        const server = yield* streamServer(() => ({ pieces: upTo(kit, 2), then: "hang" }))
        const firstDelta = yield* Deferred.make<void>()
        const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
          streamTokens: true,
          config: { primaryModel: kit.model, timeoutSeconds: 3600 },
          onEvent: (event: OrchestratorEvent.OrchestratorEvent) =>
            event.type === "agent_delta" ? Deferred.succeed(firstDelta, undefined) : Effect.void
        }).pipe(Effect.provide(kit.layer(server.url)), Effect.fork)
        yield* Deferred.await(firstDelta)
        assert.strictEqual(server.abandonedCount(), 0)
        yield* Fiber.interrupt(fiber)
        yield* server.abandoned(1)
        assert.strictEqual(server.abandonedCount(), 1)
      }))
  })
}

describe("every streamed failure names no key", () => {
  it.scoped("an error event that echoes the key shows none of it", () =>
    Effect.gen(function*() {
      for (const kit of kits) {
        const wire = kit.wire(kit.model, words, usage)
        const echo = kit.name === "anthropic"
          ? sse({ type: "error", error: { type: "overloaded_error", message: `bad key ${KEY}` } }, "error")
          : kit.name === "openai"
          ? sse({ type: "error", code: "server_error", message: `bad key ${KEY}`, param: null }, "error")
          : sse({ error: { message: `bad key ${KEY}`, type: "server_error" } })
        const garbled = `data: {"oops": "${KEY}\n\n`
        for (const bad of [echo, garbled]) {
          const server = yield* streamServer(() => ({ pieces: [...wire.head, bad] }))
          const error = failure(yield* streamOf(kit, server.url))
          assert.notInclude(error.message, KEY.slice(3, 11), `${kit.name}: ${error.message}`)
          assert.notInclude(JSON.stringify(error), KEY.slice(3, 11))
        }
      }
    }))
})
