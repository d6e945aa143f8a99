import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Option, Stream, TestClock } from "effect"
import { EventHub, Orchestrator, OrchestratorEvent, Provider } from "multi-agent-orchestration"
import { fixedWorkflow, tasks } from "./helpers.js"
import { runEvents } from "./servers.js"

const sequences = (events: Chunk.Chunk<OrchestratorEvent.OrchestratorEvent>) =>
  Chunk.toReadonlyArray(events).map((event) => event.sequence)

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe("EventHub", () => {
  it.scoped("every subscriber gets every event in order and its stream ends after the terminal event", () =>
    Effect.gen(function*() {
      const events = yield* runEvents(3)
      const hub = yield* EventHub.make()
      const first = yield* hub.subscribe().pipe(Stream.runCollect, Effect.fork)
      const second = yield* hub.subscribe().pipe(Stream.runCollect, Effect.fork)
      yield* Effect.yieldNow()
      for (const event of events) yield* hub.publish(event)
      assert.deepStrictEqual(sequences(yield* Fiber.join(first)), range(1, events.length))
      assert.deepStrictEqual(sequences(yield* Fiber.join(second)), range(1, events.length))
      assert.strictEqual(Option.getOrThrow(yield* hub.terminal).type, "workflow_complete")
    }))

  it.scoped("a late subscriber replays the kept events, from after the id it gives", () =>
    Effect.gen(function*() {
      const events = yield* runEvents(3)
      const hub = yield* EventHub.make()
      for (const event of events.slice(0, 5)) yield* hub.publish(event)
      const resumed = yield* hub.subscribe({ after: 3 }).pipe(Stream.runCollect, Effect.fork)
      yield* Effect.yieldNow()
      for (const event of events.slice(5)) yield* hub.publish(event)
      assert.deepStrictEqual(sequences(yield* Fiber.join(resumed)), range(4, events.length))
      // After the run: the whole replay, or nothing for a client that saw the end.
      assert.deepStrictEqual(sequences(yield* Stream.runCollect(hub.subscribe())), range(1, events.length))
      assert.deepStrictEqual(sequences(yield* Stream.runCollect(hub.subscribe({ after: events.length }))), [])
      assert.isTrue(hub.isFinishedAfter(events.length))
      assert.isFalse(hub.isFinishedAfter(events.length - 1))
    }))

  it.scoped("a subscription from past the end of a live run ends with the run, empty", () =>
    Effect.gen(function*() {
      const events = yield* runEvents(2)
      const hub = yield* EventHub.make()
      yield* hub.publish(events[0]!)
      const ahead = yield* hub.subscribe({ after: 999 }).pipe(Stream.runCollect, Effect.fork)
      yield* Effect.yieldNow()
      for (const event of events.slice(1)) yield* hub.publish(event)
      assert.deepStrictEqual(sequences(yield* Fiber.join(ahead)), [])
    }))

  it.scoped("the replay buffer keeps only the latest events", () =>
    Effect.gen(function*() {
      const events = yield* runEvents(5)
      const hub = yield* EventHub.make({ replay: 4 })
      for (const event of events) yield* hub.publish(event)
      const n = events.length
      assert.deepStrictEqual(sequences(yield* Stream.runCollect(hub.subscribe())), range(n - 3, n))
      // Resuming from an evicted id gives what is still kept.
      assert.deepStrictEqual(sequences(yield* Stream.runCollect(hub.subscribe({ after: 2 }))), range(n - 3, n))
    }))

  it.scoped("a slow subscriber gets Lagged; a fast one and the publisher are not held back", () =>
    Effect.gen(function*() {
      const events = yield* runEvents(10)
      const hub = yield* EventHub.make({ clientBuffer: 4 })
      const fast = yield* hub.subscribe().pipe(Stream.runCollect, Effect.fork)
      const reading = yield* Deferred.make<void>()
      const slow = yield* hub.subscribe().pipe(
        Stream.tap(() => Effect.zipRight(Deferred.succeed(reading, undefined), Effect.sleep("1 second"))),
        Stream.runCollect,
        Effect.either,
        Effect.fork
      )
      yield* hub.publish(events[0]!)
      yield* Deferred.await(reading)
      // Every publish returns at once although the slow subscriber reads one event a second.
      for (const event of events.slice(1)) yield* hub.publish(event)
      assert.deepStrictEqual(sequences(yield* Fiber.join(fast)), range(1, events.length))
      yield* TestClock.adjust("1 minute")
      const lagged = yield* Fiber.join(slow)
      assert.isTrue(lagged._tag === "Left" && lagged.left._tag === "Lagged")
      if (lagged._tag === "Left") {
        assert.isAbove(lagged.left.dropped, 0)
        assert.isAbove(lagged.left.lastSequence, 0)
        // It resumes from its last event and gets the rest, without a gap.
        const rest = yield* Stream.runCollect(hub.subscribe({ after: lagged.left.lastSequence }))
        assert.deepStrictEqual(sequences(rest), range(lagged.left.lastSequence + 1, events.length))
      }
    }))

  it.scoped("shutdown ends every subscription", () =>
    Effect.gen(function*() {
      const events = yield* runEvents(1)
      const hub = yield* EventHub.make()
      const started = yield* Deferred.make<void>()
      const reader = yield* hub.subscribe().pipe(
        Stream.tap(() => Deferred.succeed(started, undefined)),
        Stream.runCollect,
        Effect.fork
      )
      yield* Effect.yieldNow()
      yield* hub.publish(events[0]!)
      yield* Deferred.await(started)
      yield* hub.shutdown
      const got = yield* Fiber.join(reader).pipe(Effect.exit)
      assert.strictEqual(got._tag, "Success")
    }))

  it.scoped("works as Orchestrator.run's onEvent while clients read", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const reader = yield* hub.subscribe().pipe(Stream.runCollect, Effect.fork)
      yield* Effect.yieldNow()
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", { onEvent: hub.publish }).pipe(
        Effect.provide(Provider.simulated())
      )
      const got = Chunk.toReadonlyArray(yield* Fiber.join(reader))
      const last = got.at(-1)!
      assert.isTrue(OrchestratorEvent.isTerminal(last))
      assert.strictEqual((last as OrchestratorEvent.Of<"workflow_complete">).data.result, result)
    }))
})
