/**
 * Limits around a provider: a bound on calls in flight, and token buckets for requests and tokens per minute
 * (effect's `RateLimiter`). Built once per layer, so they hold for every call that goes through the layer.
 */
import * as Effect from "effect/Effect"
import * as RateLimiter from "effect/RateLimiter"
import type * as Scope from "effect/Scope"
import type { Completion, CompletionRequest, Service } from "../../Provider.js"
import type { ProviderError } from "../../ProviderError.js"
import { type LimitOptions, plannedTokens } from "./shared.js"

/**
 * effect's token bucket refills one token every `interval / limit` milliseconds, rounded up to a whole
 * millisecond, which would cap a large tokens-per-minute limit at 60,000. Tokens are therefore counted in
 * units of at most a few hundred refills a minute.
 */
const refillsPerMinute = 600

const problem = (field: string, value: number | undefined): string | undefined =>
  value === undefined || (Number.isFinite(value) && value >= 1)
    ? undefined
    : `${field} must be a number of at least 1, got ${value}`

const whole = (value: number | undefined): number | undefined => value === undefined ? undefined : Math.floor(value)

/** `service` behind the limits of `options`; the service itself when there are none. */
export const withLimits = (
  service: Service,
  options: LimitOptions,
  defaultMaxTokens?: number | undefined
): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const problems = [
      problem("concurrency", options.concurrency),
      problem("requestsPerMinute", options.requestsPerMinute),
      problem("tokensPerMinute", options.tokensPerMinute)
    ].filter((p) => p !== undefined)
    if (problems.length > 0) return yield* Effect.dieMessage(`Invalid provider limits: ${problems.join("; ")}`)
    const concurrency = whole(options.concurrency)
    const requestsPerMinute = whole(options.requestsPerMinute)
    const tokensPerMinute = whole(options.tokensPerMinute)
    if (concurrency === undefined && requestsPerMinute === undefined && tokensPerMinute === undefined) return service

    type Call = (request: CompletionRequest) => Effect.Effect<Completion, ProviderError>
    let complete: Call = service.complete
    if (concurrency !== undefined) {
      const semaphore = yield* Effect.makeSemaphore(concurrency)
      const inner = complete
      complete = (request) => semaphore.withPermits(1)(inner(request))
    }
    if (tokensPerMinute !== undefined) {
      const unit = Math.max(1, Math.ceil(tokensPerMinute / refillsPerMinute))
      const limit = Math.max(1, Math.floor(tokensPerMinute / unit))
      const limiter = yield* RateLimiter.make({ limit, interval: "1 minute", algorithm: "token-bucket" })
      const inner = complete
      complete = (request) => {
        const cost = Math.min(limit, Math.max(1, Math.ceil(plannedTokens(request, defaultMaxTokens) / unit)))
        return limiter(inner(request)).pipe(RateLimiter.withCost(cost))
      }
    }
    if (requestsPerMinute !== undefined) {
      const limiter = yield* RateLimiter.make({ limit: requestsPerMinute, interval: "1 minute" })
      const inner = complete
      complete = (request) => limiter(inner(request)).pipe(RateLimiter.withCost(1))
    }
    return { name: service.name, defaultModel: service.defaultModel, complete }
  })
