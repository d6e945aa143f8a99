/**
 * Retry policies as Effect schedules: exponential backoff with jitter, bounded attempts, and a provider
 * preset that retries only transient errors and waits at least as long as a rate limit asks.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { identity } from "effect/Function"
import * as Schedule from "effect/Schedule"
import { isTransient, type ProviderError } from "./ProviderError.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** Retries after the first attempt (so `maxRetries: 3` makes at most 4 attempts). */
  readonly maxRetries: number
  /** The delay before the first retry; each further retry doubles it (see `factor`). */
  readonly baseDelay: Duration.DurationInput
  /** The longest delay between two attempts. Default: 60 seconds. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** Growth per retry. Default: 2. */
  readonly factor?: number | undefined
  /** Spread each delay randomly over ±20% so that many agents do not retry in lockstep. Default: true. */
  readonly jitter?: boolean | undefined
}

const defaultMaxDelay = Duration.seconds(60)

/**
 * The delay before retry number `retry` (1-based), without jitter: `baseDelay × factor^(retry-1)`, capped at
 * `maxDelay`.
 *
 * @since 0.1.0
 * @category Functions
 */
export const backoff = (options: Options, retry: number): Duration.Duration => {
  const base = Duration.toMillis(Duration.decode(options.baseDelay))
  const cap = Duration.toMillis(options.maxDelay === undefined ? defaultMaxDelay : Duration.decode(options.maxDelay))
  const millis = base * Math.pow(options.factor ?? 2, Math.max(0, retry - 1))
  return Duration.millis(Math.min(cap, millis))
}

/**
 * The delay before retry number `retry` given the error that caused it: the backoff, spread by `random`
 * (a number in [0, 1), used only when jitter is on) over ±20%, and never shorter than a `RateLimited`
 * error's `retryAfter`.
 *
 * @since 0.1.0
 * @category Functions
 */
export const delayFor = (options: Options, retry: number, error: unknown, random: number): Duration.Duration => {
  const planned = Duration.toMillis(backoff(options, retry))
  const jittered = options.jitter === false ? planned : planned * (0.8 + 0.4 * random)
  return Duration.millis(Math.round(Math.max(jittered, retryAfterMillis(error))))
}

const retryAfterMillis = (error: unknown): number => {
  const e = error as Partial<ProviderError> | undefined
  return e !== undefined && e !== null && e._tag === "RateLimited" && e.retryAfter !== undefined
    ? Duration.toMillis(e.retryAfter)
    : 0
}

/**
 * Exponential backoff with optional jitter, at most `maxRetries` retries: the Effect form of the original's
 * `@retry_async(max_retries, base_delay)`.
 *
 * @since 0.1.0
 * @category Schedules
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Retry } from "multi-agent-orchestration"
 *
 * declare const unstableApiCall: Effect.Effect<string, Error>
 * const robust = Effect.retry(unstableApiCall, Retry.schedule({ maxRetries: 3, baseDelay: "1 second" }))
 * ```
 */
export const schedule = (options: Options): Schedule.Schedule<Duration.Duration, unknown> => {
  const cap = options.maxDelay === undefined ? defaultMaxDelay : Duration.decode(options.maxDelay)
  return Schedule.exponential(options.baseDelay, options.factor ?? 2).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, cap)),
    options.jitter === false ? identity : Schedule.jittered,
    Schedule.intersect(Schedule.recurs(options.maxRetries)),
    Schedule.map(([delay]) => delay)
  )
}

/**
 * The schedule the orchestrator applies to every provider call: retries only transient `ProviderError`s,
 * with backoff, and waits at least a `RateLimited` error's `retryAfter`.
 *
 * @since 0.1.0
 * @category Schedules
 */
export const transientProviderErrors = (options: Options): Schedule.Schedule<unknown, unknown> =>
  schedule(options).pipe(
    Schedule.whileInput(isTransient),
    Schedule.zipRight(Schedule.identity<unknown>()),
    Schedule.modifyDelay((error, delay) => Duration.max(delay, Duration.millis(retryAfterMillis(error))))
  )
