/**
 * The ways a provider call can fail. Each error says whether it is `transient` (worth retrying: rate limits,
 * timeouts, unavailable servers) or permanent (a bad request, bad credentials, a reply that cannot be read).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { Usage } from "./Usage.js"

const common = {
  /** The provider that failed, e.g. "openai", "anthropic", "simulated". */
  provider: Schema.String,
  /** The model the call was for. */
  model: Schema.optional(Schema.String),
  /** The HTTP status, when there was one. */
  status: Schema.optional(Schema.Int),
  /** What went wrong, in the provider's or the library's words. Never contains credentials. */
  detail: Schema.optional(Schema.String),
  /** Tokens the failed attempt used anyway; they are metered like any other. */
  usage: Schema.optional(Usage)
}

interface Common {
  readonly _tag: string
  readonly provider: string
  readonly model?: string | undefined
  readonly status?: number | undefined
  readonly detail?: string | undefined
}

const describe = (self: Common, what: string): string => {
  const where = [self.provider, self.model].filter(Predicate.isNotUndefined).join(" ")
  const status = self.status === undefined ? "" : ` (HTTP ${self.status})`
  const detail = self.detail === undefined || self.detail === "" ? "" : `: ${self.detail}`
  return `${where}: ${what}${status}${detail}`
}

/**
 * Too many requests. `retryAfter` is the provider's own hint, and retries wait at least that long.
 *
 * @since 0.1.0
 * @category Errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>("multi-agent-orchestration/ProviderError/RateLimited")(
  "RateLimited",
  { ...common, retryAfter: Schema.optional(Schema.DurationFromMillis) }
) {
  /** Worth retrying. */
  get transient(): boolean {
    return true
  }
  override get message(): string {
    const hint = this.retryAfter === undefined ? "" : `, retry after ${Duration.format(this.retryAfter)}`
    return describe(this, `rate limited${hint}`)
  }
}

/**
 * The call took too long or the connection dropped before a reply.
 *
 * @since 0.1.0
 * @category Errors
 */
export class Timeout extends Schema.TaggedError<Timeout>("multi-agent-orchestration/ProviderError/Timeout")(
  "Timeout",
  { ...common, after: Schema.optional(Schema.DurationFromMillis) }
) {
  /** Worth retrying. */
  get transient(): boolean {
    return true
  }
  override get message(): string {
    return describe(this, this.after === undefined ? "timed out" : `timed out after ${Duration.format(this.after)}`)
  }
}

/**
 * The provider is down or overloaded (HTTP 5xx, Anthropic's 529, connection refused).
 *
 * @since 0.1.0
 * @category Errors
 */
export class Unavailable extends Schema.TaggedError<Unavailable>("multi-agent-orchestration/ProviderError/Unavailable")(
  "Unavailable",
  common
) {
  /** Worth retrying. */
  get transient(): boolean {
    return true
  }
  override get message(): string {
    return describe(this, "unavailable")
  }
}

/**
 * The request was rejected as invalid (HTTP 400, 404, 422): an unknown model, a prompt too long, ...
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidRequest
  extends Schema.TaggedError<InvalidRequest>("multi-agent-orchestration/ProviderError/InvalidRequest")(
    "InvalidRequest",
    common
  )
{
  /** Not worth retrying: the same request fails the same way. */
  get transient(): boolean {
    return false
  }
  override get message(): string {
    return describe(this, "invalid request")
  }
}

/**
 * The credentials were refused (HTTP 401, 403).
 *
 * @since 0.1.0
 * @category Errors
 */
export class Authentication
  extends Schema.TaggedError<Authentication>("multi-agent-orchestration/ProviderError/Authentication")(
    "Authentication",
    common
  )
{
  /** Not worth retrying. */
  get transient(): boolean {
    return false
  }
  override get message(): string {
    return describe(this, "authentication failed")
  }
}

/**
 * The reply could not be read: not JSON, truncated, the wrong content type, or missing fields. A reply that
 * goes bad partway through a stream (`partial`: a chunk that cannot be read) is worth retrying, since the
 * next stream is a new one; any other is not.
 *
 * @since 0.1.0
 * @category Errors
 */
export class MalformedResponse
  extends Schema.TaggedError<MalformedResponse>("multi-agent-orchestration/ProviderError/MalformedResponse")(
    "MalformedResponse",
    { ...common, partial: Schema.optional(Schema.Boolean) }
  )
{
  /** Worth retrying only when the reply went bad partway through a stream. */
  get transient(): boolean {
    return this.partial === true
  }
  override get message(): string {
    return describe(this, "malformed response")
  }
}

/**
 * @since 0.1.0
 * @category Schemas
 */
export const ProviderError = Schema.Union(
  RateLimited,
  Timeout,
  Unavailable,
  InvalidRequest,
  Authentication,
  MalformedResponse
)

/**
 * @since 0.1.0
 * @category Models
 */
export type ProviderError = RateLimited | Timeout | Unavailable | InvalidRequest | Authentication | MalformedResponse

const tags: ReadonlySet<string> = new Set([
  "RateLimited",
  "Timeout",
  "Unavailable",
  "InvalidRequest",
  "Authentication",
  "MalformedResponse"
])

/**
 * @since 0.1.0
 * @category Guards
 */
export const isProviderError = (u: unknown): u is ProviderError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag) && Predicate.hasProperty(u, "transient")

/**
 * Whether retrying the same call may succeed.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isTransient = (u: unknown): boolean => isProviderError(u) && u.transient
