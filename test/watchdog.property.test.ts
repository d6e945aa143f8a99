import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, FastCheck, Fiber } from "effect"
import { type Guarded, makeWatchdog } from "../src/internal/watchdog.js"

// The watchdog keeps deadlines that come in order apart from the others. Whatever the mix of time bounds,
// registrations and removals, each guarded still registered at its deadline must be stopped and reported
// then, once; a removed one never.

interface Plan {
  readonly registeredAt: number
  readonly bound: number
  /** When it finishes on its own (is unregistered), if ever. */
  readonly removedAt: number | undefined
}

// Mostly one time bound, as the agents of a run have; some shorter or longer, so deadlines come out of order.
// Times are whole multiples of 50 ms, so that many things happen at each.
const at = (max: number) => FastCheck.integer({ min: 0, max }).map((units) => units * 50)
const plans = FastCheck.array(
  FastCheck.record({
    registeredAt: at(12),
    bound: FastCheck.oneof({ arbitrary: FastCheck.constant(300), weight: 6 }, {
      arbitrary: at(17).map((millis) => millis + 50),
      weight: 2
    }),
    removedAt: FastCheck.option(at(17).map((millis) => millis + 50), { nil: undefined })
  }).map((plan): Plan => ({
    ...plan,
    removedAt: plan.removedAt === undefined ? undefined : plan.registeredAt + plan.removedAt
  })),
  { minLength: 1, maxLength: 600, size: "max" }
)

// Everything that can run before the event loop's next turn has run.
const settle = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

// A clock moved by hand, whose timers end as it reaches them (the TestClock takes real milliseconds a move).
const handClock = () => {
  let now = 0
  let timers: Array<{ readonly due: number; readonly end: () => void }> = []
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    currentTimeMillis: Effect.sync(() => now),
    unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    sleep: (duration) =>
      Effect.async<void>((resume) => {
        timers.push({ due: now + Duration.toMillis(duration), end: () => resume(Effect.void) })
      })
  }
  const moveTo = (time: number) =>
    Effect.zipRight(
      Effect.sync(() => {
        now = time
        const due = timers.filter((timer) => timer.due <= now)
        timers = timers.filter((timer) => timer.due > now)
        for (const timer of due) timer.end()
      }),
      settle
    )
  return { clock, moveTo }
}

const check = (plan: ReadonlyArray<Plan>) =>
  Effect.gen(function*() {
    const { clock, moveTo } = handClock()
    const watchdog = yield* makeWatchdog(clock)
    yield* watchdog.start
    // Registered in order of their start, as agents are; each reported time-out is kept with its time.
    const order = plan.map((_, i) => i).sort((a, b) => plan[a]!.registeredAt - plan[b]!.registeredAt)
    const reported = new Map<number, Array<number>>()
    const guards: Array<Guarded> = []
    const times = new Set<number>()
    for (const p of plan) {
      times.add(p.registeredAt)
      times.add(p.registeredAt + p.bound)
      if (p.removedAt !== undefined) times.add(p.removedAt)
    }
    const removals = new Map<number, Array<number>>()
    plan.forEach((p, i) => {
      if (p.removedAt !== undefined) removals.set(p.removedAt, [...(removals.get(p.removedAt) ?? []), i])
    })
    const guardOf = new Map<number, Guarded>()
    let next = 0
    for (const now of [...times].sort((a, b) => a - b)) {
      // Finishing at `now` comes before the clock reaches it; starting, after.
      for (const i of removals.get(now) ?? []) {
        const guarded = guardOf.get(i)
        if (guarded !== undefined) watchdog.unregister(guarded)
      }
      yield* moveTo(now)
      for (; next < order.length && plan[order[next]!]!.registeredAt === now; next++) {
        const index = order[next]!
        const fiber = yield* Effect.forkDaemon(Effect.never)
        const guarded: Guarded = {
          deadline: now + plan[index]!.bound,
          fiber,
          timedOut: false,
          slot: -1,
          timeOut: () =>
            Effect.sync(() => {
              reported.set(index, [...(reported.get(index) ?? []), clock.unsafeCurrentTimeMillis()])
            })
        }
        guards.push(guarded)
        guardOf.set(index, guarded)
        watchdog.register(guarded)
      }
    }
    yield* watchdog.stop
    yield* Fiber.interruptAll(guards.map((g) => g.fiber))
    plan.forEach((p, i) => {
      const deadline = p.registeredAt + p.bound
      const expected = p.removedAt === undefined || p.removedAt > deadline ? [deadline] : undefined
      assert.deepStrictEqual(reported.get(i), expected, `guarded ${i}: ${JSON.stringify(p)}`)
    })
  })

describe("Watchdog", () => {
  it.effect("stops and reports exactly the guarded still registered at their deadlines, at them", () =>
    Effect.gen(function*() {
      const cases = [
        ...FastCheck.sample(plans, { seed: 20261202, numRuns: 40 }),
        // Thousands finish in order behind a few still running: the front is dropped as it empties.
        Array.from({ length: 1600 }, (_, i): Plan => ({
          registeredAt: 0,
          bound: 3000,
          removedAt: i < 1400 ? 50 : undefined
        })),
        // Thousands finish behind one that never does: the holes they leave are squeezed out.
        Array.from({ length: 1600 }, (_, i): Plan => ({
          registeredAt: i < 800 ? 0 : 50,
          bound: 3000,
          removedAt: i === 0 ? undefined : 100
        }))
      ]
      for (const plan of cases) yield* check(plan)
    }))
})
