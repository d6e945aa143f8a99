import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, TestClock } from "effect"
import { Provider } from "multi-agent-orchestration"

// Each prompt names its latency in seconds: "wait 30".
const latency = (request: Provider.CompletionRequest) => `${Number(request.prompt!.split(" ")[1])} seconds` as const
const simulated = Provider.simulated({ latency })

/** Starts a call now; its fiber ends with the clock time at which the reply came back. */
const call = (seconds: number) =>
  Effect.fork(Effect.zipRight(Provider.complete({ prompt: `wait ${seconds}` }), Clock.currentTimeMillis))

describe("Provider.simulated latency", () => {
  it.effect("each call replies when its own latency has passed on the clock, not before", () =>
    Effect.gen(function*() {
      const long = yield* call(30)
      yield* TestClock.adjust("1 second")
      // Begins after the long one and is due before it.
      const short = yield* call(5)
      const same = yield* call(5)
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual((yield* Fiber.poll(short))._tag, "None")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Fiber.join(short), 6_000)
      assert.strictEqual(yield* Fiber.join(same), 6_000)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Fiber.join(long), 30_000)
    }).pipe(Effect.provide(simulated)))

  it.effect("a call made the moment another one replies is timed from then, while a longer one still waits", () =>
    Effect.gen(function*() {
      const long = yield* call(100)
      const chained = yield* Effect.fork(
        Effect.zipRight(Provider.complete({ prompt: "wait 10" }), Provider.complete({ prompt: "wait 10" })).pipe(
          Effect.zipRight(Clock.currentTimeMillis)
        )
      )
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual(yield* Fiber.join(chained), 20_000)
      yield* TestClock.adjust("80 seconds")
      assert.strictEqual(yield* Fiber.join(long), 100_000)
    }).pipe(Effect.provide(simulated)))

  it.effect("an interrupted call ends at once, and the calls still waiting reply on time", () =>
    Effect.gen(function*() {
      const dropped = yield* call(10)
      const kept = yield* call(10)
      const later = yield* call(20)
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.interrupt(dropped)
      yield* TestClock.adjust("7 seconds")
      assert.strictEqual(yield* Fiber.join(kept), 10_000)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* Fiber.join(later), 20_000)
    }).pipe(Effect.provide(simulated)))

  it.effect("calls due over hundreds of milliseconds each reply at their time, and a shorter one begun after them at its own", () =>
    Effect.gen(function*() {
      const service = yield* Provider.makeSimulated({ latency: (request) => `${Number(request.prompt!.split(" ")[1])} millis` })
      const ask = (millis: number) =>
        Effect.fork(Effect.zipRight(service.complete({ prompt: `wait ${millis}` }), Clock.currentTimeMillis))
      // Due in 300 different milliseconds: more than the provider sets timers for at once.
      const dues = Array.from({ length: 300 }, (_, i) => 1000 + i)
      const spread = yield* Effect.forEach(dues, ask)
      // Sooner than every timer set: it cannot wait for one of them.
      const short = yield* ask(5)
      yield* TestClock.adjust("5 millis")
      assert.strictEqual(yield* Fiber.join(short), 5)
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(yield* Effect.forEach(spread, Fiber.join), dues)
    }))

  it.effect("calls under different clocks each move with their own clock", () =>
    Effect.gen(function*() {
      const service = yield* Provider.makeSimulated({ latency })
      const ask = (seconds: number) => service.complete({ prompt: `wait ${seconds}` })
      // A clock of its own, fixed at 0: a call under it never becomes due while the test clock moves.
      const frozen: Clock.Clock = {
        [Clock.ClockTypeId]: Clock.ClockTypeId,
        unsafeCurrentTimeMillis: () => 0,
        currentTimeMillis: Effect.succeed(0),
        unsafeCurrentTimeNanos: () => 0n,
        currentTimeNanos: Effect.succeed(0n),
        sleep: () => Effect.never
      }
      const stuck = yield* Effect.fork(Effect.withClock(ask(1), frozen))
      const moving = yield* Effect.fork(ask(1))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(moving)
      assert.strictEqual((yield* Fiber.poll(stuck))._tag, "None")
      yield* Fiber.interrupt(stuck)
    }))

  it.effect("on a live-like clock, calls due within the same millisecond reply together, and a later one has its own timer at once", () =>
    Effect.gen(function*() {
      // Like the live clock: read in fractions of a millisecond, and a timer may run a fraction of a millisecond
      // before the reading reaches its end. Its timers are fired by hand.
      let now = 0
      const timers: Array<{ readonly millis: number; readonly fire: () => void }> = []
      const clock: Clock.Clock = {
        [Clock.ClockTypeId]: Clock.ClockTypeId,
        unsafeCurrentTimeMillis: () => Math.floor(now),
        currentTimeMillis: Effect.sync(() => Math.floor(now)),
        unsafeCurrentTimeNanos: () => BigInt(Math.round(now * 1e6)),
        currentTimeNanos: Effect.sync(() => BigInt(Math.round(now * 1e6))),
        sleep: (duration) =>
          Effect.async<void>((resume) => {
            timers.push({ millis: Duration.toMillis(duration), fire: () => resume(Effect.void) })
          })
      }
      const service = yield* Provider.makeSimulated({ latency: (request) => `${Number(request.prompt!.split(" ")[1])} millis` })
      const settle = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      const ask = (millis: number) =>
        Effect.fork(Effect.withClock(Effect.zipRight(service.complete({ prompt: `wait ${millis}` }), Effect.sync(() => now)), clock))

      // Due at 20.2 and 20.7: one timer, towards the first.
      now = 0.2
      const first = yield* ask(20)
      yield* settle
      now = 0.7
      const second = yield* ask(20)
      yield* settle
      assert.deepStrictEqual(timers.map((timer) => timer.millis), [20])
      // Due at 21.4, in the next millisecond: its timer is set as it begins, not once the first has run (which
      // Node would run a whole millisecond later).
      now = 0.9
      const third = yield* ask(20.5)
      yield* settle
      assert.deepStrictEqual(timers.map((timer) => timer.millis), [20, 20.5])

      // Node runs the first timer a little early: both calls of its millisecond reply, the third still waits.
      now = 20.1
      timers[0]!.fire()
      assert.strictEqual(yield* Fiber.join(first), 20.1)
      assert.strictEqual(yield* Fiber.join(second), 20.1)
      yield* settle
      assert.strictEqual((yield* Fiber.poll(third))._tag, "None")
      now = 21.3
      timers[1]!.fire()
      assert.strictEqual(yield* Fiber.join(third), 21.3)
      assert.strictEqual(timers.length, 2)
    }))
})
