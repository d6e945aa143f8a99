import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, Context, Effect, Fiber, Layer, Redacted, Stream, TestClock } from "effect"
import { type OrchestratorError, Provider } from "multi-agent-orchestration"
import { anthropicMessage, chatCompletion, fakeServer, openAiResponse, type Reply } from "./fakeServers.js"
import { anthropicStream, chatStream, openAiStream, streamServer } from "./streamServers.js"

const KEY = "sk-test-0be47d29c6a1f3"

/** What a recording client saw: each request's URL and the Clock time it was sent at. */
interface Sent {
  readonly url: string
  readonly at: number
}

/** An `HttpClient` of the user's own: it records every request and adds a header to it. */
const recordingClient = (sent: Array<Sent>) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      client.pipe(HttpClient.mapRequestEffect((request) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          sent.push({ url: request.url, at })
          return HttpClientRequest.setHeader(request, "x-team", "research")
        })
      )))
  ).pipe(Layer.provide(FetchHttpClient.layer))

interface Kit {
  readonly name: string
  readonly model: string
  readonly path: string
  readonly layer: (url: string) => Layer.Layer<Provider.Provider, OrchestratorError.InvalidConfig, HttpClient.HttpClient>
  readonly json: (text: string, model: string) => unknown
  readonly stream: (model: string, words: Array<string>) => ReadonlyArray<string>
}

const kits: ReadonlyArray<Kit> = [
  {
    name: "openai",
    model: "gpt-4o",
    path: "/v1/responses",
    layer: (url) => Provider.openAiWithoutHttpClient({ apiKey: Redacted.make(KEY), apiUrl: `${url}/v1`, timeout: "1 hour" }),
    json: (text, model) => openAiResponse(text, model, { input: 5, output: 2 }),
    stream: (model, words) => {
      const wire = openAiStream(model, words, { input: 5, output: 2 })
      return [...wire.head, ...wire.deltas, ...wire.tail]
    }
  },
  {
    name: "anthropic",
    model: "claude-sonnet-4-5",
    path: "/v1/messages",
    layer: (url) => Provider.anthropicWithoutHttpClient({ apiKey: Redacted.make(KEY), apiUrl: url, timeout: "1 hour" }),
    json: (text, model) => anthropicMessage(text, model, { input: 5, output: 2 }),
    stream: (model, words) => {
      const wire = anthropicStream(model, words, { input: 5, output: 2 })
      return [...wire.head, ...wire.deltas, ...wire.tail]
    }
  },
  {
    name: "local",
    model: "llama3.1",
    path: "/v1/chat/completions",
    layer: (url) => Provider.openAiCompatibleWithoutHttpClient({ baseUrl: `${url}/v1`, timeout: "1 hour" }),
    json: (text, model) => chatCompletion(text, model, { input: 5, output: 2 }),
    stream: (model, words) => {
      const wire = chatStream(model, words, { input: 5, output: 2 })
      return [...wire.head, ...wire.deltas, ...wire.tail]
    }
  }
]

const providerOf = <E, R>(layer: Layer.Layer<Provider.Provider, E, R>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, Provider.Provider))

describe("the HTTP providers take their HttpClient from the environment", () => {
  for (const kit of kits) {
    it.scoped(`${kit.name}: a client that records requests and adds a header sees every call, streamed or not`, () =>
      Effect.gen(function*() {
        const sent: Array<Sent> = []
        const server = yield* streamServer((request) =>
          request.json.stream === true
            ? { pieces: kit.stream(kit.model, ["streamed ", "reply"]) }
            : { contentType: "application/json", pieces: [JSON.stringify(kit.json("plain reply", kit.model))] }
        )
        const provider = yield* providerOf(kit.layer(server.url).pipe(Layer.provide(recordingClient(sent))))
        const plain = yield* provider.complete({ prompt: "hi", model: kit.model })
        assert.strictEqual(plain.content, "plain reply")
        const chunks = yield* Stream.runCollect(Provider.streamFrom(provider, { prompt: "hi", model: kit.model }))
        const last = Chunk.toReadonlyArray(chunks).at(-1)
        assert.strictEqual(last?._tag === "Finish" ? last.completion.content : undefined, "streamed reply")
        // Two calls went through the client (it sees each request before the provider adds its base URL),
        // and the server got both with the client's header.
        assert.strictEqual(sent.length, 2)
        assert.deepStrictEqual(server.received.map((r) => r.path.replace(/\?.*/, "")), [kit.path, kit.path])
        assert.deepStrictEqual(server.received.map((r) => r.headers["x-team"]), ["research", "research"])
      }))
  }
})

/** A JSON reply of `kit` with `headers`. */
const replyWith = (text: string, model: string, json: Kit["json"], headers: Record<string, string>): Reply => ({
  json: json(text, model),
  headers
})

describe("rate limits from response headers", () => {
  const openAi = kits[0]!
  const anthropic = kits[1]!

  /** Runs a first call, then `then`, against a server whose first reply carries `headers`. */
  const setup = (kit: Kit, headers: Record<string, string>) =>
    Effect.gen(function*() {
      const sent: Array<Sent> = []
      const statuses: Array<number> = []
      const server = yield* fakeServer((request, n) => {
        statuses.push(200)
        return replyWith(`reply ${n}`, request.json.model, kit.json, n === 1 ? headers : {})
      })
      const provider = yield* providerOf(kit.layer(server.url).pipe(Layer.provide(recordingClient(sent))))
      yield* provider.complete({ prompt: "first", model: kit.model })
      return { sent, provider, server, statuses }
    })

  it.scoped("OpenAI: no request left until the reset, so the next call waits for it instead of drawing a 429", () =>
    Effect.gen(function*() {
      const { provider, sent, statuses } = yield* setup(openAi, {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "20s",
        "x-ratelimit-remaining-tokens": "150000",
        "x-ratelimit-reset-tokens": "6m0s"
      })
      const next = yield* Effect.fork(provider.complete({ prompt: "second", model: openAi.model }))
      yield* TestClock.adjust("19999 millis")
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(next)
      assert.deepStrictEqual(sent.map((s) => s.at), [0, 20_000])
      assert.deepStrictEqual(statuses, [200, 200])
    }))

  it.scoped("OpenAI: fewer tokens left than a call plans to use, so it waits for the tokens' reset", () =>
    Effect.gen(function*() {
      const { provider, sent } = yield* setup(openAi, {
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "100",
        "x-ratelimit-reset-tokens": "1m30s"
      })
      // A short call fits in what is left; one that plans 500 output tokens does not.
      yield* provider.complete({ prompt: "short", model: openAi.model, maxTokens: 10 })
      const big = yield* Effect.fork(provider.complete({ prompt: "long", model: openAi.model, maxTokens: 500 }))
      yield* TestClock.adjust("89999 millis")
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(big)
      assert.deepStrictEqual(sent.map((s) => s.at), [0, 0, 90_000])
    }))

  it.scoped("OpenAI: calls in flight at once count against what is left", () =>
    Effect.gen(function*() {
      const { provider, sent } = yield* setup(openAi, {
        "x-ratelimit-remaining-requests": "2",
        "x-ratelimit-reset-requests": "10s"
      })
      const calls = yield* Effect.fork(Effect.all(
        Array.from({ length: 4 }, (_, i) => provider.complete({ prompt: `call ${i}`, model: openAi.model })),
        { concurrency: "unbounded" }
      ))
      yield* TestClock.adjust("9999 millis")
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(calls)
      assert.deepStrictEqual(sent.map((s) => s.at), [0, 0, 0, 10_000, 10_000])
    }))

  it.scoped("Anthropic: anthropic-ratelimit-* with an RFC 3339 reset time", () =>
    Effect.gen(function*() {
      const { provider, sent } = yield* setup(anthropic, {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "1970-01-01T00:00:30Z",
        "anthropic-ratelimit-tokens-remaining": "40000",
        "anthropic-ratelimit-tokens-reset": "1970-01-01T00:00:05Z"
      })
      const next = yield* Effect.fork(provider.complete({ prompt: "second", model: anthropic.model }))
      yield* TestClock.adjust("29999 millis")
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(next)
      assert.deepStrictEqual(sent.map((s) => s.at), [0, 30_000])
    }))

  it.scoped("a 429's own headers slow the next call too", () =>
    Effect.gen(function*() {
      const sent: Array<Sent> = []
      const server = yield* fakeServer((request, n): Reply =>
        n === 1
          ? {
            status: 429,
            json: { error: { message: "Rate limit reached", type: "requests" } },
            headers: { "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "7s" }
          }
          : replyWith("ok", request.json.model, openAi.json, {})
      )
      const provider = yield* providerOf(openAi.layer(server.url).pipe(Layer.provide(recordingClient(sent))))
      const first = yield* Effect.flip(provider.complete({ prompt: "first", model: openAi.model }))
      assert.strictEqual(first._tag, "RateLimited")
      const next = yield* Effect.fork(provider.complete({ prompt: "second", model: openAi.model }))
      yield* TestClock.adjust("6999 millis")
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(next)
      assert.deepStrictEqual(sent.map((s) => s.at), [0, 7000])
    }))
})
