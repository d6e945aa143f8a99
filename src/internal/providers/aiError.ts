/**
 * The bridge between `@effect/ai` and `ProviderError`: an `HttpClient` transform that makes every reply either
 * a readable JSON body or a failure that says what was wrong with it, and the mapping of `AiError`s.
 */
import type * as AiError from "@effect/ai/AiError"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import { InvalidRequest, type ProviderError, Timeout, Unavailable } from "../../ProviderError.js"
import {
  describeParseError,
  fromStatus,
  fromTransport,
  malformed,
  type Origin,
  parseJsonBody,
  scrub
} from "./shared.js"

/** Marks a body that could not be read because the connection dropped: transient, unlike a malformed one. */
const droppedMarker = "connection dropped while reading the reply"

const causeMessage = (cause: unknown): string =>
  Predicate.hasProperty(cause, "message") && typeof cause.message === "string" ? cause.message : String(cause)

const checkBody = (
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.ResponseError> =>
  Effect.matchEffect(response.text, {
    onFailure: (error) =>
      Effect.fail(
        new HttpClientError.ResponseError({
          request: response.request,
          response,
          reason: "Decode",
          description: `${droppedMarker}: ${causeMessage(error.cause)}`
        })
      ),
    onSuccess: (text) => {
      const parsed = parseJsonBody(response.headers["content-type"], text)
      if (parsed.ok) return Effect.succeed(response)
      return Effect.fail(
        new HttpClientError.ResponseError({
          request: response.request,
          response,
          reason: "Decode",
          description: parsed.error
        })
      )
    }
  })

/**
 * Fails every reply that is not 2xx with its status (whatever its body), and every 2xx reply whose body is not
 * JSON with a description of what it was. The body text is cached by the response, so the client's own
 * decoding reads it again for free.
 */
export const strictJson = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  client.pipe(
    HttpClient.filterStatusOk,
    HttpClient.transformResponse(Effect.flatMap(checkBody))
  )

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
        return fromStatus(origin, status, (name) => headers[name], error.body, nowMillis, secrets)
      }
      const description = error.description ?? (error.reason === "EmptyBody" ? "the body is empty" : "undecodable body")
      if (description.startsWith(droppedMarker)) {
        const detail = scrub(description, secrets)
        return new Timeout({ provider: origin.provider, model: origin.model, status, detail })
      }
      return malformed(origin, description, secrets, status)
    }
    case "HttpRequestError": {
      if (error.reason === "Transport") return fromTransport(origin, error.cause, secrets)
      return new InvalidRequest({
        provider: origin.provider,
        model: origin.model,
        detail: scrub(`${error.reason === "InvalidUrl" ? "invalid URL" : "the request could not be encoded"}${
          error.description === undefined ? "" : `: ${error.description}`
        }`, secrets)
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
        detail: scrub(error.description ?? "the request could not be built", secrets)
      })
    case "UnknownError":
      return new Unavailable({
        provider: origin.provider,
        model: origin.model,
        detail: scrub(error.description ?? "unknown error", secrets)
      })
  }
}
