import { HttpRouter } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, type Duration, Effect, Fiber, Stream, TestClock } from "effect"
import { EventHub, Orchestrator, OrchestratorEvent, Provider, Sse } from "multi-agent-orchestration"
import { fixedWorkflow, tasks } from "./helpers.js"
import { rawGet, runEvents, serve, sseClient } from "./servers.js"

const agents = (n: number) => fixedWorkflow(tasks(...Array.from({ length: n }, (_, i) => `t${i + 1}`)), { synthesize: true })

/** Runs `n` agents into the hub, each call taking `latency`. */
const runInto = (hub: EventHub.EventHub, n: number, latency: Duration.DurationInput = "5 millis") =>
  Orchestrator.run(agents(n), "task", { taskId: "run-1", onEvent: hub.publish }).pipe(
    Effect.provide(Provider.simulated({ latency }))
  )

/** The messages of an SSE body (comments and the retry line left out), field by field. */
const messages = (body: string) =>
  body.split("\n\n").map((block) => Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)])))
    .filter((fields) => "id" in fields) as Array<{ readonly event: string; readonly id: string; readonly data: string }>

const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1))

describe("Sse", () => {
  it.effect("encodes an event as event, id and JSON data lines", () =>
    Effect.gen(function*() {
      const [event] = yield* runEvents(1)
      const text = Sse.encodeEvent(event!)
      assert.strictEqual(text, `event: workflow_start\nid: 1\ndata: ${OrchestratorEvent.toJson(event!)}\n\n`)
      const decoded = yield* OrchestratorEvent.decode(JSON.parse(text.split("data: ")[1]!))
      assert.strictEqual(OrchestratorEvent.toJson(decoded), OrchestratorEvent.toJson(event!))
    }))

  it.effect("heartbeats go out only after `heartbeat` without anything sent", () =>
    Effect.gen(function*() {
      const events = yield* runEvents(1)
      const sent: Array<[number, string]> = []
      // Two events ten seconds apart, then 40 idle seconds before the terminal event.
      const paced = Stream.fromIterable([events[0]!, events[1]!, events.at(-1)!]).pipe(
        Stream.zip(Stream.fromIterable([0, 10, 40])),
        Stream.mapEffect(([event, delay]) => Effect.as(Effect.sleep(`${delay} seconds`), event))
      )
      const fiber = yield* Sse.toText(paced, { heartbeat: "15 seconds" }).pipe(
        Stream.runForEach((text) =>
          Effect.map(TestClock.currentTimeMillis, (now) => void sent.push([now / 1000, text.split("\n").find((line) => !line.startsWith("event: "))!]))
        ),
        Effect.fork
      )
      yield* TestClock.adjust("2 minutes")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(sent, [
        [0, "retry: 2000"],
        [0, "id: 1"],
        [10, "id: 2"],
        [25, ": keep-alive"],
        [40, ": keep-alive"],
        [50, `id: ${events.at(-1)!.sequence}`]
      ])
    }))

  it.scopedLive("clients of a live run get every event, numbered, and the response ends after the terminal event", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const url = yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/events", Sse.handler(hub))))
      const first = sseClient(`${url}/events`)
      const second = sseClient(`${url}/events`)
      yield* Effect.promise(() => Promise.all([first.opened, second.opened]))
      const result = yield* runInto(hub, 4)
      yield* Effect.promise(() => Promise.all([first.done, second.done]))

      const all = Chunk.toReadonlyArray(yield* Stream.runCollect(hub.subscribe()))
      for (const client of [first, second]) {
        assert.deepStrictEqual(client.received.map((m) => m.id), ids(all.length))
        assert.deepStrictEqual(client.received.map((m) => m.type), all.map((e) => e.type))
        const decoded = yield* Effect.forEach(client.received, (m) => OrchestratorEvent.decode(JSON.parse(m.data)))
        assert.deepStrictEqual(decoded.map((e) => String(e.sequence)), ids(all.length))
        const last = decoded.at(-1) as OrchestratorEvent.Of<"workflow_complete">
        assert.strictEqual(last.type, "workflow_complete")
        assert.strictEqual(last.data.result?.taskId, result.taskId)
        assert.strictEqual(last.data.result?.finalSynthesis, result.finalSynthesis)
      }

      // The wire format, and the end of the response after the terminal event.
      const raw = yield* rawGet(`${url}/events`)
      assert.strictEqual(raw.status, 200)
      assert.strictEqual(raw.headers["content-type"], "text/event-stream")
      assert.strictEqual(raw.headers["cache-control"], "no-cache")
      assert.isTrue(raw.ended)
      assert.isTrue(raw.body.startsWith("retry: 2000\n\n"))
      assert.include(raw.body, `\n\nevent: workflow_start\nid: 1\ndata: {"type":"workflow_start"`)
      assert.isTrue(raw.body.endsWith(Sse.encodeEvent(all.at(-1)!)))
      assert.deepStrictEqual(messages(raw.body).map((m) => m.id), ids(all.length))
      assert.deepStrictEqual(messages(raw.body).map((m) => m.event), all.map((e) => e.type))
    }))

  it.scopedLive("sends heartbeat comments while idle", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const url = yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/events", Sse.handler(hub, { heartbeat: "50 millis" }))))
      const raw = yield* rawGet(`${url}/events`, { until: (body) => body.includes(Sse.heartbeatComment) })
      // Only comments while nothing happens; how many the real timer fired by now is not the point (TestClock
      // counts them exactly in the test above).
      assert.isTrue(raw.body.startsWith(`retry: 2000\n\n${Sse.heartbeatComment}`))
      assert.strictEqual(raw.body.replaceAll(Sse.heartbeatComment, ""), "retry: 2000\n\n")
    }))

  it.scopedLive("a client that reconnects with Last-Event-ID gets the events it missed, once each", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const url = yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/events", Sse.handler(hub, { retry: "20 millis" }))))
      const client = sseClient(`${url}/events`, { cutFirstResponse: true })
      yield* Effect.promise(() => client.opened)
      const run = yield* Effect.fork(runInto(hub, 6, "20 millis"))
      yield* Effect.promise(() => client.done)
      yield* Fiber.join(run)
      const total = Chunk.size(yield* Stream.runCollect(hub.subscribe()))
      assert.deepStrictEqual(client.received.map((m) => m.id), ids(total))
      // The connection dropped once; the second request resumed after the last event the client had.
      assert.isAtLeast(client.requests.length, 2)
      assert.isUndefined(client.requests[0]!["Last-Event-ID"])
      const resumedAfter = client.errors[0]!.lastId!
      assert.isAbove(Number(resumedAfter), 0)
      assert.isBelow(Number(resumedAfter), total)
      assert.strictEqual(client.requests[1]!["Last-Event-ID"], resumedAfter)

      // A client that has seen the end gets 204, which stops EventSource from reconnecting.
      const after = yield* rawGet(`${url}/events`, { headers: { "Last-Event-ID": String(total) } })
      assert.strictEqual(after.status, 204)
      const resumed = yield* rawGet(`${url}/events?lastEventId=${total - 2}`)
      assert.deepStrictEqual(messages(resumed.body).map((m) => m.id), [String(total - 1), String(total)])
    }))

  it.scopedLive("a client that lags is disconnected and catches up from the replay buffer", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      let subscriptions = 0
      // The first subscription of this hub falls behind after three events.
      const lagging: EventHub.EventHub = {
        ...hub,
        subscribe: (options) =>
          ++subscriptions === 1
            ? hub.subscribe(options).pipe(
              Stream.take(3),
              Stream.concat(Stream.fail(new EventHub.Lagged({ lastSequence: 3, dropped: 1 })))
            )
            : hub.subscribe(options)
      }
      const url = yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/events", Sse.handler(lagging, { retry: "20 millis" }))))
      const client = sseClient(`${url}/events`)
      yield* Effect.promise(() => client.opened)
      yield* runInto(hub, 3)
      yield* Effect.promise(() => client.done)
      const total = Chunk.size(yield* Stream.runCollect(hub.subscribe()))
      assert.deepStrictEqual(client.received.map((m) => m.id), ids(total))
      assert.strictEqual(client.requests[1]!["Last-Event-ID"], "3")
    }))

  it.scopedLive("a client that goes away does not stop the run", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const url = yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/events", Sse.handler(hub))))
      const run = yield* Effect.fork(runInto(hub, 5, "20 millis"))
      // Reads until the first agent finished, then hangs up.
      const early = yield* rawGet(`${url}/events`, { until: (body) => body.includes("event: agent_complete") })
      assert.isFalse(early.ended)
      const result = yield* Fiber.join(run)
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.agentResults.length, 5)
    }))

  it.scopedLive("toResponse streams a single run to the client that asked for it", () =>
    Effect.gen(function*() {
      const provider = yield* Effect.context<Provider.Provider>().pipe(Effect.provide(Provider.simulated()))
      const url = yield* serve(
        HttpRouter.empty.pipe(
          HttpRouter.get("/run", Effect.sync(() => Sse.toResponse(Orchestrator.stream(agents(2), "task").pipe(Stream.provideContext(provider)))))
        )
      )
      const raw = yield* rawGet(`${url}/run`)
      assert.isTrue(raw.ended)
      const types = messages(raw.body).map((m) => m.event)
      assert.strictEqual(types[0], "workflow_start")
      assert.strictEqual(types.at(-1), "workflow_complete")
    }))
})
