/**
 * A `Provider.Service` on top of an `@effect/ai` `LanguageModel`: the request becomes a `Prompt`, the call is
 * bounded in time, its `AiError`s become `ProviderError`s and its usage is normalised.
 */
import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import * as Headers from "@effect/platform/Headers"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Completion, CompletionRequest, Service } from "../../Provider.js"
import type { ProviderError } from "../../ProviderError.js"
import { isStrict } from "../structured.js"
import { fromAiError } from "./aiError.js"
import { callOf, type FormatMode, generate, toolCallsOf, toPrompt } from "./aiTools.js"
import { type ReportedUsage, requestMessages, resolveModel, usageOf, withTimeout } from "./shared.js"

/** What differs between the providers built on `@effect/ai`. */
export interface LanguageModelProvider {
  readonly name: string
  readonly defaultModel: string
  readonly timeout: Duration.Duration
  readonly secrets: ReadonlyArray<string>
  readonly languageModel: LanguageModel.Service
  /** Header names whose values must never be shown (added to `Headers.currentRedactedNames`). */
  readonly redactedHeaders: ReadonlyArray<string>
  /** Sets the call's model, temperature and max tokens, through the provider's config override. */
  readonly configure: <A, E, R>(
    self: Effect.Effect<A, E, R>,
    call: {
      readonly model: string
      readonly temperature?: number | undefined
      readonly maxTokens?: number | undefined
      /** Whether the call's JSON Schemas (tools, response format) meet the API's strict mode. */
      readonly strict?: boolean | undefined
    }
  ) => Effect.Effect<A, E, R>
  /** How the API takes a response format: its own (OpenAI), or a tool the model must call (Anthropic). */
  readonly formatMode: FormatMode
  /** Whether the API drops the tools for a tool choice of "none" (so that a history of tool calls fails). */
  readonly toolsWithNone: boolean
  /** The usage of a finished call in the library's terms (input includes cached input). */
  readonly usage: (response: LanguageModel.GenerateTextResponse<{}>) => ReportedUsage | undefined
}

/** The model that answered, as the reply names it. */
const answeredBy = (response: LanguageModel.GenerateTextResponse<{}>, fallback: string): string => {
  for (const part of response.content) {
    if (part.type === "response-metadata" && Option.isSome(part.modelId)) return part.modelId.value
  }
  return fallback
}

/** `inputTokens` and friends of `@effect/ai`'s usage, which match the library's terms for OpenAI. */
export const reportedUsage = (usage: Response.Usage): ReportedUsage | undefined =>
  usage.inputTokens === undefined && usage.outputTokens === undefined ? undefined : {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cachedInputTokens: usage.cachedInputTokens
  }

/** Whether every JSON Schema of the request meets strict mode, so that the API may enforce it. */
const strictOf = (request: CompletionRequest): boolean =>
  (request.responseFormat === undefined || request.responseFormat.strict === true) &&
  (request.tools ?? []).every((tool) => isStrict(tool.parameters))

export const makeService = (options: LanguageModelProvider): Service => {
  const { languageModel, name, secrets, timeout } = options
  const redact = (names: ReadonlyArray<string | RegExp>) => [...names, ...options.redactedHeaders]
  const fail = (origin: { provider: string; model: string }) => (error: AiError.AiError) =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (now): Effect.Effect<never, ProviderError> => Effect.fail(fromAiError(origin, error, now, secrets))
    )

  const complete = (request: CompletionRequest): Effect.Effect<Completion, ProviderError> => {
    const resolved = resolveModel(name, request.model, options.defaultModel)
    if (!resolved.ok) return Effect.fail(resolved.error)
    const model = resolved.value
    const messages = requestMessages(name, model, request)
    if (!messages.ok) return Effect.fail(messages.error)
    const origin = { provider: name, model }
    const typed = request.responseFormat !== undefined || (request.tools?.length ?? 0) > 0
    const call = typed
      ? Effect.map(
        generate(languageModel, callOf(request, messages.value, options)),
        (generated): Completion => {
          const toolCalls = toolCallsOf(generated.toolCalls, secrets)
          return {
            content: generated.text,
            model: answeredBy(generated.response, model),
            usage: usageOf(options.usage(generated.response), request, messages.value, generated.text),
            ...(toolCalls === undefined ? {} : { toolCalls })
          }
        }
      )
      : languageModel.generateText({ prompt: toPrompt(request.system, messages.value) }).pipe(
        Effect.map((response): Completion => {
          const content = response.text
          return {
            content,
            model: answeredBy(response, model),
            usage: usageOf(options.usage(response), request, messages.value, content)
          }
        })
      )
    const strict = typed ? strictOf(request) : undefined
    return withTimeout(
      options.configure(Effect.catchAll(call, fail(origin)), {
        model,
        temperature: request.temperature,
        maxTokens: request.maxTokens,
        ...(strict === undefined ? {} : { strict })
      }),
      origin,
      timeout
    ).pipe(Effect.locallyWith(Headers.currentRedactedNames, redact))
  }

  return { name, defaultModel: options.defaultModel, complete }
}
