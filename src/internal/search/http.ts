/**
 * What the source clients share: one GET with a time bound, the classification of error responses (rate
 * limits from each API's own headers), and decoding a body with a Schema into a typed error when it does not
 * fit.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import {
  type SearchError,
  SearchHttpError,
  SearchMalformedResponse,
  SearchRateLimited,
  SearchUnreachable,
  type SourceName
} from "./model.js"
import { collapse, epochMillis, htmlText, truncate } from "./text.js"

/** What every client is given. */
export interface ClientOptions {
  readonly userAgent: string
  /** The bound on one request, body included. */
  readonly timeout: Duration.DurationInput
}

/** A response as the clients read it. */
export interface Fetched {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

/** GETs `url` with `params` and reads the body; a failure to get any response is `SearchUnreachable`. */
export const get = (
  client: HttpClient.HttpClient,
  source: SourceName,
  options: ClientOptions,
  url: string,
  params: Readonly<Record<string, string>>,
  headers: Readonly<Record<string, string>> = {}
): Effect.Effect<Fetched, SearchUnreachable> =>
  client.execute(
    HttpClientRequest.get(url).pipe(
      HttpClientRequest.setUrlParams(params),
      HttpClientRequest.setHeaders({ "user-agent": options.userAgent, ...headers })
    )
  ).pipe(
    Effect.flatMap((response) =>
      Effect.map(response.text, (body): Fetched => ({ status: response.status, headers: response.headers, body }))
    ),
    Effect.catchTag("RequestError", "ResponseError", (error) =>
      Effect.fail(new SearchUnreachable({ source, detail: `${error.reason}: ${error.description ?? error.message}` }))),
    Effect.timeoutFail({
      duration: options.timeout,
      onTimeout: () => new SearchUnreachable({ source, detail: `no response within ${Duration.format(options.timeout)}` })
    })
  )

const integer = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined
  return Number(value)
}

/** `retry-after`: seconds, or an HTTP date. */
const retryAfterMillis = (value: string | undefined, now: number): number | undefined => {
  const seconds = integer(value)
  if (seconds !== undefined) return seconds * 1000
  const date = epochMillis(value)
  return date === undefined ? undefined : Math.max(0, date - now)
}

/** `x-ratelimit-reset`: epoch seconds (GitHub, Algolia), epoch milliseconds, or seconds from now. */
const resetMillis = (value: string | undefined, now: number): number | undefined => {
  const n = integer(value)
  if (n === undefined) return undefined
  if (n >= 1e12) return n
  if (n >= 1e9) return n * 1000
  return now + n * 1000
}

/** The rate-limit error of a response, its times read from the API's own headers. */
export const rateLimited = (source: SourceName, fetched: Fetched, now: number): SearchRateLimited => {
  const h = fetched.headers
  const after = retryAfterMillis(h["retry-after"], now)
  const reset = resetMillis(h["x-ratelimit-reset"] ?? h["ratelimit-reset"], now)
  const retryAfter = after ?? (reset === undefined ? undefined : Math.max(0, reset - now))
  const resetAt = reset ?? (after === undefined ? undefined : now + after)
  const limit = integer(h["x-ratelimit-limit"] ?? h["ratelimit-limit"])
  const remaining = integer(h["x-ratelimit-remaining"] ?? h["ratelimit-remaining"])
  return new SearchRateLimited({
    source,
    status: fetched.status,
    detail: detailOf(fetched.body),
    ...(retryAfter === undefined ? {} : { retryAfter: Duration.millis(retryAfter) }),
    ...(resetAt === undefined ? {} : { resetAt: DateTime.unsafeMake(resetAt) }),
    ...(limit === undefined ? {} : { limit }),
    ...(remaining === undefined ? {} : { remaining })
  })
}

const isRateLimit = (fetched: Fetched): boolean => {
  if (fetched.status === 429) return true
  const said = /rate limit|rate exceeded|too many requests/i.test(fetched.body)
  if (fetched.status === 403) {
    return fetched.headers["x-ratelimit-remaining"]?.trim() === "0" || fetched.headers["retry-after"] !== undefined || said
  }
  return fetched.status === 503 && said
}

/** The error message an API put in its error body: JSON `message`/`detail`/…, or the text itself. */
export const detailOf = (body: string): string => {
  const json = Either.getOrUndefined(Schema.decodeUnknownEither(Schema.parseJson(ErrorBody))(body))
  const message = json?.message ?? json?.detail ?? json?.messageTranslations?.en ?? json?.title ?? json?.httpReason
  if (message !== undefined) return truncate(collapse(message), 300)
  return truncate(/^\s*</.test(body) ? htmlText(body) : collapse(body), 300)
}

const ErrorBody = Schema.Struct({
  message: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String),
  title: Schema.optional(Schema.String),
  httpReason: Schema.optional(Schema.String),
  messageTranslations: Schema.optional(Schema.Struct({ en: Schema.optional(Schema.String) }))
})

/** The body of a 2xx response, or the typed error of any other. */
export const okBody = (source: SourceName, fetched: Fetched): Effect.Effect<string, SearchError> => {
  if (fetched.status >= 200 && fetched.status < 300) return Effect.succeed(fetched.body)
  if (isRateLimit(fetched)) return Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.fail(rateLimited(source, fetched, now)))
  return Effect.fail(new SearchHttpError({ source, status: fetched.status, detail: detailOf(fetched.body) }))
}

/** Decodes a JSON body with the API's response schema. */
export const decodeJson = <A, I>(
  source: SourceName,
  schema: Schema.Schema<A, I>,
  fetched: Fetched,
  body: string
): Effect.Effect<A, SearchMalformedResponse> =>
  Schema.decodeUnknown(Schema.parseJson(schema))(body).pipe(
    Effect.mapError((error) => malformed(source, fetched, error))
  )

/** A `SearchMalformedResponse` naming what did not fit. */
export const malformed = (
  source: SourceName,
  fetched: Fetched,
  problem: ParseResult.ParseError | string
): SearchMalformedResponse =>
  new SearchMalformedResponse({
    source,
    status: fetched.status,
    detail: truncate(
      collapse(typeof problem === "string" ? problem : ParseResult.TreeFormatter.formatErrorSync(problem)),
      400
    )
  })
