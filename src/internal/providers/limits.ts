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

/**
 * `service` behind the limits of `options`; the service itself when there are none. The limits are checked
 * already (see `validate.ts`): whole numbers of at least 1.
 */
export const withLimits = (
  service: Service,
  options: LimitOptions,
  defaultMaxTokens?: number | undefined
): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { concurrency, requestsPerMinute, tokensPerMinute } = options
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
