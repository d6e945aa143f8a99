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
 * The orchestrator's default retry policy (the `retry` option of `Orchestrator.run`, built from the
 * configuration's `maxRetries`, `retryBaseDelaySeconds` and `retryMaxDelaySeconds`): retries only transient
 * `ProviderError`s, with backoff and jitter, and waits at least a `RateLimited` error's `retryAfter`. Use it
 * for your own calls outside a workflow, or pass a variant of it to a run.
 *
 * @since 0.1.0
 * @category Schedules
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator, Provider, Retry, Workflow } from "multi-agent-orchestration"
 *
 * declare const workflow: Workflow.Workflow
 *
 * // Five patient retries instead of the configuration's.
 * const program = Orchestrator.run(workflow, "Summarise the findings", {
 *   retry: Retry.transientProviderErrors({ maxRetries: 5, baseDelay: "2 seconds", maxDelay: "1 minute" })
 * }).pipe(Effect.provide(Provider.simulated()))
 *
 * // The same policy around a call of your own.
 * const call = Provider.complete({ prompt: "Hello" }).pipe(
 *   Effect.retry(Retry.transientProviderErrors({ maxRetries: 2, baseDelay: "1 second" })),
 *   Effect.provide(Provider.simulated())
 * )
 * ```
 */
export const transientProviderErrors = (options: Options): Schedule.Schedule<unknown, unknown> =>
  schedule(options).pipe(
    Schedule.whileInput(isTransient),
    Schedule.zipRight(Schedule.identity<unknown>()),
    Schedule.modifyDelay((error, delay) => Duration.max(delay, Duration.millis(retryAfterMillis(error))))
  )
