import { createServer } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, type Layer, Option, Redacted, TestClock } from "effect"
import { type OrchestratorError, Provider, ProviderError } from "multi-agent-orchestration"
import {
  anthropicMessage,
  buildProvider,
  chatCompletion,
  type FakeUsage,
  fakeServer,
  openAiResponse,
  type Received,
  type Reply
} from "./fakeServers.js"

const KEY = "sk-test-4f9c2a7e81b3d6"

/** One provider as the tests see it: how to build it against a fake server, and its wire format. */
interface Kit {
  readonly name: string
  readonly model: string
  readonly path: string
  readonly layer: (url: string) => Layer.Layer<Provider.Provider, OrchestratorError.InvalidConfig>
  readonly success: (text: string, model: string, usage?: FakeUsage) => unknown
  /** The request of `request` below, as the API must receive it. */
  readonly checkRequest: (received: Received) => void
}

const request: Provider.CompletionRequest = {
  system: "Be brief.",
  messages: [{ role: "user", content: "What is a DAG?" }, { role: "assistant", content: "A directed acyclic graph." }],
  prompt: "Give one example.",
  maxTokens: 200,
  temperature: 0.3
}

const kits: ReadonlyArray<Kit> = [
  {
    name: "openai",
    model: "gpt-4o",
    path: "/v1/responses",
    layer: (url) => Provider.openAi({ apiKey: Redacted.make(KEY), apiUrl: `${url}/v1` }),
    success: (text, model, usage) => openAiResponse(text, model, usage),
    checkRequest: ({ headers, json }) => {
      assert.strictEqual(headers.authorization, `Bearer ${KEY}`)
      assert.strictEqual(json.model, "gpt-4o")
      assert.strictEqual(json.max_output_tokens, 200)
      assert.strictEqual(json.temperature, 0.3)
      assert.strictEqual(json.store, false)
      assert.deepStrictEqual(json.input, [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "input_text", text: "What is a DAG?" }] },
        { role: "assistant", content: [{ type: "output_text", text: "A directed acyclic graph." }] },
        { role: "user", content: [{ type: "input_text", text: "Give one example." }] }
      ])
    }
  },
  {
    name: "anthropic",
    model: "claude-sonnet-4-5",
    path: "/v1/messages",
    layer: (url) => Provider.anthropic({ apiKey: Redacted.make(KEY), apiUrl: url }),
    success: (text, model, usage) => anthropicMessage(text, model, usage ?? { input: 20, output: 10 }),
    checkRequest: ({ headers, json }) => {
      assert.strictEqual(headers["x-api-key"], KEY)
      assert.strictEqual(headers["anthropic-version"], "2023-06-01")
      assert.isUndefined(headers.authorization)
      assert.strictEqual(json.model, "claude-sonnet-4-5")
      assert.strictEqual(json.max_tokens, 200)
      assert.strictEqual(json.temperature, 0.3)
      assert.deepStrictEqual(json.system, [{ type: "text", text: "Be brief." }])
      assert.deepStrictEqual(json.messages, [
        { role: "user", content: [{ type: "text", text: "What is a DAG?" }] },
        { role: "assistant", content: [{ type: "text", text: "A directed acyclic graph." }] },
        { role: "user", content: [{ type: "text", text: "Give one example." }] }
      ])
    }
  },
  {
    name: "local",
    model: "llama3.1:8b",
    path: "/v1/chat/completions",
    layer: (url) => Provider.openAiCompatible({ baseUrl: `${url}/v1`, apiKey: Redacted.make(KEY) }),
    success: (text, model, usage) => chatCompletion(text, model, usage),
    checkRequest: ({ headers, json }) => {
      assert.strictEqual(headers.authorization, `Bearer ${KEY}`)
      assert.deepStrictEqual(json, {
        model: "llama3.1:8b",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "What is a DAG?" },
          { role: "assistant", content: "A directed acyclic graph." },
          { role: "user", content: "Give one example." }
        ],
        stream: false,
        max_tokens: 200,
        temperature: 0.3
      })
    }
  }
]

/** One call of `kit`'s provider against a server answering `reply`; the result and what the server saw. */
const callWith = (kit: Kit, reply: (request: Received, n: number) => Reply) =>
  Effect.gen(function*() {
    const server = yield* fakeServer(reply)
    const provider = yield* buildProvider(kit.layer(server.url))
    const result = yield* Effect.either(provider.complete({ ...request, model: kit.model }))
    return { result, server }
  })

const failure = <A>(result: Either.Either<A, ProviderError.ProviderError>): ProviderError.ProviderError => {
  assert.isTrue(Either.isLeft(result), "expected the call to fail")
  return (result as Either.Left<ProviderError.ProviderError, A>).left
}

const success = <A>(result: Either.Either<A, ProviderError.ProviderError>): A =>
  Either.getOrElse(result, (error) => assert.fail(`expected the call to succeed, got: ${error.message}`))

/** Every error message names the provider, the model and the status, and never the key. */
const assertNamed = (error: ProviderError.ProviderError, kit: Kit, status?: number) => {
  assert.include(error.message, `${kit.name} ${kit.model}`)
  if (status !== undefined) assert.include(error.message, `(HTTP ${status})`)
  assert.notInclude(error.message, KEY)
  assert.notInclude(JSON.stringify(error), KEY)
}

for (const kit of kits) {
  describe(`Provider ${kit.name} against a fake server`, () => {
    it.scoped("sends the documented request and reads the reply", () =>
      Effect.gen(function*() {
        const { result, server } = yield* callWith(
          kit,
          () => ({ json: kit.success("For example, a build graph.", `${kit.model}-2025`, { input: 31, output: 7 }) })
        )
        assert.deepStrictEqual(result, Either.right({
          content: "For example, a build graph.",
          model: `${kit.model}-2025`,
          usage: { inputTokens: 31, outputTokens: 7 }
        }))
        assert.strictEqual(server.received.length, 1)
        assert.strictEqual(server.received[0]!.method, "POST")
        assert.strictEqual(server.received[0]!.path.split("?")[0], kit.path)
        kit.checkRequest(server.received[0]!)
      }))

    it.scoped(`accepts its own prefix ("${kit.name}:…") and uses its default model when none is named`, () =>
      Effect.gen(function*() {
        const server = yield* fakeServer(() => ({ json: kit.success("ok", "m", { input: 1, output: 1 }) }))
        const provider = yield* buildProvider(kit.layer(server.url))
        yield* provider.complete({ prompt: "hi", model: `${kit.name}:${kit.model}` })
        yield* provider.complete({ prompt: "hi" })
        assert.strictEqual(server.received[0]!.json.model, kit.model)
        assert.strictEqual(server.received[1]!.json.model, provider.defaultModel)
        assert.strictEqual(provider.name, kit.name)
      }))

    it.scoped("429 with Retry-After in seconds is RateLimited with that retryAfter", () =>
      Effect.gen(function*() {
        const { result } = yield* callWith(kit, () => ({
          status: 429,
          headers: { "retry-after": "7" },
          json: { error: { type: "rate_limit_error", message: "Rate limit reached for requests" } }
        }))
        const error = failure(result)
        assert.instanceOf(error, ProviderError.RateLimited)
        assert.deepStrictEqual((error as ProviderError.RateLimited).retryAfter, Duration.seconds(7))
        assert.isTrue(error.transient)
        assert.strictEqual(error.status, 429)
        assert.include(error.message, "Rate limit reached for requests")
        assertNamed(error, kit, 429)
      }))

    it.scoped("429 with Retry-After as an HTTP date waits until that date, by the Clock", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.UTC(2025, 5, 1, 12, 0, 0))
        const { result } = yield* callWith(kit, () => ({
          status: 429,
          headers: { "retry-after": "Sun, 01 Jun 2025 12:00:42 GMT" },
          json: { error: { message: "slow down" } }
        }))
        const error = failure(result)
        assert.instanceOf(error, ProviderError.RateLimited)
        assert.deepStrictEqual((error as ProviderError.RateLimited).retryAfter, Duration.seconds(42))
      }))

    for (const status of [500, 502, 503, 504, 529]) {
      it.scoped(`${status} is Unavailable, transient`, () =>
        Effect.gen(function*() {
          const { result } = yield* callWith(kit, () => ({
            status,
            json: { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }
          }))
          const error = failure(result)
          assert.instanceOf(error, ProviderError.Unavailable)
          assert.isTrue(error.transient)
          assert.strictEqual(error.status, status)
          assertNamed(error, kit, status)
        }))
    }

    for (const contentType of ["application/json", "application/problem+json", "text/plain"]) {
      it.scoped(`an error body's error.message is what the error shows, not its type (${contentType})`, () =>
        Effect.gen(function*() {
          const { result } = yield* callWith(kit, () => ({
            status: 529,
            headers: { "content-type": contentType },
            text: JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "The model is busy" } })
          }))
          const error = failure(result)
          assert.instanceOf(error, ProviderError.Unavailable)
          assert.strictEqual(error.message, `${kit.name} ${kit.model}: unavailable (HTTP 529): The model is busy`)
        }))
    }

    for (
      const [kind, tag] of [
        ["server_error", "Unavailable"],
        ["rate_limit_exceeded", "RateLimited"],
        ["invalid_request_error", "InvalidRequest"],
        ["authentication_error", "Authentication"]
      ] as const
    ) {
      it.scoped(`a 200 reply that carries an error (${kind}) fails with its message, as ${tag}`, () =>
        Effect.gen(function*() {
          const { result } = yield* callWith(kit, () => ({
            json: { error: { type: kind, message: "The reply is an error, not an answer" } }
          }))
          const error = failure(result)
          assert.strictEqual(error._tag, tag)
          assert.strictEqual(
            error.message.replace(/^(.*?): [a-z ]+ \(HTTP 200\)/, "$1: … (HTTP 200)"),
            `${kit.name} ${kit.model}: … (HTTP 200): The reply is an error, not an answer`
          )
          assert.notInclude(error.message, kind)
        }))
    }

    it.scoped("a plain-text error body is quoted in the error as it is", () =>
      Effect.gen(function*() {
        const { result } = yield* callWith(kit, () => ({
          status: 502,
          text: "upstream connect error\nreset reason: overflow"
        }))
        const error = failure(result)
        assert.instanceOf(error, ProviderError.Unavailable)
        assert.strictEqual(
          error.message,
          `${kit.name} ${kit.model}: unavailable (HTTP 502): upstream connect error reset reason: overflow`
        )
      }))

    for (const status of [400, 404, 422]) {
      it.scoped(`${status} is InvalidRequest, permanent, with the API's own words`, () =>
        Effect.gen(function*() {
          const { result } = yield* callWith(kit, () => ({
            status,
            json: { error: { type: "invalid_request_error", message: `model: ${kit.model} is not supported here` } }
          }))
          const error = failure(result)
          assert.instanceOf(error, ProviderError.InvalidRequest)
          assert.isFalse(error.transient)
          assert.include(error.message, "is not supported here")
          assertNamed(error, kit, status)
        }))
    }

    for (const status of [401, 403]) {
      it.scoped(`${status} is Authentication, permanent, and the echoed key is scrubbed`, () =>
        Effect.gen(function*() {
          const { result } = yield* callWith(kit, () => ({
            status,
            json: { error: { type: "authentication_error", message: `Incorrect API key provided: ${KEY}` } }
          }))
          const error = failure(result)
          assert.instanceOf(error, ProviderError.Authentication)
          assert.isFalse(error.transient)
          assert.include(error.message, "Incorrect API key provided: [redacted]")
          assertNamed(error, kit, status)
        }))
    }

    it.scoped("a call that hangs ends with Timeout at the time bound, on the Clock", () =>
      Effect.gen(function*() {
        const server = yield* fakeServer(() => "hang")
        const provider = yield* buildProvider(kit.layer(server.url))
        const fiber = yield* Effect.fork(Effect.either(provider.complete({ ...request, model: kit.model })))
        yield* server.arrived(1)
        yield* TestClock.adjust(Duration.millis(119_999))
        assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
        yield* TestClock.adjust(Duration.millis(1))
        const error = failure(yield* Fiber.join(fiber))
        assert.instanceOf(error, ProviderError.Timeout)
        assert.deepStrictEqual((error as ProviderError.Timeout).after, Duration.minutes(2))
        assert.isTrue(error.transient)
        assertNamed(error, kit)
        assert.include(error.message, "timed out after 2m")
      }))

    it.scoped("truncated JSON is MalformedResponse saying the body is not valid JSON", () =>
      Effect.gen(function*() {
        const whole = JSON.stringify(kit.success("cut short", kit.model, { input: 1, output: 1 }))
        const { result } = yield* callWith(kit, () => ({
          headers: { "content-type": "application/json" },
          text: whole.slice(0, whole.length / 2)
        }))
        const error = failure(result)
        assert.instanceOf(error, ProviderError.MalformedResponse)
        assert.isFalse(error.transient)
        assert.include(error.message, "not valid JSON")
        assertNamed(error, kit)
      }))

    it.scoped("the wrong content type is MalformedResponse naming it", () =>
      Effect.gen(function*() {
        const { result } = yield* callWith(kit, () => ({
          headers: { "content-type": "text/html; charset=utf-8" },
          text: "<html><body>Welcome to the captive portal</body></html>"
        }))
        const error = failure(result)
        assert.instanceOf(error, ProviderError.MalformedResponse)
        assert.include(error.message, "content type is \"text/html; charset=utf-8\"")
        assert.include(error.message, "<html>")
      }))

    it.scoped("JSON of the wrong shape is MalformedResponse naming what is missing", () =>
      Effect.gen(function*() {
        const { result } = yield* callWith(kit, () => ({ json: { id: "x" } }))
        const error = failure(result)
        assert.instanceOf(error, ProviderError.MalformedResponse)
        assert.match(error.message, /malformed response.*: the reply (?:does not match|is not) .*: \w+: is missing/)
      }))

    it.scoped("a dropped connection is Timeout, transient", () =>
      Effect.gen(function*() {
        const { result } = yield* callWith(kit, () => "reset")
        const error = failure(result)
        assert.instanceOf(error, ProviderError.Timeout)
        assert.isTrue(error.transient)
        assert.include(error.message, "the connection dropped before a reply")
      }))

    it.scoped("a refused connection is Unavailable, transient", () =>
      Effect.gen(function*() {
        const port = yield* Effect.async<number>((resume) => {
          const probe = createServer().listen(0, "127.0.0.1", () => {
            const address = probe.address()
            const port = typeof address === "object" && address !== null ? address.port : 1
            probe.close(() => resume(Effect.succeed(port)))
          })
        })
        const provider = yield* buildProvider(kit.layer(`http://127.0.0.1:${port}`))
        const error = failure(yield* Effect.either(provider.complete({ prompt: "hi", model: kit.model })))
        assert.instanceOf(error, ProviderError.Unavailable)
        assert.include(error.message, "connection refused (ECONNREFUSED)")
      }))
  })
}

describe("OpenAI's failed responses", () => {
  it.scoped("a response with status \"failed\" and an error is that error, not an empty answer", () =>
    Effect.gen(function*() {
      const { result } = yield* callWith(kits[0]!, () => ({
        json: {
          ...openAiResponse("", "gpt-4o"),
          status: "failed",
          output: [],
          error: { code: "server_error", message: "The model failed to generate a response." }
        }
      }))
      const error = failure(result)
      assert.instanceOf(error, ProviderError.Unavailable)
      assert.strictEqual(error.message, "openai gpt-4o: unavailable (HTTP 200): The model failed to generate a response.")
    }))
})

describe("transport failures", () => {
  it.scoped("a host that does not resolve is Unavailable, transient", () =>
    Effect.gen(function*() {
      const provider = yield* buildProvider(Provider.openAiCompatible({ baseUrl: "http://no-such-host.invalid/v1" }))
      const error = failure(yield* Effect.either(provider.complete({ prompt: "hi" })))
      assert.instanceOf(error, ProviderError.Unavailable)
      assert.isTrue(error.transient)
      assert.match(error.message, /^local llama3\.1: unavailable: DNS lookup failed \((?:ENOTFOUND|EAI_AGAIN)\)/)
    }))
})

describe("usage across providers", () => {
  it.scoped("OpenAI counts cached tokens inside input: they are kept as they are", () =>
    Effect.gen(function*() {
      const { result } = yield* callWith(kits[0]!, () => ({
        json: openAiResponse("ok", "gpt-4o", { input: 1000, output: 50, cached: 800 })
      }))
      assert.deepStrictEqual(success(result).usage, {
        inputTokens: 1000,
        outputTokens: 50,
        cachedInputTokens: 800
      })
    }))

  it.scoped("Anthropic counts cache reads and writes apart: input includes both, each kept as its own count", () =>
    Effect.gen(function*() {
      const { result } = yield* callWith(kits[1]!, () => ({
        json: anthropicMessage("ok", "claude-sonnet-4-5", { input: 200, output: 50, cached: 800, cacheCreation: 100 })
      }))
      assert.deepStrictEqual(success(result).usage, {
        inputTokens: 1100,
        outputTokens: 50,
        cachedInputTokens: 800,
        cacheWriteInputTokens: 100
      })
    }))

  it.scoped("chat completions report cached tokens in prompt_tokens_details", () =>
    Effect.gen(function*() {
      const { result } = yield* callWith(kits[2]!, () => ({
        json: chatCompletion("ok", "llama3.1", { input: 500, output: 20, cached: 300 })
      }))
      assert.deepStrictEqual(success(result).usage, {
        inputTokens: 500,
        outputTokens: 20,
        cachedInputTokens: 300
      })
    }))

  for (const kit of [kits[0]!, kits[2]!]) {
    it.scoped(`${kit.name}: a reply without usage is estimated from text length and marked estimated`, () =>
      Effect.gen(function*() {
        const { result } = yield* callWith(kit, () => ({ json: kit.success("x".repeat(40), kit.model) }))
        const promptChars = "Be brief.".length + "What is a DAG?".length + "A directed acyclic graph.".length +
          "Give one example.".length
        assert.deepStrictEqual(success(result).usage, {
          inputTokens: Math.ceil(promptChars / 4),
          outputTokens: 10,
          estimated: true
        })
      }))
  }
})

describe("model prefixes and Provider.router", () => {
  it.effect("a provider refuses a model that another provider's prefix names, before any request", () =>
    Effect.gen(function*() {
      const provider = yield* buildProvider(
        Provider.openAi({ apiKey: Redacted.make(KEY), apiUrl: "http://127.0.0.1:9/v1" })
      )
      const result = yield* Effect.either(provider.complete({ prompt: "hi", model: "anthropic:claude-sonnet-4-5" }))
      const error = failure(result)
      assert.instanceOf(error, ProviderError.InvalidRequest)
      assert.include(error.message, "belongs to the \"anthropic\" provider")
    }).pipe(Effect.scoped))

  it.scoped("routes by prefix, then by model family, then to the default route", () =>
    Effect.gen(function*() {
      const openai = yield* fakeServer(() => ({
        json: openAiResponse("from openai", "gpt-4o", { input: 1, output: 1 })
      }))
      const anthropic = yield* fakeServer(() => ({
        json: anthropicMessage("from anthropic", "claude-sonnet-4-5", { input: 1, output: 1 })
      }))
      const local = yield* fakeServer(() => ({
        json: chatCompletion("from local", "llama3.1", { input: 1, output: 1 })
      }))
      const provider = yield* buildProvider(Provider.router({
        local: Provider.openAiCompatible({ baseUrl: `${local.url}/v1` }),
        openai: Provider.openAi({ apiKey: Redacted.make(KEY), apiUrl: `${openai.url}/v1` }),
        anthropic: Provider.anthropic({ apiKey: Redacted.make(KEY), apiUrl: anthropic.url })
      }))
      assert.strictEqual(provider.name, "local+openai+anthropic")
      assert.strictEqual(provider.defaultModel, "local:llama3.1")
      const ask = (model?: string) =>
        Effect.map(provider.complete({ prompt: "hi", ...(model === undefined ? {} : { model }) }), (c) => c.content)
      assert.strictEqual(yield* ask("openai:gpt-4o"), "from openai")
      assert.strictEqual(yield* ask("anthropic:claude-sonnet-4-5"), "from anthropic")
      assert.strictEqual(yield* ask("local:qwen2.5:7b"), "from local")
      assert.strictEqual(yield* ask("gpt-4.1-mini"), "from openai")
      assert.strictEqual(yield* ask("claude-haiku-4-5"), "from anthropic")
      assert.strictEqual(yield* ask("mistral:7b"), "from local")
      assert.strictEqual(yield* ask(), "from local")
      assert.deepStrictEqual(openai.received.map((r) => r.json.model), ["gpt-4o", "gpt-4.1-mini"])
      assert.deepStrictEqual(anthropic.received.map((r) => r.json.model), ["claude-sonnet-4-5", "claude-haiku-4-5"])
      assert.deepStrictEqual(local.received.map((r) => r.json.model), ["qwen2.5:7b", "mistral:7b", "llama3.1"])
    }))
})
