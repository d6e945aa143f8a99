/**
 * `HttpClient` transforms of the `@effect/ai` providers: one that checks a streamed reply event by event as it
 * is read, and one that hands every reply's rate-limit headers to the provider's limits.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { droppedMarker, errorReplyMarker, isEventStream, malformedChunkMarker, strictJson } from "./aiError.js"
import { excerpt, scrub } from "./redact.js"
import type { ServerLimits } from "./serverLimits.js"
import { errorInReply } from "./shared.js"
import { makeSseParser } from "./sse.js"

const decodeJson = Schema.decodeUnknownOption(Schema.parseJson())

const causeMessage = (cause: unknown): string =>
  Predicate.hasProperty(cause, "message") && typeof cause.message === "string" ? cause.message : String(cause)

/**
 * The error an event of a stream reports, if any: OpenAI's `error` event (`code`, `message`) and
 * `response.failed` (its `response.error`), Anthropic's `error` event (`error.type`, `error.message`), and
 * an `error` object in a chat completions chunk (vLLM, Ollama).
 */
export const reportedInEvent = (
  value: unknown
): { readonly message: string; readonly kind: string | undefined } | undefined => {
  if (!Predicate.hasProperty(value, "type")) return errorInReply(value)
  if (value.type === "response.failed") {
    const response = Predicate.hasProperty(value, "response") ? value.response : undefined
    return errorInReply(response) ?? { message: "the response failed", kind: undefined }
  }
  if (value.type !== "error") return undefined
  const nested = errorInReply(value)
  if (nested !== undefined) return nested
  const message = Predicate.hasProperty(value, "message") && typeof value.message === "string" ? value.message : ""
  const code = Predicate.hasProperty(value, "code") && typeof value.code === "string" ? value.code : undefined
  return { message: message === "" ? "the stream reports an error" : message, kind: code }
}

/**
 * A copy of `response` whose body stream is `stream`. (`HttpClientResponse` has no constructor besides
 * `fromWeb`; the copy inherits everything else from the response itself.)
 */
const withStream = (
  response: HttpClientResponse.HttpClientResponse,
  stream: Stream.Stream<Uint8Array, HttpClientError.ResponseError>
): HttpClientResponse.HttpClientResponse => Object.create(response, { stream: { value: stream } })

/**
 * Checks each event of a successful event stream as it is read, and ends the body with a failure the error
 * mapping understands: an event whose data is not JSON (a malformed chunk), an event that reports an error,
 * or a connection that drops mid-stream. The bytes themselves pass on unchanged. Everything kept from the
 * stream is scrubbed of `secrets`.
 */
export const checkEventStream = (secrets: ReadonlyArray<string>) => (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.transformResponse(client, Effect.map((response) => {
    if (response.status < 200 || response.status >= 300 || !isEventStream(response)) return response
    const fail = (description: string) =>
      new HttpClientError.ResponseError({ request: response.request, response, reason: "Decode", description })
    const parser = makeSseParser()
    const decoder = new TextDecoder()
    const check = (bytes: Uint8Array): Effect.Effect<void, HttpClientError.ResponseError> => {
      for (const event of parser.push(decoder.decode(bytes, { stream: true }))) {
        if (event.data === "[DONE]") continue
        const json = decodeJson(event.data)
        if (Option.isNone(json)) {
          return Effect.fail(fail(`${malformedChunkMarker}${excerpt(event.data, secrets, 200)}`))
        }
        const reported = reportedInEvent(json.value)
        if (reported !== undefined) {
          return Effect.fail(fail(`${errorReplyMarker}${scrub(JSON.stringify(reported), secrets)}`))
        }
      }
      return Effect.void
    }
    const body = response.stream.pipe(
      Stream.mapError((error) => fail(`${droppedMarker}: ${excerpt(causeMessage(error.cause), secrets)}`)),
      Stream.tap(check)
    )
    return withStream(response, body)
  }))

/** Hands every reply's headers, whatever its status, to `server`. */
export const observeLimits = (server: ServerLimits) => (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.tap(client, (response) =>
    Effect.clockWith((clock) =>
      Effect.map(clock.currentTimeMillis, (now) => server.observe(response.headers, now))
    ))

/**
 * Every transform of the `@effect/ai` clients, innermost first: the limits a reply reports are read from
 * every reply, then non-streamed replies are checked whole and streamed ones event by event.
 */
export const clientChecks = (secrets: ReadonlyArray<string>, server: ServerLimits | undefined) =>
(client: HttpClient.HttpClient): HttpClient.HttpClient => {
  const observed = server === undefined ? client : observeLimits(server)(client)
  return checkEventStream(secrets)(strictJson(secrets)(observed))
}
