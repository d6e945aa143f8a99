import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, TestClock } from "effect"
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
})
