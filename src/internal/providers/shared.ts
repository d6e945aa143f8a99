/**
 * What every HTTP provider shares: options, model ids with a provider prefix, the mapping of HTTP statuses
 * and transport failures to `ProviderError`, `Retry-After`, usage normalisation and the per-call time bound.
 * Depends on `effect` only, so that loading it costs nothing for users of the simulated provider.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { Completion, CompletionRequest, Message } from "../../Provider.js"
import {
  Authentication,
  InvalidRequest,
  MalformedResponse,
  type ProviderError,
  RateLimited,
  Timeout,
  Unavailable
} from "../../ProviderError.js"
import { estimateTokens, type Usage } from "../../Usage.js"
import { excerpt, oneLine, scrub } from "./redact.js"

// ============================================================================================================
// Options
// ============================================================================================================

/** Limits that hold for every call made through one provider layer. */
export interface LimitOptions {
  /** The most calls in flight at once. */
  readonly concurrency?: number | undefined
  /** The most calls started per minute (a token bucket: a full minute's worth may start at once). */
  readonly requestsPerMinute?: number | undefined
  /**
   * The most tokens per minute, counted before each call as its estimated prompt tokens plus its `maxTokens`
   * (a token bucket, like the providers' own limits).
   */
  readonly tokensPerMinute?: number | undefined
}

/** Options every HTTP provider takes. */
export interface CommonOptions extends LimitOptions {
  /** The model of requests that name none. */
  readonly defaultModel?: string | undefined
  /** The time bound of one HTTP call; past it the call fails with `ProviderError.Timeout`. Default: 2 minutes. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The `maxTokens` of requests that name none. */
  readonly maxTokens?: number | undefined
}

export const defaultTimeout: Duration.Duration = Duration.minutes(2)

// ============================================================================================================
// Models
// ============================================================================================================

/** Provider names that may prefix a model id ("openai:gpt-4o"). */
export const knownPrefixes: ReadonlySet<string> = new Set(["openai", "anthropic", "local"])

/**
 * The model a provider named `name` should send: the requested one (or the default) without the provider's own
 * prefix, or an `InvalidRequest` when the prefix names another well-known provider. Other colons are kept:
 * "llama3.1:8b" is an Ollama tag, not a prefix.
 */
export const resolveModel = (
  name: string,
  requested: string | undefined,
  defaultModel: string
): Either<string, InvalidRequest> => {
  const model = requested ?? defaultModel
  const colon = model.indexOf(":")
  if (colon <= 0) return { ok: true, value: model }
  const prefix = model.slice(0, colon).toLowerCase()
  if (prefix === name.toLowerCase()) return { ok: true, value: model.slice(colon + 1) }
  if (knownPrefixes.has(prefix)) {
    return {
      ok: false,
      error: new InvalidRequest({
        provider: name,
        model,
        detail: `the model belongs to the "${prefix}" provider; combine providers with Provider.router`
      })
    }
  }
  return { ok: true, value: model }
}

/** A small result type for the synchronous checks of a call, cheaper than an Effect. */
export type Either<A, E> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: E }

/** The messages of a request (its `messages`, then `prompt`), or an `InvalidRequest` when there are none. */
export const requestMessages = (
  provider: string,
  model: string,
  request: CompletionRequest
): Either<ReadonlyArray<Message>, InvalidRequest> => {
  const messages = request.messages ?? []
  const all: ReadonlyArray<Message> = request.prompt === undefined
    ? messages
    : [...messages, { role: "user", content: request.prompt }]
  return all.length === 0
    ? { ok: false, error: new InvalidRequest({ provider, model, detail: "the request has no prompt and no messages" }) }
    : { ok: true, value: all }
}

// ============================================================================================================
// Usage
// ============================================================================================================

/** The text a request sends, for estimates. */
const promptText = (request: CompletionRequest, messages: ReadonlyArray<Message>): string => {
  let text = request.system ?? ""
  for (const message of messages) text += message.content
  return text
}

/** Reported token counts in the library's terms: input includes cache reads and cache writes. */
export interface ReportedUsage {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly cachedInputTokens?: number | undefined
  readonly cacheWriteInputTokens?: number | undefined
}

const count = (n: number | undefined): number | undefined =>
  n === undefined || !Number.isFinite(n) || n < 0 ? undefined : Math.round(n)

/**
 * The usage of a call: the provider's counts where it reported them, estimated from text length (and marked
 * `estimated`) where it did not. Cache reads and writes are parts of the input, never more than all of it.
 */
export const usageOf = (
  reported: ReportedUsage | undefined,
  request: CompletionRequest,
  messages: ReadonlyArray<Message>,
  content: string
): Usage => {
  const input = count(reported?.inputTokens)
  const output = count(reported?.outputTokens)
  const cached = count(reported?.cachedInputTokens)
  const written = count(reported?.cacheWriteInputTokens)
  const usage: { -readonly [K in keyof Usage]: Usage[K] } = {
    inputTokens: input ?? estimateTokens(promptText(request, messages)),
    outputTokens: output ?? estimateTokens(content)
  }
  if (cached !== undefined && cached > 0) usage.cachedInputTokens = Math.min(cached, usage.inputTokens)
  if (written !== undefined && written > 0) {
    usage.cacheWriteInputTokens = Math.min(written, usage.inputTokens - (usage.cachedInputTokens ?? 0))
  }
  if (input === undefined || output === undefined) usage.estimated = true
  return usage
}

/** What a call will cost against a tokens-per-minute limit, before it is made. */
export const plannedTokens = (request: CompletionRequest, defaultMaxTokens: number | undefined): number => {
  let chars = request.system?.length ?? 0
  for (const message of request.messages ?? []) chars += message.content.length
  if (request.prompt !== undefined) chars += request.prompt.length
  return Math.ceil(chars / 4) + (request.maxTokens ?? defaultMaxTokens ?? 0)
}

// ============================================================================================================
// Errors
// ============================================================================================================

/** Who failed, for the error: the provider and the model sent. */
export interface Origin {
  readonly provider: string
  readonly model: string
}

const decodeJson = Schema.decodeUnknownOption(Schema.parseJson())

const stringAt = (u: unknown, key: string): string | undefined =>
  Predicate.hasProperty(u, key) && typeof u[key] === "string" ? u[key] : undefined

/** The message of a parsed error body: `error.message`, `error` as a string, `message` or `detail`. */
const messageIn = (value: unknown): string | undefined => {
  if (typeof value === "string") return value
  const error = Predicate.hasProperty(value, "error") ? value.error : undefined
  return stringAt(error, "message") ?? (typeof error === "string" ? error : undefined) ??
    stringAt(value, "message") ?? stringAt(value, "detail")
}

/**
 * The provider's own words from an error body, scrubbed of `secrets`: `error.message` (OpenAI, Anthropic,
 * vLLM), `error` as a string (Ollama), `message` or `detail`; otherwise the text itself. On one line and cut
 * short, after scrubbing.
 */
export const errorMessageOf = (body: string | undefined, secrets: ReadonlyArray<string>): string | undefined => {
  if (body === undefined || body.trim() === "") return undefined
  const clean = scrub(body, secrets)
  const json = decodeJson(clean)
  const message = Option.isSome(json) ? messageIn(json.value) : undefined
  return message === undefined || message.trim() === "" ? oneLine(clean) : excerpt(message, secrets)
}

/**
 * The error a successful (2xx) reply reports instead of an answer, if any: a non-null `error` with a message
 * (OpenAI's failed responses, servers that answer 200 with an error object), with its `type` or `code`.
 */
export const errorInReply = (
  value: unknown
): { readonly message: string; readonly kind: string | undefined } | undefined => {
  if (!Predicate.hasProperty(value, "error")) return undefined
  const error = value.error
  if (typeof error === "string" && error.trim() !== "") return { message: error, kind: undefined }
  const message = stringAt(error, "message")
  if (message === undefined || message.trim() === "") return undefined
  return { message, kind: stringAt(error, "type") ?? stringAt(error, "code") }
}

/**
 * The error for a 2xx reply that reports an error (see `errorInReply`), classified by its type or code: rate
 * limits, authentication, invalid requests; anything else is the server failing, transient. Its detail is
 * the reply's own message.
 */
export const fromErrorReply = (
  origin: Origin,
  status: number,
  reported: { readonly message: string; readonly kind: string | undefined },
  secrets: ReadonlyArray<string>
): ProviderError => {
  const kind = reported.kind?.toLowerCase() ?? ""
  const fields = { provider: origin.provider, model: origin.model, status, detail: excerpt(reported.message, secrets) }
  if (kind.includes("rate_limit")) return new RateLimited(fields)
  if (/auth|permission|api_key/.test(kind)) return new Authentication(fields)
  if (/invalid|not_found|unsupported|context_length|too_long/.test(kind)) return new InvalidRequest(fields)
  return new Unavailable(fields)
}

/**
 * How long a 429 asks to wait: `retry-after-ms`, else `Retry-After` in seconds or as an HTTP date (measured
 * from `nowMillis`, the Clock's time).
 */
export const retryAfterOf = (
  header: (name: string) => string | undefined,
  nowMillis: number
): Duration.Duration | undefined => {
  const millis = header("retry-after-ms")?.trim()
  if (millis !== undefined && /^\d+(?:\.\d+)?$/.test(millis)) return Duration.millis(Math.ceil(Number(millis)))
  const value = header("retry-after")?.trim()
  if (value === undefined || value === "") return undefined
  if (/^\d+(?:\.\d+)?$/.test(value)) return Duration.millis(Math.ceil(Number(value) * 1000))
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Duration.millis(Math.max(0, date - nowMillis))
}

/**
 * The error for an HTTP status other than 2xx: 429 rate limited; 408 timeout; 5xx and Anthropic's 529
 * unavailable; 401 and 403 authentication; other 4xx invalid request.
 */
export const fromStatus = (
  origin: Origin,
  status: number,
  header: (name: string) => string | undefined,
  body: string | undefined,
  nowMillis: number,
  secrets: ReadonlyArray<string>
): ProviderError => {
  const said = errorMessageOf(body, secrets)
  const fields = {
    provider: origin.provider,
    model: origin.model,
    status,
    ...(said === undefined ? {} : { detail: said })
  }
  if (status === 429) {
    const retryAfter = retryAfterOf(header, nowMillis)
    return new RateLimited(retryAfter === undefined ? fields : { ...fields, retryAfter })
  }
  if (status === 408) return new Timeout(fields)
  if (status === 401 || status === 403) return new Authentication(fields)
  if (status >= 500) return new Unavailable(fields)
  if (status >= 400) return new InvalidRequest(fields)
  return new MalformedResponse({ ...fields, detail: `unexpected HTTP status ${status}` })
}

const timeoutCodes = new Set([
  "ETIMEDOUT",
  "ECONNRESET",
  "EPIPE",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED"
])

const dnsCodes = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME"])

/** The `code`s and messages along an error's `cause` chain, outermost first. */
const causeChain = (error: unknown): Array<{ readonly code?: string; readonly message?: string }> => {
  const chain: Array<{ readonly code?: string; readonly message?: string }> = []
  let current: unknown = error
  for (let depth = 0; depth < 8 && Predicate.isObject(current); depth++) {
    const code = stringAt(current, "code")
    const message = stringAt(current, "message")
    chain.push({ ...(code === undefined ? {} : { code }), ...(message === undefined ? {} : { message }) })
    current = Predicate.hasProperty(current, "cause") ? current.cause : undefined
  }
  return chain
}

/**
 * The error for a request that got no HTTP reply: a dropped connection or a transport time-out is a
 * `Timeout`; a failed DNS lookup, a refused connection or anything else is `Unavailable`. Both are transient.
 */
export const fromTransport = (origin: Origin, cause: unknown, secrets: ReadonlyArray<string>): ProviderError => {
  const chain = causeChain(cause)
  const code = chain.map((link) => link.code).find((c) => c !== undefined && /^[A-Z_]+$/.test(c))
  const innermost = chain.map((link) => link.message).filter(Predicate.isNotUndefined).at(-1)
  const words = code === undefined
    ? "the request failed"
    : dnsCodes.has(code)
    ? "DNS lookup failed"
    : code === "ECONNREFUSED"
    ? "connection refused"
    : timeoutCodes.has(code)
    ? "the connection dropped before a reply"
    : "the request failed"
  const label = code === undefined ? words : `${words} (${code})`
  const said = innermost === undefined || innermost === code || innermost === "fetch failed"
    ? label
    : `${label}: ${innermost}`
  const detail = excerpt(said, secrets)
  const fields = { provider: origin.provider, model: origin.model, detail }
  return code !== undefined && timeoutCodes.has(code) ? new Timeout(fields) : new Unavailable(fields)
}

/** A reply that could not be read, saying what was wrong with it. */
export const malformed = (origin: Origin, detail: string, secrets: ReadonlyArray<string>, status?: number) =>
  new MalformedResponse({
    provider: origin.provider,
    model: origin.model,
    ...(status === undefined ? {} : { status }),
    detail: excerpt(detail, secrets, 500)
  })

/** What a Schema decoding failure found, path by path, in one line. */
export const describeParseError = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const seen = new Set<string>()
  const parts: Array<string> = []
  for (const issue of issues) {
    const path = issue.path.length === 0 ? "the body" : issue.path.map(String).join(".")
    if (seen.has(path)) continue
    seen.add(path)
    parts.push(`${path}: ${issue.message}`)
    if (parts.length === 3) break
  }
  return parts.join("; ")
}

/**
 * A JSON body's text checked and parsed: a content type other than JSON, or text that does not parse (say,
 * cut short), is described for a `MalformedResponse`, with excerpts of the body scrubbed of `secrets`.
 */
export const parseJsonBody = (
  contentType: string | undefined,
  text: string,
  secrets: ReadonlyArray<string>
): Either<unknown, string> => {
  if (contentType === undefined || !/\bjson\b/i.test(contentType)) {
    return {
      ok: false,
      error: `expected a JSON body but the content type is ${
        contentType === undefined || contentType === "" ? "missing" : JSON.stringify(contentType)
      } (the body starts ${JSON.stringify(excerpt(text, secrets, 60))})`
    }
  }
  const parsed = parseJson(text)
  if (parsed._tag === "Right") return { ok: true, value: parsed.right }
  if (text.trim() === "") return { ok: false, error: "the body is empty" }
  // The parser quotes the text around the fault, so its words are taken from the scrubbed text.
  const again = parseJson(scrub(text, secrets))
  const why = again._tag === "Left"
    ? `: ${excerpt(ParseResult.TreeFormatter.formatErrorSync(again.left), secrets, 160)}`
    : ""
  return { ok: false, error: `the body is not valid JSON (cut short?)${why}` }
}

const parseJson = Schema.decodeUnknownEither(Schema.parseJson())

// ============================================================================================================
// The call
// ============================================================================================================

/**
 * Bounds one HTTP call with an Effect time-out (so `TestClock` controls it); past it the call is interrupted,
 * which aborts the request, and fails with `Timeout`.
 */
export const withTimeout = (
  self: Effect.Effect<Completion, ProviderError>,
  origin: Origin,
  timeout: Duration.Duration
): Effect.Effect<Completion, ProviderError> =>
  Effect.timeoutFail(self, {
    duration: timeout,
    onTimeout: () => new Timeout({ provider: origin.provider, model: origin.model, after: timeout })
  })
