/**
 * A small client for OpenAI-compatible chat completions servers (`POST {baseUrl}/chat/completions`): Ollama,
 * vLLM, llama.cpp's server, LM Studio. Loaded on first use.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Completion, CompletionRequest, Message, Service } from "../../Provider.js"
import { InvalidRequest, type ProviderError } from "../../ProviderError.js"
import {
  type CommonOptions,
  defaultTimeout,
  describeParseError,
  errorInReply,
  fromErrorReply,
  fromStatus,
  fromTransport,
  malformed,
  type Origin,
  parseJsonBody,
  requestMessages,
  resolveModel,
  usageOf,
  withTimeout
} from "./shared.js"
import { toolCallsOf, WireToolCalls, wireMessages, wireOptions } from "./chatTools.js"
import { excerpt } from "./redact.js"
import type { ServerLimits } from "./serverLimits.js"
import { makeCompatibleStream } from "./streamCompatible.js"
import { observeLimits } from "./transforms.js"

/** Options of `Provider.openAiCompatible`. */
export interface OpenAiCompatibleOptions extends CommonOptions {
  /** The server's base URL, the part before "/chat/completions": "http://localhost:11434/v1" for Ollama. */
  readonly baseUrl: string
  /** Sent as a bearer token when given; local servers usually need none. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** The provider's name in messages and the model prefix it answers to. Default: "local". */
  readonly name?: string | undefined
}

export const defaultName = "local"
export const defaultModel = "llama3.1"

const Count = Schema.NullishOr(Schema.NonNegativeInt)

/** The part of a chat completion the library reads. Servers add more; it is ignored. */
const ChatCompletion = Schema.Struct({
  model: Schema.optional(Schema.NullOr(Schema.String)),
  choices: Schema.NonEmptyArray(Schema.Struct({
    message: Schema.Struct({ content: Schema.NullishOr(Schema.String), tool_calls: Schema.optional(WireToolCalls) })
  })),
  usage: Schema.optional(Schema.NullOr(Schema.Struct({
    prompt_tokens: Schema.optional(Count),
    completion_tokens: Schema.optional(Count),
    prompt_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({ cached_tokens: Schema.optional(Count) })))
  })))
})

const decodeCompletion = Schema.decodeUnknownEither(ChatCompletion)

const body = (model: string, request: CompletionRequest, messages: ReadonlyArray<Message>, maxTokens?: number) => {
  return {
    model,
    messages: wireMessages(request, messages),
    ...wireOptions(request),
    stream: false,
    ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature })
  }
}

/** The client, on the `HttpClient` of the environment; `server` learns the limits its replies report. */
export const make = (
  options: OpenAiCompatibleOptions,
  server?: ServerLimits | undefined
): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const name = options.name ?? defaultName
    const defaultModelOf = options.defaultModel ?? defaultModel
    const timeout = options.timeout === undefined ? defaultTimeout : Duration.decode(options.timeout)
    const secrets = options.apiKey === undefined ? [] : [Redacted.value(options.apiKey)]
    const url = `${options.baseUrl.replace(/\/+$/, "")}/chat/completions`
    const apiKey = options.apiKey
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((request) =>
        request.pipe(
          apiKey === undefined ? identity : HttpClientRequest.bearerToken(apiKey),
          HttpClientRequest.acceptJson
        )
      ),
      server === undefined ? identity : observeLimits(server)
    )

    const read = (
      origin: Origin,
      request: CompletionRequest,
      messages: ReadonlyArray<Message>,
      response: HttpClientResponse.HttpClientResponse
    ): Effect.Effect<Completion, ProviderError> =>
      Effect.matchEffect(response.text, {
        onFailure: (error: HttpClientError.ResponseError) => Effect.fail(fromTransport(origin, error.cause, secrets)),
        onSuccess: (text) => {
          if (response.status < 200 || response.status >= 300) {
            return Effect.flatMap(Clock.currentTimeMillis, (now) =>
              Effect.fail(
                fromStatus(origin, response.status, (header) => response.headers[header], text, now, secrets)
              ))
          }
          const json = parseJsonBody(response.headers["content-type"], text, secrets)
          if (!json.ok) return Effect.fail(malformed(origin, json.error, secrets, response.status))
          const reported = errorInReply(json.value)
          if (reported !== undefined) return Effect.fail(fromErrorReply(origin, response.status, reported, secrets))
          const decoded = decodeCompletion(json.value)
          if (decoded._tag === "Left") {
            return Effect.fail(malformed(
              origin,
              `the reply is not a chat completion: ${describeParseError(decoded.left)}`,
              secrets,
              response.status
            ))
          }
          const reply = decoded.right
          const content = reply.choices[0].message.content ?? ""
          const usage = reply.usage ?? undefined
          const toolCalls = toolCallsOf(reply.choices[0].message.tool_calls, secrets)
          return Effect.succeed({
            content,
            ...(toolCalls === undefined ? {} : { toolCalls }),
            model: reply.model ?? origin.model,
            usage: usageOf(
              usage === undefined
                ? undefined
                : {
                  inputTokens: usage.prompt_tokens ?? undefined,
                  outputTokens: usage.completion_tokens ?? undefined,
                  cachedInputTokens: usage.prompt_tokens_details?.cached_tokens ?? undefined
                },
              request,
              messages,
              content
            )
          })
        }
      })

    /** No reply: a transport failure, or a URL that is not one (a permanent mistake of the configuration). */
    const requestFailed = (origin: Origin, error: HttpClientError.HttpClientError): ProviderError => {
      if (error._tag === "RequestError" && error.reason !== "Transport") {
        const what = error.reason === "InvalidUrl" ? "invalid URL" : "unencodable request"
        return new InvalidRequest({ ...origin, detail: excerpt(`${what}: ${url}`, secrets) })
      }
      return fromTransport(origin, error.cause, secrets)
    }

    const complete = (request: CompletionRequest): Effect.Effect<Completion, ProviderError> => {
      const resolved = resolveModel(name, request.model, defaultModelOf)
      if (!resolved.ok) return Effect.fail(resolved.error)
      const model = resolved.value
      const messages = requestMessages(name, model, request)
      if (!messages.ok) return Effect.fail(messages.error)
      const origin = { provider: name, model }
      const http = HttpClientRequest.post(url).pipe(
        HttpClientRequest.bodyUnsafeJson(body(model, request, messages.value, request.maxTokens ?? options.maxTokens))
      )
      const call = Effect.matchEffect(client.execute(http), {
        onFailure: (error) => Effect.fail(requestFailed(origin, error)),
        onSuccess: (response) => read(origin, request, messages.value, response)
      })
      return withTimeout(call, origin, timeout)
    }

    const stream = makeCompatibleStream({
      name,
      defaultModel: defaultModelOf,
      url,
      client,
      secrets,
      timeout,
      maxTokens: options.maxTokens,
      body,
      read,
      requestFailed
    })
    return { name, defaultModel: defaultModelOf, complete, stream }
  })
