/**
 * The rate limits a server reports in its response headers, used to slow down before it refuses a call:
 *
 * - OpenAI (and OpenAI-compatible hosts): `x-ratelimit-limit-{requests,tokens}`,
 *   `x-ratelimit-remaining-{requests,tokens}` and `x-ratelimit-reset-{requests,tokens}` ("1s", "6m0s", "20ms");
 * - Anthropic: `anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}` (the reset an RFC 3339 time),
 *   and the `input-tokens` ones where `tokens` is absent.
 *
 * Each reply updates what is left of each budget and when it resets. A call that would need more than is left
 * waits for the reset; each call started counts against what is left, so that calls in flight at once do not
 * all go through on the same report. After a reset, the budget is the reported limit again (or unknown).
 */
import type * as Headers from "@effect/platform/Headers"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/** One budget (requests, or tokens) as the server last reported it. */
interface Budget {
  limit: number | undefined
  remaining: number | undefined
  /** Clock milliseconds at which the budget is full again. */
  resetAt: number
}

/** The headers of one budget of one API. */
interface Names {
  readonly limit: ReadonlyArray<string>
  readonly remaining: ReadonlyArray<string>
  readonly reset: ReadonlyArray<string>
}

const requestNames: Names = {
  limit: ["x-ratelimit-limit-requests", "anthropic-ratelimit-requests-limit"],
  remaining: ["x-ratelimit-remaining-requests", "anthropic-ratelimit-requests-remaining"],
  reset: ["x-ratelimit-reset-requests", "anthropic-ratelimit-requests-reset"]
}

const tokenNames: Names = {
  limit: ["x-ratelimit-limit-tokens", "anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-input-tokens-limit"],
  remaining: [
    "x-ratelimit-remaining-tokens",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-input-tokens-remaining"
  ],
  reset: ["x-ratelimit-reset-tokens", "anthropic-ratelimit-tokens-reset", "anthropic-ratelimit-input-tokens-reset"]
}

const first = (headers: Headers.Headers, names: ReadonlyArray<string>): string | undefined => {
  for (const name of names) {
    const value = headers[name]
    if (value !== undefined && value.trim() !== "") return value.trim()
  }
  return undefined
}

const count = (text: string | undefined): number | undefined => {
  if (text === undefined || !/^\d+$/.test(text)) return undefined
  return Number(text)
}

const units: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }

/**
 * How long until a reset, from `now`: OpenAI's durations ("1s", "6m0s", "1h2m3.5s", "20ms"), a number of
 * seconds, or an RFC 3339 time (Anthropic).
 */
export const resetDelay = (text: string | undefined, now: number): number | undefined => {
  if (text === undefined) return undefined
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000
  if (/^(?:\d+(?:\.\d+)?(?:ms|h|m|s))+$/.test(text)) {
    let millis = 0
    for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) millis += Number(amount) * units[unit!]!
    return millis
  }
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

const update = (budget: Budget, headers: Headers.Headers, names: Names, now: number): void => {
  const remaining = count(first(headers, names.remaining))
  if (remaining === undefined) return
  const delay = resetDelay(first(headers, names.reset), now)
  budget.limit = count(first(headers, names.limit)) ?? budget.limit
  budget.remaining = remaining
  // Without a reset time the report is taken as good for a second, so that a missing header never stalls.
  budget.resetAt = now + Math.ceil(delay ?? 1000)
}

/** The wait before a call that needs `cost` of `budget`, refreshing a budget whose reset has passed. */
const waitFor = (budget: Budget, cost: number, now: number): number => {
  if (budget.remaining === undefined) return 0
  if (now >= budget.resetAt) {
    budget.remaining = budget.limit
    return 0
  }
  // A call larger than the whole limit can never fit; it waits for a full budget and goes.
  const needed = Math.min(cost, budget.limit ?? cost)
  return budget.remaining >= needed ? 0 : budget.resetAt - now
}

const spend = (budget: Budget, cost: number): void => {
  if (budget.remaining !== undefined) budget.remaining = Math.max(0, budget.remaining - cost)
}

/** A server's reported limits, shared by every call of one provider layer. */
export interface ServerLimits {
  /** Reads a reply's headers (any status, 429s included), at Clock time `now`. */
  readonly observe: (headers: Headers.Headers, now: number) => void
  /** Waits until the last report leaves room for one request of `tokens` tokens, then counts it. */
  readonly admit: (tokens: number) => Effect.Effect<void>
}

export const makeServerLimits = (): ServerLimits => {
  const requests: Budget = { limit: undefined, remaining: undefined, resetAt: 0 }
  const tokens: Budget = { limit: undefined, remaining: undefined, resetAt: 0 }
  const admit = (cost: number): Effect.Effect<void> =>
    Effect.flatMap(Effect.clockWith((clock) => clock.currentTimeMillis), (now) => {
      const wait = Math.max(waitFor(requests, 1, now), waitFor(tokens, cost, now))
      if (wait > 0) return Effect.zipRight(Effect.sleep(Duration.millis(wait)), admit(cost))
      spend(requests, 1)
      spend(tokens, cost)
      return Effect.void
    })
  return {
    observe: (headers, now) => {
      update(requests, headers, requestNames, now)
      update(tokens, headers, tokenNames, now)
    },
    admit
  }
}
