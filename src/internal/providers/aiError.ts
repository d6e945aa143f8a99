/**
 * The bridge between `@effect/ai` and `ProviderError`: an `HttpClient` transform that makes every reply either
 * a readable JSON body or a failure that says what was wrong with it, and the mapping of `AiError`s.
 */
import type * as AiError from "@effect/ai/AiError"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { InvalidRequest, type ProviderError, Timeout, Unavailable } from "../../ProviderError.js"
import { excerpt, scrub } from "./redact.js"
import { malformedChunk } from "./streamChunks.js"
import {
  describeParseError,
  errorInReply,
  fromErrorReply,
  fromStatus,
  fromTransport,
  malformed,
  type Origin,
  parseJsonBody
} from "./shared.js"

/** Marks a body that could not be read because the connection dropped: transient, unlike a malformed one. */
export const droppedMarker = "connection dropped while reading the reply"

/** Marks a 2xx reply that reports an error; the scrubbed reply follows as JSON. */
export const errorReplyMarker = "the reply reports an error: "

/** Marks a chunk of a streamed reply that cannot be read: transient, since the next stream is a new one. */
export const malformedChunkMarker = "a chunk of the stream cannot be read: "

/** Whether a reply is a stream of events, whose body is read as it comes rather than whole. */
export const isEventStream = (response: HttpClientResponse.HttpClientResponse): boolean =>
  /\btext\/event-stream\b/i.test(response.headers["content-type"] ?? "")

const causeMessage = (cause: unknown): string =>
  Predicate.hasProperty(cause, "message") && typeof cause.message === "string" ? cause.message : String(cause)

/**
 * The failure for a reply: it carries a copy of the response whose body (`text`) and headers are scrubbed of
 * `secrets`, so that `@effect/ai`'s error (which may reach a tracer) never holds a key either.
 */
const failWith = (
  response: HttpClientResponse.HttpClientResponse,
  reason: "StatusCode" | "Decode",
  description: string,
  text: string,
  secrets: ReadonlyArray<string>
): Effect.Effect<never, HttpClientError.ResponseError> => {
  const status = response.status
  const headers = new globalThis.Headers()
  for (const [name, value] of Object.entries(response.headers)) headers.set(name, scrub(value, secrets))
  const body = status === 204 || status === 205 || status === 304 ? null : scrub(text, secrets)
  const copy = HttpClientResponse.fromWeb(response.request, new Response(body, { status, headers }))
  return Effect.fail(
    new HttpClientError.ResponseError({ request: response.request, response: copy, reason, description })
  )
}

const checkBody = (
  response: HttpClientResponse.HttpClientResponse,
  secrets: ReadonlyArray<string>
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.ResponseError> =>
  // A successful stream is checked event by event as it is read (see `transforms.ts`).
  response.status >= 200 && response.status < 300 && isEventStream(response) ? Effect.succeed(response) :
  Effect.matchEffect(response.text, {
    onFailure: (error) =>
      failWith(response, "Decode", `${droppedMarker}: ${excerpt(causeMessage(error.cause), secrets)}`, "", secrets),
    onSuccess: (text) => {
      // The whole body, scrubbed: the error mapping takes the provider's words from it.
      if (response.status < 200 || response.status >= 300) {
        return failWith(response, "StatusCode", scrub(text, secrets), text, secrets)
      }
      const parsed = parseJsonBody(response.headers["content-type"], text, secrets)
      if (!parsed.ok) return failWith(response, "Decode", parsed.error, text, secrets)
      const reported = errorInReply(parsed.value)
      if (reported === undefined) return Effect.succeed(response)
      return failWith(
        response,
        "Decode",
        `${errorReplyMarker}${scrub(JSON.stringify(reported), secrets)}`,
        text,
        secrets
      )
    }
  })

/**
 * Fails every reply that is not 2xx with its status and its body (whatever its content type), every 2xx reply
 * whose body is not JSON with a description of what it was, and every 2xx reply that reports an error with
 * that error. Every body and description it keeps is scrubbed of `secrets`. The body text is cached by the
 * response, so the client's own decoding reads it again for free.
 */
export const strictJson = (secrets: ReadonlyArray<string>) => (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  client.pipe(HttpClient.transformResponse(Effect.flatMap((response) => checkBody(response, secrets))))

const decodeReported = Schema.decodeUnknownOption(Schema.parseJson())

const reportedError = (json: string): { readonly message: string; readonly kind: string | undefined } => {
  const value = Option.getOrUndefined(decodeReported(json))
  return {
    message: Predicate.hasProperty(value, "message") && typeof value.message === "string"
      ? value.message
      : "the reply reports an error",
    kind: Predicate.hasProperty(value, "kind") && typeof value.kind === "string" ? value.kind : undefined
  }
}

/** The `ProviderError` for an `AiError` of a call. */
export const fromAiError = (
  origin: Origin,
  error: AiError.AiError,
  nowMillis: number,
  secrets: ReadonlyArray<string>
): ProviderError => {
  switch (error._tag) {
    case "HttpResponseError": {
      const headers = error.response.headers
      const status = error.response.status
      if (error.reason === "StatusCode") {
        return fromStatus(origin, status, (name) => headers[name], error.description ?? error.body, nowMillis, secrets)
      }
      const description = error.description ?? (error.reason === "EmptyBody" ? "the body is empty" : "undecodable body")
      if (description.startsWith(droppedMarker)) {
        const detail = excerpt(description, secrets)
        return new Timeout({ provider: origin.provider, model: origin.model, status, detail })
      }
      if (description.startsWith(errorReplyMarker)) {
        return fromErrorReply(origin, status, reportedError(description.slice(errorReplyMarker.length)), secrets)
      }
      if (description.startsWith(malformedChunkMarker)) return malformedChunk(origin, status, description, secrets)
      return malformed(origin, description, secrets, status)
    }
    case "HttpRequestError": {
      if (error.reason === "Transport") return fromTransport(origin, error.cause, secrets)
      return new InvalidRequest({
        provider: origin.provider,
        model: origin.model,
        detail: excerpt(
          `${error.reason === "InvalidUrl" ? "invalid URL" : "the request could not be encoded"}${
            error.description === undefined ? "" : `: ${error.description}`
          }`,
          secrets
        )
      })
    }
    case "MalformedOutput": {
      const detail = ParseResult.isParseError(error.cause)
        ? `the reply does not match the API's format: ${describeParseError(error.cause)}`
        : error.description ?? "the reply does not match the API's format"
      return malformed(origin, detail, secrets)
    }
    case "MalformedInput":
      return new InvalidRequest({
        provider: origin.provider,
        model: origin.model,
        detail: excerpt(error.description ?? "the request could not be built", secrets)
      })
    case "UnknownError":
      return new Unavailable({
        provider: origin.provider,
        model: origin.model,
        detail: excerpt(error.description ?? "unknown error", secrets)
      })
  }
}
