/**
 * The LLM provider service. Everything that talks to a model goes through `Provider.complete`, so swapping
 * the layer (simulated, a function, OpenAI, Anthropic, a local server) is the only change between a test, a
 * demo and production.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import {
  makeSimulated as makeSimulatedService,
  type SimulatedOptions,
  simulatedReply as simulatedReplyText
} from "./internal/simulated.js"
import type { ProviderError } from "./ProviderError.js"
import type { Usage } from "./Usage.js"

/**
 * One turn of a conversation.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Message {
  readonly role: "user" | "assistant"
  readonly content: string
}

/**
 * A completion request. Give either `prompt` (one user message) or `messages`. Inside a workflow, `model` may
 * be left out: the orchestrator fills in the agent's model.
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
}

/**
 * A model's reply: its text, the model that actually answered, and the tokens used.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Completion {
  readonly content: string
  readonly model: string
  readonly usage: Usage
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
}

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
export const complete: (request: CompletionRequest) => Effect.Effect<Completion, ProviderError, Provider> = Effect
  .serviceFunctionEffect(Provider, (provider) => provider.complete)

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
  options: { readonly name?: string | undefined; readonly defaultModel?: string | undefined } = {}
): Layer.Layer<Provider> =>
  Layer.succeed(
    Provider,
    Provider.of({ name: options.name ?? "custom", defaultModel: options.defaultModel ?? "default", complete })
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
 * - `latency` waits with `Effect.sleep`, so `TestClock` controls it.
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
