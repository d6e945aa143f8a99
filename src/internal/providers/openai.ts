/**
 * The OpenAI provider, built on `@effect/ai-openai` (the Responses API, `POST {apiUrl}/responses`). Loaded on
 * first use, so that programs that never call OpenAI never load its client.
 */
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Service } from "../../Provider.js"
import type { ServerLimits } from "./serverLimits.js"
import { makeStreamingService } from "./streamLanguageModel.js"
import { clientChecks } from "./transforms.js"
import { reportedUsage } from "./languageModel.js"
import { type CommonOptions, defaultTimeout } from "./shared.js"

/** Options of `Provider.openAi`. */
export interface OpenAiOptions extends CommonOptions {
  /** The API key, sent as a bearer token. */
  readonly apiKey: Redacted.Redacted<string>
  /** The API's base URL. Default: "https://api.openai.com/v1". */
  readonly apiUrl?: string | undefined
  readonly organizationId?: Redacted.Redacted<string> | undefined
  readonly projectId?: Redacted.Redacted<string> | undefined
}

export const name = "openai"
export const defaultModel = "gpt-4o-mini"

/** The provider, on the `HttpClient` of the environment; `server` learns the limits its replies report. */
export const make = (
  options: OpenAiOptions,
  server?: ServerLimits | undefined
): Effect.Effect<Service, never, Scope.Scope | HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const secrets = [options.apiKey, options.organizationId, options.projectId].flatMap((secret) =>
      secret === undefined ? [] : [Redacted.value(secret)]
    )
    const client = yield* OpenAiClient.make({
      apiKey: options.apiKey,
      apiUrl: options.apiUrl,
      organizationId: options.organizationId,
      projectId: options.projectId,
      transformClient: clientChecks(secrets, server)
    })
    const languageModel = yield* OpenAiLanguageModel.make({
      model: options.defaultModel ?? defaultModel,
      // Replies are not kept on OpenAI's side: every call is self-contained.
      config: { store: false }
    }).pipe(Effect.provideService(OpenAiClient.OpenAiClient, client))
    const defaultMaxTokens = options.maxTokens
    return makeStreamingService({
      name,
      defaultModel: options.defaultModel ?? defaultModel,
      timeout: options.timeout === undefined ? defaultTimeout : Duration.decode(options.timeout),
      secrets,
      languageModel,
      redactedHeaders: ["openai-organization", "openai-project"],
      configure: (self, call) => {
        const maxTokens = call.maxTokens ?? defaultMaxTokens
        return OpenAiLanguageModel.withConfigOverride(self, {
          model: call.model,
          ...(call.temperature === undefined ? {} : { temperature: call.temperature }),
          ...(maxTokens === undefined ? {} : { max_output_tokens: maxTokens }),
          ...(call.strict === undefined ? {} : { strict: call.strict })
        })
      },
      formatMode: "native",
      toolsWithNone: false,
      usage: (response) => reportedUsage(response.usage)
    })
  })
