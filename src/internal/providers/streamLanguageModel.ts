/**
 * The streamed call of a provider built on an `@effect/ai` `LanguageModel`: `streamText`'s parts become text
 * deltas and a `Finish`, whose usage is the stream's final usage (or estimated and marked so), and its
 * failures become `ProviderError`s, retried like any other transient failure when the stream breaks off.
 */
import type * as AiError from "@effect/ai/AiError"
import type * as Response from "@effect/ai/Response"
import * as Headers from "@effect/platform/Headers"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { CompletionChunk, CompletionRequest, Service } from "../../Provider.js"
import { MalformedResponse, type ProviderError } from "../../ProviderError.js"
import { fromAiError } from "./aiError.js"
import { toPrompt } from "./aiTools.js"
import { type LanguageModelProvider, makeService, reportedUsage } from "./languageModel.js"
import { type Origin, type ReportedUsage, fromErrorReply, requestMessages, resolveModel, usageOf } from "./shared.js"
import { endedEarly, withStreamTimeout } from "./streamChunks.js"
import { reportedInEvent } from "./transforms.js"

/** Anthropic's raw usage, as `@effect/ai-anthropic` keeps it in the finish part's metadata. */
interface AnthropicUsage {
  readonly input_tokens?: number | null | undefined
  readonly output_tokens?: number | null | undefined
  readonly cache_read_input_tokens?: number | null | undefined
  readonly cache_creation_input_tokens?: number | null | undefined
}

const anthropicUsageOf = (metadata: unknown): AnthropicUsage | undefined => {
  if (typeof metadata !== "object" || metadata === null || !("anthropic" in metadata)) return undefined
  const anthropic = metadata.anthropic
  if (typeof anthropic !== "object" || anthropic === null || !("usage" in anthropic)) return undefined
  const usage = anthropic.usage
  return typeof usage === "object" && usage !== null ? usage as AnthropicUsage : undefined
}

/**
 * The usage of a finish part in the library's terms, whichever model wrote it. Anthropic counts cache reads
 * and writes apart from its input; the library's input includes both (the raw counts are in the part's
 * metadata, from the stream's first event, and the output from its last).
 */
export const finishUsage = (part: Response.FinishPart): ReportedUsage | undefined => {
  const raw = anthropicUsageOf(part.metadata)
  if (raw === undefined || typeof raw.input_tokens !== "number") return reportedUsage(part.usage)
  const read = raw.cache_read_input_tokens ?? 0
  const written = raw.cache_creation_input_tokens ?? 0
  return {
    inputTokens: raw.input_tokens + read + written,
    outputTokens: part.usage.outputTokens ?? raw.output_tokens ?? undefined,
    cachedInputTokens: read,
    cacheWriteInputTokens: written
  }
}

/** A failure after part of the reply arrived breaks the stream off: the next stream may well succeed. */
const brokeOff = (error: ProviderError): ProviderError =>
  error._tag === "MalformedResponse" && error.partial !== true
    ? new MalformedResponse({ ...error, partial: true })
    : error

export const makeStream = (options: LanguageModelProvider) => {
  const { languageModel, name, secrets, timeout } = options
  const redact = (names: ReadonlyArray<string | RegExp>) => [...names, ...options.redactedHeaders]
  const failWith = (origin: Origin, error: AiError.AiError, midStream: boolean) =>
    Effect.flatMap(Clock.currentTimeMillis, (now): Effect.Effect<never, ProviderError> => {
      const mapped = fromAiError(origin, error, now, secrets)
      return Effect.fail(midStream ? brokeOff(mapped) : mapped)
    })

  return (request: CompletionRequest): Stream.Stream<CompletionChunk, ProviderError> => {
    const resolved = resolveModel(name, request.model, options.defaultModel)
    if (!resolved.ok) return Stream.fail(resolved.error)
    const model = resolved.value
    const messages = requestMessages(name, model, request)
    if (!messages.ok) return Stream.fail(messages.error)
    const origin = { provider: name, model }
    const call = { model, temperature: request.temperature, maxTokens: request.maxTokens }

    const chunks = Stream.suspend(() => {
      let content = ""
      let answered = model
      let received = 0
      let finish: Response.FinishPart | undefined
      const parts = languageModel.streamText({ prompt: toPrompt(request.system, messages.value) })
      const deltas = parts.pipe(
        Stream.catchAll((error) => Stream.fromEffect(failWith(origin, error, received > 0))),
        Stream.mapEffect((part): Effect.Effect<CompletionChunk | undefined, ProviderError> => {
          received++
          switch (part.type) {
            case "text-delta":
              content += part.delta
              return Effect.succeed(part.delta === "" ? undefined : { _tag: "TextDelta", text: part.delta })
            case "response-metadata":
              if (part.modelId._tag === "Some") answered = part.modelId.value
              return Effect.succeed(undefined)
            case "finish":
              finish = part
              return Effect.succeed(undefined)
            case "error": {
              const event = Predicate.hasProperty(part.error, "type") && part.error.type === "error"
                ? part.error
                : { type: "error", error: part.error }
              const reported = reportedInEvent(event) ?? { message: "the stream reports an error", kind: undefined }
              return Effect.fail(fromErrorReply(origin, 200, reported, secrets))
            }
            default:
              return Effect.succeed(undefined)
          }
        }),
        Stream.filter((chunk): chunk is CompletionChunk => chunk !== undefined)
      )
      const end = Stream.suspend((): Stream.Stream<CompletionChunk, ProviderError> =>
        finish === undefined ? Stream.fail(endedEarly(origin)) : Stream.succeed({
          _tag: "Finish",
          completion: {
            content,
            model: answered,
            usage: usageOf(finishUsage(finish), request, messages.value, content)
          }
        })
      )
      return Stream.concat(deltas, end)
    })

    // The provider's config override (model, temperature, max tokens) is a service in the context; the
    // stream runs with the context the override gives.
    const configured = Stream.unwrapScoped(
      Effect.zipRight(
        Effect.locallyScopedWith(Headers.currentRedactedNames, redact),
        Effect.map(options.configure(Effect.context<never>(), call), (context) => Stream.provideContext(chunks, context))
      )
    )
    return withStreamTimeout(configured, origin, timeout)
  }
}

/** `makeService`, streaming too. */
export const makeStreamingService = (options: LanguageModelProvider): Service => ({
  ...makeService(options),
  stream: makeStream(options)
})
