/**
 * The LLM provider service. Everything that talks to a model goes through `Provider.complete` (or
 * `Provider.streamText`, the same call streamed), so swapping the layer (simulated, a function, OpenAI,
 * Anthropic, a local server, any `@effect/ai` model) is the only change between a test, a demo and
 * production.
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import type * as JSONSchema from "effect/JSONSchema"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type * as Schema from "effect/Schema"
import { make as fromEnvService } from "./internal/providers/fromEnv.js"
import { withLimits as limitService } from "./internal/providers/limits.js"
import * as loadProviders from "./internal/providers/load.js"
import type {
  AnthropicOptions,
  FromLanguageModelOptions,
  LimitOptions,
  OpenAiCompatibleOptions,
  OpenAiOptions
} from "./internal/providers/options.js"
import { makeRouter } from "./internal/providers/routing.js"
import { limitProblems, routerProblems } from "./internal/providers/validate.js"
import { streamFrom as streamFromService } from "./internal/providers/streamChunks.js"
import {
  makeSimulated as makeSimulatedService,
  type SimulatedOptions,
  simulatedReply as simulatedReplyText
} from "./internal/simulated.js"
import type { InvalidOutput } from "./AgentError.js"
import { decodeReply, invalidOutput, outputSpec, repairPrompt } from "./internal/structured.js"
import { InvalidConfig } from "./OrchestratorError.js"
import type { ProviderError } from "./ProviderError.js"
import { add as addUsage, type Usage } from "./Usage.js"

/**
 * One turn of a conversation: a user's or the model's text, or the result of a tool the model called.
 *
 * @since 0.1.0
 * @category Models
 */
export type Message = UserMessage | AssistantMessage | ToolMessage

/**
 * @since 0.1.0
 * @category Models
 */
export interface UserMessage {
  readonly role: "user"
  readonly content: string
}

/**
 * The model's turn: its text, and the tools it asked to call, if any.
 *
 * @since 0.1.0
 * @category Models
 */
export interface AssistantMessage {
  readonly role: "assistant"
  readonly content: string
  readonly toolCalls?: ReadonlyArray<ToolCall> | undefined
}

/**
 * The result of one tool call, sent back to the model: the tool's encoded success or failure as JSON text.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ToolMessage {
  readonly role: "tool"
  /** The `id` of the call this answers. */
  readonly toolCallId: string
  readonly name: string
  readonly content: string
  /** True when the tool failed: `content` then describes the failure. */
  readonly isError?: boolean | undefined
}

/**
 * A tool call the model asked for. `params` is what the model sent, not yet checked against the tool's
 * parameters.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ToolCall {
  /** The provider's id of the call, echoed in the `ToolMessage` that answers it. */
  readonly id: string
  readonly name: string
  readonly params: unknown
}

/**
 * A tool offered to the model: its name, what it does, and its parameters as a JSON Schema.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ToolDefinition {
  readonly name: string
  readonly description?: string | undefined
  /** A JSON Schema of an object. */
  readonly parameters: JsonSchema
}

/**
 * Which tools the model may call: any or none (`auto`, the default), at least one (`required`), none
 * (`none`), or one named tool.
 *
 * @since 0.1.0
 * @category Models
 */
export type ToolChoice = "auto" | "required" | "none" | { readonly tool: string }

/**
 * A JSON Schema document, as effect's `JSONSchema.make` produces it.
 *
 * @since 0.1.0
 * @category Models
 */
export type JsonSchema = JSONSchema.JsonSchema7

/**
 * A request for a reply that is a JSON object of a given shape. The HTTP providers send `jsonSchema` the way
 * their API takes it (OpenAI's `text.format`, chat completions' `response_format`, a tool Anthropic is made
 * to call); `schema`, the Schema it was derived from, lets the simulated provider produce valid values.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ResponseFormat {
  /** A name for the object (letters, digits, `_` and `-`), which some APIs show the model. */
  readonly name: string
  readonly description?: string | undefined
  /** A JSON Schema of an object. */
  readonly jsonSchema: JsonSchema
  /** True when `jsonSchema` meets OpenAI's strict mode (every property required, no extra properties). */
  readonly strict?: boolean | undefined
  readonly schema?: Schema.Schema.AnyNoContext | undefined
}

/**
 * A completion request. Give either `prompt` (one user message) or `messages`. Inside a workflow, `model` may
 * be left out: the orchestrator fills in the agent's model.
 *
 * `tools`, `toolChoice` and `responseFormat` are for tool loops and typed output (see `Agent` and
 * `completeObject`): a provider that supports them sends them, and reports the calls the model asked for in
 * `Completion.toolCalls`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface CompletionRequest {
  readonly model?: string | undefined
  readonly system?: string | undefined
  readonly prompt?: string | undefined
  readonly messages?: ReadonlyArray<Message> | undefined
  readonly temperature?: number | undefined
  readonly maxTokens?: number | undefined
  readonly tools?: ReadonlyArray<ToolDefinition> | undefined
  readonly toolChoice?: ToolChoice | undefined
  readonly responseFormat?: ResponseFormat | undefined
}

/**
 * A model's reply: its text, the model that actually answered, and the tokens used; and, when the request
 * offered tools, the calls the model asked for.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Completion {
  readonly content: string
  readonly model: string
  readonly usage: Usage
  readonly toolCalls?: ReadonlyArray<ToolCall> | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** A short name for messages and reports: "simulated", "openai", "anthropic", ... */
  readonly name: string
  /** The model used when a request names none. */
  readonly defaultModel: string
  readonly complete: (request: CompletionRequest) => Effect.Effect<Completion, ProviderError>
  /**
   * The same call, streamed: text deltas as the model writes them, then one `Finish` holding the whole
   * completion (its usage from the stream's final usage, or estimated and marked `estimated`). Optional: a
   * provider without it is streamed as one delta when its `complete` returns (see `streamFrom`).
   */
  readonly stream?: ((request: CompletionRequest) => Stream.Stream<CompletionChunk, ProviderError>) | undefined
}

/**
 * A piece of text, in the order the model wrote it. `restart` is set on the first delta of a new attempt (a
 * retry or a fallback inside a run) when text of an earlier attempt was delivered: that text is void, and
 * the reply starts again with this delta.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TextDelta {
  readonly _tag: "TextDelta"
  readonly text: string
  readonly restart?: boolean | undefined
}

/**
 * The end of a streamed call: the whole completion, whose `content` is the deltas joined.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Finish {
  readonly _tag: "Finish"
  readonly completion: Completion
}

/**
 * What a streamed call yields: text deltas, then one `Finish`.
 *
 * @since 0.1.0
 * @category Models
 */
export type CompletionChunk = TextDelta | Finish

/**
 * @since 0.1.0
 * @category Constructors
 */
export const textDelta = (text: string): TextDelta => ({ _tag: "TextDelta", text })

/**
 * @since 0.1.0
 * @category Constructors
 */
export const finish = (completion: Completion): Finish => ({ _tag: "Finish", completion })

/**
 * @since 0.1.0
 * @category Context
 */
export class Provider extends Context.Tag("multi-agent-orchestration/Provider")<Provider, Service>() {}

/**
 * Asks the provider in context for a completion.
 *
 * @since 0.1.0
 * @category Functions
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Provider } from "multi-agent-orchestration"
 *
 * const answer = Provider.complete({ system: "Be brief.", prompt: "What is a DAG?" }).pipe(
 *   Effect.map((completion) => completion.content),
 *   Effect.provide(Provider.simulated())
 * )
 * ```
 */
export const complete = (request: CompletionRequest): Effect.Effect<Completion, ProviderError, Provider> =>
  // Rather than `Effect.serviceFunctionEffect`, whose rest parameters cost an array a call.
  Effect.flatMap(Provider, (provider) => provider.complete(request))

/**
 * A call of `service`, streamed: its own `stream` when it has one, else its `complete` as one delta and a
 * `Finish`.
 *
 * @since 0.1.0
 * @category Functions
 */
export const streamFrom: (
  service: Service,
  request: CompletionRequest
) => Stream.Stream<CompletionChunk, ProviderError> = streamFromService

/**
 * Streams a completion from the provider in context: text deltas as the model writes them, then a `Finish`
 * with the whole completion and its usage. Inside a run, the call is metered, retried and falls back like
 * `complete`; a delta with `restart: true` starts the text again after a failed attempt.
 *
 * @since 0.1.0
 * @category Functions
 * @example
 * ```ts
 * import { Console, Effect, Stream } from "effect"
 * import { Provider } from "multi-agent-orchestration"
 *
 * const program = Provider.streamText({ prompt: "Explain backpressure in one paragraph." }).pipe(
 *   Stream.runForEach((chunk) =>
 *     chunk._tag === "TextDelta"
 *       ? Console.log(chunk.text)
 *       : Console.log(`${chunk.completion.usage.outputTokens} tokens`)
 *   ),
 *   Effect.provide(Provider.simulated({ latency: "1 second" }))
 * )
 * ```
 */
export const streamText = (request: CompletionRequest): Stream.Stream<CompletionChunk, ProviderError, Provider> =>
  Stream.unwrap(Effect.map(Provider, (provider) => streamFromService(provider, request)))

/**
 * A completion whose reply decoded to `value`. `attempts` counts the replies (2 when the first needed a
 * repair); `usage` is theirs together, and `content` is the last reply.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ObjectCompletion<A> extends Completion {
  readonly value: A
  readonly attempts: number
}

/**
 * Asks for a reply that decodes with `schema`. Its JSON Schema is sent as the request's `responseFormat`
 * (OpenAI's `text.format` json_schema, chat completions' `response_format`, a tool Anthropic must call; a
 * schema that is not an object is asked for as `{ "value": ... }`). A reply that does not decode gets one
 * repair attempt, which sends the problems back to the model; a second failure is
 * `AgentError.InvalidOutput`, holding the problems path by path.
 *
 * @since 0.1.0
 * @category Functions
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Provider } from "multi-agent-orchestration"
 *
 * const Verdict = Schema.Struct({ approved: Schema.Boolean, reason: Schema.String })
 *
 * const verdict = Provider.completeObject({ prompt: "Should we ship on Friday?" }, Verdict).pipe(
 *   Effect.map((completion) => completion.value.approved),
 *   Effect.provide(Provider.simulated())
 * )
 * ```
 */
export const completeObject = <A, I, R>(
  request: CompletionRequest,
  schema: Schema.Schema<A, I, R>,
  options: { readonly name?: string | undefined; readonly description?: string | undefined } = {}
): Effect.Effect<ObjectCompletion<A>, ProviderError | InvalidOutput, Provider | R> =>
  Effect.gen(function*() {
    const provider = yield* Provider
    const spec = outputSpec(schema, options)
    const first = yield* provider.complete({ ...request, responseFormat: spec.format })
    const decoded = yield* Effect.either(decodeReply(spec, first.content))
    if (Either.isRight(decoded)) return { ...first, value: decoded.right.value, attempts: 1 }
    const { prompt: _prompt, ...rest } = request
    const messages = messagesOf(request)
    const second = yield* provider.complete({
      ...rest,
      responseFormat: spec.format,
      messages: [
        ...messages,
        { role: "assistant", content: first.content },
        { role: "user", content: repairPrompt(spec, decoded.left) }
      ]
    })
    const usage = addUsage(first.usage, second.usage)
    const repaired = yield* Effect.either(decodeReply(spec, second.content))
    if (Either.isRight(repaired)) return { ...second, usage, value: repaired.right.value, attempts: 2 }
    return yield* invalidOutput(spec, repaired.left, second.content, 2)
  })

/**
 * The messages of a request: its `messages`, then its `prompt` as a final user message.
 *
 * @since 0.1.0
 * @category Functions
 */
export const messagesOf = (request: CompletionRequest): ReadonlyArray<Message> => {
  const messages = request.messages ?? []
  return request.prompt === undefined ? messages : [...messages, { role: "user", content: request.prompt }]
}

/**
 * A provider from a function: the quickest way to plug in any client.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Provider } from "multi-agent-orchestration"
 *
 * const Echo = Provider.make((request) =>
 *   Effect.succeed({
 *     content: Provider.messagesOf(request).at(-1)?.content ?? "",
 *     model: request.model ?? "echo",
 *     usage: { inputTokens: 1, outputTokens: 1 }
 *   })
 * )
 * ```
 */
export const make = (
  complete: Service["complete"],
  options: {
    readonly name?: string | undefined
    readonly defaultModel?: string | undefined
    /** The streamed form of the call, if the client streams; without it, a call streams as one delta. */
    readonly stream?: Service["stream"]
  } = {}
): Layer.Layer<Provider> =>
  Layer.succeed(
    Provider,
    Provider.of({
      name: options.name ?? "custom",
      defaultModel: options.defaultModel ?? "default",
      complete,
      ...(options.stream === undefined ? {} : { stream: options.stream })
    })
  )

/**
 * Options of the simulated provider.
 *
 * @since 0.1.0
 * @category Models
 */
export type { FailurePlan, SimulatedOptions } from "./internal/simulated.js"

/**
 * The simulated provider as a service value, for composing into other layers. Each call of the effect makes
 * a provider with its own call counter.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeSimulated: (options?: SimulatedOptions) => Effect.Effect<Service> = makeSimulatedService

/**
 * The offline, deterministic provider: the demo's default and everyone's test double.
 *
 * - Replies are readable Markdown derived from the prompt: a numbered list when asked for one, JSON with a
 *   `score` when asked for a score, otherwise a short brief with headings and bullets.
 * - Usage is derived from text length (about four characters a token).
 * - `latency` waits on the `Clock` (a timer per millisecond of due times wakes the calls due in it), so
 *   `TestClock` controls it exactly; on the live clock it is as precise as Node's timers, within about a
 *   millisecond either way, and calls due within the same millisecond reply together.
 * - `failures` fails chosen calls (`calls: [2, 5]`) or a seeded share of them (`rate: 0.3, seed: 7`).
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { Provider, ProviderError } from "multi-agent-orchestration"
 *
 * const Flaky = Provider.simulated({
 *   latency: "200 millis",
 *   failures: {
 *     calls: [2, 5],
 *     error: ({ model }) =>
 *       new ProviderError.RateLimited({ provider: "simulated", model, retryAfter: Duration.seconds(7) })
 *   }
 * })
 * ```
 */
export const simulated = (options?: SimulatedOptions): Layer.Layer<Provider> =>
  Layer.effect(Provider, makeSimulatedService(options))

/**
 * The text the simulated provider replies with, as a pure function: for mocks of your own, and for
 * comparisons that must do exactly the simulated provider's work.
 *
 * @since 0.1.0
 * @category Functions
 */
export const simulatedReply: (request: CompletionRequest) => string = simulatedReplyText

// ============================================================================================================
// HTTP providers
// ============================================================================================================

/**
 * Options of the HTTP providers.
 *
 * - `defaultModel`: the model of requests that name none.
 * - `timeout`: the time bound of one HTTP call (default: 2 minutes); past it the call fails with
 *   `ProviderError.Timeout`, which is retried.
 * - `maxTokens`: the `maxTokens` of requests that name none.
 * - `concurrency`, `requestsPerMinute`, `tokensPerMinute`: limits that hold for every call made through the
 *   layer, across all agents and nested workflows (see `withLimits`).
 *
 * Besides those, every HTTP provider reads the rate limits its server reports with each reply (OpenAI's
 * `x-ratelimit-remaining-*` and `x-ratelimit-reset-*`, Anthropic's `anthropic-ratelimit-*`): a call that
 * needs more than the last report left waits, on the Clock, until the reported reset, so that the provider
 * slows down before the server refuses it. Calls started since the report count against what it left.
 *
 * The options are checked when the layer is built, before anything is loaded or sent: a `timeout` that is not
 * a positive, finite duration, a limit or `maxTokens` that is not a whole number of at least 1, a base URL
 * that is not http(s), an empty model name or key fail the layer with one `InvalidConfig` listing every
 * problem, each naming its option ("openAi: timeout must be a positive, finite duration …, got NaN").
 *
 * Nothing a provider shows (error details, excerpts of replies, retry reasons) holds its keys, even in part:
 * provider text is scrubbed whole (the keys, anything shaped like a key, any 8 characters of a key) before
 * it is cut short.
 *
 * @since 0.1.0
 * @category Models
 */
export type {
  AnthropicOptions,
  CommonOptions,
  FromLanguageModelOptions,
  LimitOptions,
  OpenAiCompatibleOptions,
  OpenAiOptions
} from "./internal/providers/options.js"

/**
 * OpenAI, through `@effect/ai-openai` and the Responses API (`POST {apiUrl}/responses`). The system prompt is
 * sent as the first input message, `maxTokens` as `max_output_tokens`; replies are not stored (`store:
 * false`). Default model: "gpt-4o-mini".
 *
 * Calls stream the Responses API's events through `LanguageModel.streamText`. Requests go out with `fetch`;
 * `openAiWithoutHttpClient` takes your `HttpClient` instead. Loads `@effect/ai-openai` when the layer is built.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { Provider } from "multi-agent-orchestration"
 *
 * const OpenAi = Provider.openAi({ apiKey: Redacted.make("sk-..."), defaultModel: "gpt-4o", concurrency: 8 })
 * ```
 */
export const openAi = (options: OpenAiOptions): Layer.Layer<Provider, InvalidConfig> =>
  Layer.scoped(Provider, loadProviders.openAi(options))

/**
 * `openAi` on the `HttpClient` of its environment, as `OpenAiClient.layer` is: give it your own client (a
 * proxy, extra headers, tracing, retries, `NodeHttpClient`) with `Layer.provide`. `openAi` is this layer on
 * `FetchHttpClient`.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
 * import { Effect, Layer, Redacted } from "effect"
 * import { Provider } from "multi-agent-orchestration"
 *
 * // Every call carries a header of your own.
 * const Tagged = Layer.effect(
 *   HttpClient.HttpClient,
 *   Effect.map(HttpClient.HttpClient, HttpClient.mapRequest(HttpClientRequest.setHeader("x-team", "research")))
 * ).pipe(Layer.provide(FetchHttpClient.layer))
 *
 * const OpenAi = Provider.openAiWithoutHttpClient({ apiKey: Redacted.make("sk-...") }).pipe(Layer.provide(Tagged))
 * ```
 */
export const openAiWithoutHttpClient = (
  options: OpenAiOptions
): Layer.Layer<Provider, InvalidConfig, HttpClient.HttpClient> =>
  Layer.scoped(Provider, loadProviders.openAiWithoutHttpClient(options))

/**
 * `openAi` with its options read from `Config`. Fails with `ConfigError` when a value cannot be read, and with
 * `InvalidConfig` when one is read but invalid.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { Provider } from "multi-agent-orchestration"
 *
 * const OpenAi = Provider.openAiLayerConfig({
 *   apiKey: Config.redacted("OPENAI_API_KEY"),
 *   defaultModel: Config.string("OPENAI_MODEL").pipe(Config.withDefault("gpt-4o-mini"))
 * })
 * ```
 */
export const openAiLayerConfig = (
  config: Config.Config.Wrap<OpenAiOptions>
): Layer.Layer<Provider, ConfigError.ConfigError | InvalidConfig> =>
  Layer.scoped(Provider, Effect.flatMap(Config.unwrap(config), loadProviders.openAi))

/**
 * Anthropic, through `@effect/ai-anthropic` and the Messages API (`POST {apiUrl}/v1/messages`; give `apiUrl`
 * without "/v1"). The system prompt goes in `system`; `max_tokens`, which Anthropic requires, defaults to
 * 4096. Default model: "claude-sonnet-4-5".
 *
 * Calls stream the Messages API's events through `LanguageModel.streamText`. Requests go out with `fetch`;
 * `anthropicWithoutHttpClient` takes your `HttpClient` instead. Loads `@effect/ai-anthropic` when the layer is
 * built.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { Provider } from "multi-agent-orchestration"
 *
 * const Anthropic = Provider.anthropic({ apiKey: Redacted.make("sk-ant-..."), requestsPerMinute: 50 })
 * ```
 */
export const anthropic = (options: AnthropicOptions): Layer.Layer<Provider, InvalidConfig> =>
  Layer.scoped(Provider, loadProviders.anthropic(options))

/**
 * `anthropic` on the `HttpClient` of its environment (see `openAiWithoutHttpClient`). `anthropic` is this
 * layer on `FetchHttpClient`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const anthropicWithoutHttpClient = (
  options: AnthropicOptions
): Layer.Layer<Provider, InvalidConfig, HttpClient.HttpClient> =>
  Layer.scoped(Provider, loadProviders.anthropicWithoutHttpClient(options))

/**
 * `anthropic` with its options read from `Config`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const anthropicLayerConfig = (
  config: Config.Config.Wrap<AnthropicOptions>
): Layer.Layer<Provider, ConfigError.ConfigError | InvalidConfig> =>
  Layer.scoped(Provider, Effect.flatMap(Config.unwrap(config), loadProviders.anthropic))

/**
 * A server that speaks OpenAI's chat completions (`POST {baseUrl}/chat/completions`): Ollama
 * ("http://localhost:11434/v1"), vLLM ("http://localhost:8000/v1"), llama.cpp's server
 * ("http://localhost:8080/v1"), LM Studio ("http://localhost:1234/v1"). `apiKey` is optional. Its `name`
 * (default "local") is the model prefix it answers to ("local:llama3.1"). Default model: "llama3.1".
 *
 * Streamed calls send `stream: true` with `stream_options.include_usage` and read the server's SSE chunks; a
 * server that ignores `stream` and answers with one JSON reply is read as one delta. Requests go out with
 * `fetch`; `openAiCompatibleWithoutHttpClient` takes your `HttpClient` instead.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { Provider } from "multi-agent-orchestration"
 *
 * const Ollama = Provider.openAiCompatible({ baseUrl: "http://localhost:11434/v1", defaultModel: "llama3.1:8b" })
 * ```
 */
export const openAiCompatible = (options: OpenAiCompatibleOptions): Layer.Layer<Provider, InvalidConfig> =>
  Layer.scoped(Provider, loadProviders.openAiCompatible(options))

/**
 * `openAiCompatible` on the `HttpClient` of its environment (see `openAiWithoutHttpClient`).
 * `openAiCompatible` is this layer on `FetchHttpClient`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const openAiCompatibleWithoutHttpClient = (
  options: OpenAiCompatibleOptions
): Layer.Layer<Provider, InvalidConfig, HttpClient.HttpClient> =>
  Layer.scoped(Provider, loadProviders.openAiCompatibleWithoutHttpClient(options))

/**
 * `openAiCompatible` with its options read from `Config`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const openAiCompatibleLayerConfig = (
  config: Config.Config.Wrap<OpenAiCompatibleOptions>
): Layer.Layer<Provider, ConfigError.ConfigError | InvalidConfig> =>
  Layer.scoped(Provider, Effect.flatMap(Config.unwrap(config), loadProviders.openAiCompatible))

/**
 * Any `@effect/ai` `LanguageModel` as a provider: OpenAI and Anthropic through their own layers, Amazon
 * Bedrock, Google, OpenRouter, or a `LanguageModel` of your own. A `LanguageModel` is made for one model and a
 * request may name any, so give a layer per model, as a map from model names or as a function of the name;
 * each model's layer is built the first time a request names it, once, for the life of the provider, with
 * what the layer needs (an `OpenAiClient`, an `HttpClient`) taken from the provider layer's environment.
 *
 * - Calls stream (`streamText`) and complete (`generateText`); failures are `ProviderError`s, as with the
 *   built-in providers.
 * - Usage is the model's reported usage (Anthropic's cache reads and writes counted in the input), or
 *   estimated and marked `estimated`. The model a reply names is the completion's `model`, so the run's
 *   `Pricing` prices it: add your own models' prices there.
 * - Temperature and max tokens are set in each model's layer (its `config`), not per request.
 * - A model with no layer, or whose layer fails to build, fails the call with `InvalidRequest`.
 *
 * The options (a name without ":", a non-empty `defaultModel` that is one of the map's models, required with
 * a function; a positive `timeout`) are checked when the layer is built: problems fail it with
 * `InvalidConfig`. Loads `@effect/ai` when the layer is built.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
 * import { FetchHttpClient } from "@effect/platform"
 * import { Config, Layer } from "effect"
 * import { Provider } from "multi-agent-orchestration"
 *
 * const Models = Provider.fromLanguageModel(
 *   (model) => OpenAiLanguageModel.layer({ model, config: { temperature: 0.2 } }),
 *   { name: "openai", defaultModel: "gpt-4o-mini" }
 * ).pipe(
 *   Layer.provide(OpenAiClient.layerConfig({ apiKey: Config.redacted("OPENAI_API_KEY") })),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 * ```
 */
export const fromLanguageModel = <E, R>(
  models:
    | Readonly<Record<string, Layer.Layer<LanguageModel.LanguageModel, E, R>>>
    | ((model: string) => Layer.Layer<LanguageModel.LanguageModel, E, R>),
  options: FromLanguageModelOptions = {}
): Layer.Layer<Provider, InvalidConfig, R> => Layer.scoped(Provider, loadProviders.fromLanguageModel(models, options))

/**
 * The provider the environment asks for:
 *
 * - `ANTHROPIC_API_KEY` gives Anthropic (`ANTHROPIC_BASE_URL`, `ANTHROPIC_MODEL` optional);
 * - `OPENAI_BASE_URL` gives the OpenAI-compatible client for that server, with `OPENAI_API_KEY` as its key
 *   if set; otherwise `OPENAI_API_KEY` gives OpenAI (`OPENAI_MODEL` sets the default model of either);
 * - with several, a `router` over them, Anthropic first: prefixed models ("openai:gpt-4o") and known model
 *   families ("gpt-…", "claude-…") go to their provider, so a fallback model can be another provider's;
 * - with none, the simulated provider, announced once with a warning log.
 *
 * A base URL variable that is not an http(s) URL fails with `InvalidConfig` naming the variable.
 *
 * @since 0.1.0
 * @category Layers
 */
export const fromEnv: Layer.Layer<Provider, ConfigError.ConfigError | InvalidConfig> = Layer.scoped(
  Provider,
  fromEnvService
)

/**
 * One provider in front of several. A request goes to the provider its model's prefix names ("openai:gpt-4o"
 * goes to `routes.openai` as "gpt-4o"); an unprefixed model goes to the route of its family when there is one
 * ("gpt-…", "o3…" to `openai`, "claude-…" to `anthropic`), else to the default route (`options.default`, else
 * the first). The default model is the default route's, prefixed.
 *
 * With a router, `primaryModel` and `fallbackModel` may name different providers: the orchestrator's
 * fallback then moves to the other provider once the primary's retries are used up.
 *
 * Every route is built, and the router's own problems (no routes, an empty or duplicate route name, a
 * `default` that is no route) and those of every route (prefixed `route "name": `) fail it as one
 * `InvalidConfig`.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { Provider } from "multi-agent-orchestration"
 *
 * const Both = Provider.router({
 *   openai: Provider.openAi({ apiKey: Redacted.make("sk-...") }),
 *   anthropic: Provider.anthropic({ apiKey: Redacted.make("sk-ant-...") }),
 *   local: Provider.openAiCompatible({ baseUrl: "http://localhost:11434/v1" })
 * })
 * // config: { primaryModel: "openai:gpt-4o", fallbackModel: "anthropic:claude-sonnet-4-5" }
 * ```
 */
export const router = <E, R>(
  routes: Readonly<Record<string, Layer.Layer<Provider, E, R>>>,
  options: { readonly default?: string | undefined } = {}
): Layer.Layer<Provider, E | InvalidConfig, R> =>
  Layer.scoped(
    Provider,
    Effect.gen(function*() {
      const names = Object.keys(routes)
      const problems = routerProblems(names, options.default)
      const services = new Map<string, Service>()
      // Every route is built, so that one error lists the problems of all of them.
      for (const [prefix, layer] of Object.entries(routes)) {
        const built = yield* Effect.either(Layer.build(layer))
        if (Either.isRight(built)) services.set(prefix.toLowerCase(), Context.get(built.right, Provider))
        else if (built.left instanceof InvalidConfig) {
          problems.push(...built.left.problems.map((problem) => `route "${prefix}": ${problem}`))
        } else return yield* Effect.fail(built.left)
      }
      if (problems.length > 0) return yield* new InvalidConfig({ problems })
      return makeRouter(services, options.default?.toLowerCase() ?? names[0]!.toLowerCase())
    })
  )

/**
 * A provider layer behind limits that hold for every call through it, across all agents and nested
 * workflows of every run that shares the layer: `concurrency` calls in flight at most, and token buckets of
 * `requestsPerMinute` and `tokensPerMinute` (effect's `RateLimiter`; a call counts its estimated prompt tokens
 * plus its `maxTokens`). The HTTP providers take the same options directly. A limit that is not a whole number
 * of at least 1 fails the layer with `InvalidConfig`, together with the problems of `self`.
 *
 * @since 0.1.0
 * @category Combinators
 * @example
 * ```ts
 * import { Provider } from "multi-agent-orchestration"
 *
 * const Gentle = Provider.simulated().pipe(Provider.withLimits({ concurrency: 2, requestsPerMinute: 60 }))
 * ```
 */
export const withLimits: {
  (limits: LimitOptions): <E, R>(self: Layer.Layer<Provider, E, R>) => Layer.Layer<Provider, E | InvalidConfig, R>
  <E, R>(self: Layer.Layer<Provider, E, R>, limits: LimitOptions): Layer.Layer<Provider, E | InvalidConfig, R>
} = dual(
  2,
  <E, R>(self: Layer.Layer<Provider, E, R>, limits: LimitOptions): Layer.Layer<Provider, E | InvalidConfig, R> =>
    Layer.scoped(
      Provider,
      Effect.gen(function*() {
        const problems = limitProblems("withLimits", limits)
        const built = yield* Effect.either(Layer.build(self))
        if (Either.isLeft(built)) {
          if (!(built.left instanceof InvalidConfig)) return yield* Effect.fail(built.left)
          problems.unshift(...built.left.problems)
        }
        if (problems.length > 0 || Either.isLeft(built)) return yield* new InvalidConfig({ problems })
        return yield* limitService(Context.get(built.right, Provider), limits)
      })
    )
)
