/**
 * The Anthropic provider, built on `@effect/ai-anthropic` (the Messages API, `POST {apiUrl}/v1/messages`).
 * Loaded on first use, so that programs that never call Anthropic never load its client.
 */
import * as AnthropicClient from "@effect/ai-anthropic/AnthropicClient"
import * as AnthropicLanguageModel from "@effect/ai-anthropic/AnthropicLanguageModel"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Service } from "../../Provider.js"
import type { ServerLimits } from "./serverLimits.js"
import { makeStreamingService } from "./streamLanguageModel.js"
import { clientChecks } from "./transforms.js"
import { type CommonOptions, defaultTimeout, type ReportedUsage } from "./shared.js"

/** Options of `Provider.anthropic`. */
export interface AnthropicOptions extends CommonOptions {
  /** The API key, sent in the `x-api-key` header. */
  readonly apiKey: Redacted.Redacted<string>
  /** The API's base URL, without "/v1". Default: "https://api.anthropic.com". */
  readonly apiUrl?: string | undefined
  /** The `anthropic-version` header. Default: "2023-06-01". */
  readonly anthropicVersion?: string | undefined
}

export const name = "anthropic"
export const defaultModel = "claude-sonnet-4-5"
/** Anthropic requires `max_tokens` on every request. */
export const defaultMaxTokens = 4096

/** A trailing "/v1" is dropped: the client adds it to every path. */
const baseUrl = (url: string | undefined): string | undefined => url?.replace(/\/+$/, "").replace(/\/v1$/, "")

/** The provider, on the `HttpClient` of the environment; `server` learns the limits its replies report. */
export const make = (
  options: AnthropicOptions,
  server?: ServerLimits | undefined
): Effect.Effect<Service, never, Scope.Scope | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const secrets = [Redacted.value(options.apiKey)]
    const client = yield* AnthropicClient.make({
      apiKey: options.apiKey,
      apiUrl: baseUrl(options.apiUrl),
      anthropicVersion: options.anthropicVersion,
      transformClient: clientChecks(secrets, server)
    })
    const languageModel = yield* AnthropicLanguageModel.make({ model: options.defaultModel ?? defaultModel }).pipe(
      Effect.provideService(AnthropicClient.AnthropicClient, client)
    )
    const maxTokensDefault = options.maxTokens ?? defaultMaxTokens
    return makeStreamingService({
      name,
      defaultModel: options.defaultModel ?? defaultModel,
      timeout: options.timeout === undefined ? defaultTimeout : Duration.decode(options.timeout),
      secrets,
      languageModel,
      redactedHeaders: ["x-api-key"],
      configure: (self, call) =>
        AnthropicLanguageModel.withConfigOverride(self, {
          model: call.model,
          max_tokens: call.maxTokens ?? maxTokensDefault,
          ...(call.temperature === undefined ? {} : { temperature: call.temperature })
        }),
      formatMode: "tool",
      toolsWithNone: true,
      usage: (response): ReportedUsage | undefined => {
        // Anthropic counts cache reads and cache writes apart from `input_tokens`; the library's input
        // includes both, each billed at its own rate. `@effect/ai` keeps the reads only; the writes are in
        // the raw usage of the finish part's metadata.
        for (const part of response.content) {
          if (part.type !== "finish") continue
          const raw = part.metadata.anthropic?.usage
          if (raw === undefined) {
            return { inputTokens: part.usage.inputTokens, outputTokens: part.usage.outputTokens }
          }
          const read = raw.cache_read_input_tokens ?? 0
          const written = raw.cache_creation_input_tokens ?? 0
          return {
            inputTokens: raw.input_tokens + read + written,
            outputTokens: raw.output_tokens,
            cachedInputTokens: read,
            cacheWriteInputTokens: written
          }
        }
        return undefined
      }
    })
  })
