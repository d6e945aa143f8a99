import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"
import { Orchestrator } from "multi-agent-orchestration"
import { fixedWorkflow, recorder, scripted, tasks } from "./helpers.js"
import { captureLogs } from "./logs.js"

const cutOff = (lines: ReadonlyArray<{ readonly level: string; readonly message: string }>) =>
  lines.filter((line) => line.level === "WARN" && line.message.startsWith("onEvent was cut off"))

describe("interruption always returns", () => {
  it.effect("an interrupted run returns after the grace period although onEvent never completes", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const { layer, log } = scripted({ latency: "1 hour" })
      const run = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", { onEvent: () => Effect.never }).pipe(
        Effect.provide(layer),
        Effect.fork
      )
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(log.inFlight, 2)

      const interrupting = yield* Effect.fork(Fiber.interrupt(run))
      yield* TestClock.adjust("999 millis")
      // The agents are interrupted at once; the run still waits for onEvent, but not beyond the grace period.
      assert.strictEqual(log.interrupted, 2)
      assert.strictEqual(log.inFlight, 0)
      assert.isTrue(Option.isNone(yield* Fiber.poll(interrupting)))
      assert.deepStrictEqual(cutOff(logs.lines), [])

      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.join(interrupting)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.strictEqual(cutOff(logs.lines).length, 1)
      assert.include(cutOff(logs.lines)[0]!.message, "1s")
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("onEventGracePeriod sets the grace period", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const { layer } = scripted({ latency: "1 hour" })
      const run = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        onEvent: () => Effect.never,
        onEventGracePeriod: "5 seconds"
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 second")
      const interrupting = yield* Effect.fork(Fiber.interrupt(run))
      yield* TestClock.adjust("4999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(interrupting)))
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(interrupting)
      assert.strictEqual(cutOff(logs.lines).length, 1)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("a consumer that keeps up within the grace period gets workflow_cancelled, and nothing is logged", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const events = recorder()
      const { layer, log } = scripted({ latency: "1 hour" })
      const run = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", {
        onEvent: (event) => Effect.zipRight(Effect.sleep("100 millis"), Effect.sync(() => events.onEvent(event)))
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("10 seconds")
      const interrupting = yield* Effect.fork(Fiber.interrupt(run))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(interrupting)
      assert.strictEqual(log.interrupted, 2)
      assert.strictEqual(events.types().at(-1), "workflow_cancelled")
      assert.deepStrictEqual(cutOff(logs.lines), [])
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("a run stopped by cancelWhen returns its cancelled result after the grace period", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const { layer, log } = scripted({ latency: (request) => (request.prompt === "do quick" ? "1 second" : "1 hour") })
      const run = yield* Orchestrator.run(fixedWorkflow(tasks("quick", "slow")), "task", {
        onEvent: () => Effect.never,
        cancelWhen: Effect.sleep("5 seconds")
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(log.interrupted, 1)
      assert.isTrue(Option.isNone(yield* Fiber.poll(run)))
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(run)
      assert.strictEqual(result.status, "cancelled")
      assert.deepStrictEqual(result.agentResults.map((r) => r.subtaskId), ["quick"])
      assert.strictEqual(cutOff(logs.lines).length, 1)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("stopping a stream consumer stuck in onEvent interrupts the run at once", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ latency: "1 hour" })
      const consumer = yield* Orchestrator.stream(fixedWorkflow(tasks("a", "b", "c")), "task", {
        onEvent: () => Effect.never
      }).pipe(Stream.runDrain, Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(log.inFlight, 3)
      // No time passes: the consumer and every in-flight agent are gone when the interruption returns.
      const exit = yield* Fiber.interrupt(consumer)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.strictEqual(log.interrupted, 3)
      assert.strictEqual(log.inFlight, 0)
    }))

  it.effect("an invalid grace period is an InvalidConfig before anything runs", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted()
      for (const onEventGracePeriod of [-1, Number.NaN, "-2 seconds"] as const) {
        const error = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", { onEventGracePeriod }).pipe(
          Effect.flip,
          Effect.provide(layer)
        )
        assert.strictEqual(error._tag, "InvalidConfig")
        assert.include(error.message, "onEventGracePeriod must be a duration of 0 or more")
      }
      assert.strictEqual(log.calls.length, 0)
    }))
})
