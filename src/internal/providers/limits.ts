/**
 * Limits around a provider: a bound on calls in flight, token buckets for requests and tokens per minute
 * (effect's `RateLimiter`), and the limits the server reports in its headers (see `serverLimits.ts`). Built
 * once per layer, so they hold for every call that goes through the layer, streamed or not: a stream holds
 * its place among the calls in flight until it ends.
 */
import * as Effect from "effect/Effect"
import * as RateLimiter from "effect/RateLimiter"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { CompletionRequest, Service } from "../../Provider.js"
import type { ServerLimits } from "./serverLimits.js"
import { type LimitOptions, plannedTokens } from "./shared.js"

/**
 * effect's token bucket refills one token every `interval / limit` milliseconds, rounded up to a whole
 * millisecond, which would cap a large tokens-per-minute limit at 60,000. Tokens are therefore counted in
 * units of at most a few hundred refills a minute.
 */
const refillsPerMinute = 600

/**
 * `service` behind the limits of `options` and those `server` reports; the service itself when there are
 * none. The limits are checked already (see `validate.ts`): whole numbers of at least 1.
 */
export const withLimits = (
  service: Service,
  options: LimitOptions,
  defaultMaxTokens?: number | undefined,
  server?: ServerLimits | undefined
): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { concurrency, requestsPerMinute, tokensPerMinute } = options
    if (
      concurrency === undefined && requestsPerMinute === undefined && tokensPerMinute === undefined &&
      server === undefined
    ) return service

    // Waits, in order, for a request slot, tokens, and room in the server's reported budget.
    const admissions: Array<(request: CompletionRequest) => Effect.Effect<void>> = []
    if (requestsPerMinute !== undefined) {
      const limiter = yield* RateLimiter.make({ limit: requestsPerMinute, interval: "1 minute" })
      admissions.push(() => limiter(Effect.void).pipe(RateLimiter.withCost(1)))
    }
    if (tokensPerMinute !== undefined) {
      const unit = Math.max(1, Math.ceil(tokensPerMinute / refillsPerMinute))
      const limit = Math.max(1, Math.floor(tokensPerMinute / unit))
      const limiter = yield* RateLimiter.make({ limit, interval: "1 minute", algorithm: "token-bucket" })
      admissions.push((request) => {
        const cost = Math.min(limit, Math.max(1, Math.ceil(plannedTokens(request, defaultMaxTokens) / unit)))
        return limiter(Effect.void).pipe(RateLimiter.withCost(cost))
      })
    }
    if (server !== undefined) admissions.push((request) => server.admit(plannedTokens(request, defaultMaxTokens)))
    const admit = (request: CompletionRequest): Effect.Effect<void> =>
      admissions.length === 1 ? admissions[0]!(request) : Effect.forEach(admissions, (f) => f(request), { discard: true })

    const semaphore = concurrency === undefined ? undefined : yield* Effect.makeSemaphore(concurrency)
    const inner = service.stream
    return {
      name: service.name,
      defaultModel: service.defaultModel,
      complete: (request) => {
        const call = semaphore === undefined ? service.complete(request) : semaphore.withPermits(1)(service.complete(request))
        return admissions.length === 0 ? call : Effect.zipRight(admit(request), call)
      },
      stream: inner === undefined ? undefined : (request) =>
        Stream.unwrapScoped(Effect.gen(function*() {
          if (admissions.length > 0) yield* admit(request)
          if (semaphore !== undefined) {
            // Waiting for a place stays interruptible; once taken, it is given back when the stream ends.
            yield* Effect.uninterruptibleMask((restore) =>
              Effect.zipRight(restore(semaphore.take(1)), Effect.addFinalizer(() => semaphore.release(1)))
            )
          }
          return inner(request)
        }))
    }
  })
