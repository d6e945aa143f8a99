import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream } from "effect"
import { EventHub, Orchestrator, OrchestratorEvent, Provider, WebSocket } from "multi-agent-orchestration"
import WS from "ws"
import { fixedWorkflow, tasks } from "./helpers.js"
import { rawGet, serve } from "./servers.js"

const agents = (n: number) => fixedWorkflow(tasks(...Array.from({ length: n }, (_, i) => `t${i + 1}`)), { synthesize: true })

const runInto = (hub: EventHub.EventHub, n: number) =>
  Orchestrator.run(agents(n), "task", { taskId: "run-1", onEvent: hub.publish }).pipe(
    Effect.provide(Provider.simulated({ latency: "20 millis" }))
  )

/** A `ws` client recording every message; `leaveAfter` disconnects after that many messages. */
const wsClient = (url: string, options: { readonly leaveAfter?: number } = {}) => {
  const messages: Array<string> = []
  const socket = new WS(url)
  const opened = new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve())
    socket.once("error", reject)
  })
  const closed = new Promise<{ readonly code: number; readonly reason: string }>((resolve) =>
    socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() }))
  )
  socket.on("message", (data, isBinary) => {
    assert.isFalse(isBinary)
    if (options.leaveAfter !== undefined && messages.length === options.leaveAfter) return
    messages.push(data.toString())
    if (options.leaveAfter !== undefined && messages.length === options.leaveAfter) socket.terminate()
  })
  return { socket, messages, opened, closed }
}

const allEvents = (hub: EventHub.EventHub) =>
  Effect.map(Stream.runCollect(hub.subscribe()), (events) => Chunk.toReadonlyArray(events))

const route = (hub: EventHub.EventHub) => HttpRouter.empty.pipe(HttpRouter.get("/ws", WebSocket.handler(hub)))

describe("WebSocket", () => {
  it.scopedLive("several clients watch one run: every event as a JSON message, then close 1000", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const url = (yield* serve(route(hub))).replace("http", "ws")
      const clients = [wsClient(`${url}/ws`), wsClient(`${url}/ws`)]
      yield* Effect.promise(() => Promise.all(clients.map((c) => c.opened)))
      const result = yield* runInto(hub, 3)
      const all = yield* allEvents(hub)
      for (const client of clients) {
        const close = yield* Effect.promise(() => client.closed)
        assert.deepStrictEqual(close, { code: 1000, reason: "run finished" })
        const decoded = yield* Effect.forEach(client.messages, (m) => OrchestratorEvent.decode(JSON.parse(m)))
        assert.deepStrictEqual(decoded.map((e) => e.sequence), all.map((e) => e.sequence))
        assert.deepStrictEqual(client.messages, all.map(OrchestratorEvent.toJson))
        const last = decoded.at(-1) as OrchestratorEvent.Of<"workflow_complete">
        assert.strictEqual(last.type, "workflow_complete")
        assert.strictEqual(last.data.result?.taskId, result.taskId)
      }
    }))

  it.scopedLive("a client that disconnects does not stop the run nor the other clients", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const url = (yield* serve(route(hub))).replace("http", "ws")
      const leaving = wsClient(`${url}/ws`, { leaveAfter: 2 })
      const staying = wsClient(`${url}/ws`)
      yield* Effect.promise(() => Promise.all([leaving.opened, staying.opened]))
      const run = yield* Effect.fork(runInto(hub, 5))
      const left = yield* Effect.promise(() => leaving.closed)
      assert.strictEqual(left.code, 1006)
      assert.strictEqual(leaving.messages.length, 2)
      const result = yield* Fiber.join(run)
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.agentResults.length, 5)
      assert.strictEqual((yield* Effect.promise(() => staying.closed)).code, 1000)
      assert.strictEqual(staying.messages.length, (yield* allEvents(hub)).length)
    }))

  it.scopedLive("a client resumes after ?lastEventId=N; one that saw the end is closed at once", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const url = (yield* serve(route(hub))).replace("http", "ws")
      yield* runInto(hub, 2)
      const total = (yield* allEvents(hub)).length
      const resumed = wsClient(`${url}/ws?lastEventId=${total - 3}`)
      assert.strictEqual((yield* Effect.promise(() => resumed.closed)).code, 1000)
      assert.deepStrictEqual(resumed.messages.map((m) => JSON.parse(m).sequence), [total - 2, total - 1, total])
      const finished = wsClient(`${url}/ws?lastEventId=${total}`)
      assert.strictEqual((yield* Effect.promise(() => finished.closed)).code, 1000)
      assert.deepStrictEqual(finished.messages, [])
    }))

  it.scopedLive("a lagging client is closed with 4000 and a reason saying where to resume", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const lagging: EventHub.EventHub = {
        ...hub,
        subscribe: (options) =>
          hub.subscribe(options).pipe(
            Stream.take(3),
            Stream.concat(Stream.fail(new EventHub.Lagged({ lastSequence: 3, dropped: 1 })))
          )
      }
      const url = (yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/ws", WebSocket.handler(lagging))))).replace("http", "ws")
      const client = wsClient(`${url}/ws`)
      yield* Effect.promise(() => client.opened)
      yield* runInto(hub, 2)
      assert.deepStrictEqual(yield* Effect.promise(() => client.closed), {
        code: 4000,
        reason: "lagged; resume with ?lastEventId=3"
      })
      assert.strictEqual(client.messages.length, 3)
    }))

  it.scopedLive("send streams any event stream over an upgraded socket, then closes with 1000", () =>
    Effect.gen(function*() {
      const provider = yield* Effect.context<Provider.Provider>().pipe(Effect.provide(Provider.simulated()))
      const perRequest = Effect.gen(function*() {
        const socket = yield* HttpServerRequest.upgrade
        yield* WebSocket.send(socket, Orchestrator.stream(agents(2), "task").pipe(Stream.provideContext(provider)))
        return HttpServerResponse.empty()
      })
      const url = (yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/run", perRequest)))).replace("http", "ws")
      const client = wsClient(`${url}/run`)
      assert.strictEqual((yield* Effect.promise(() => client.closed)).code, 1000)
      const types = client.messages.map((m) => JSON.parse(m).type)
      assert.strictEqual(types[0], "workflow_start")
      assert.strictEqual(types.at(-1), "workflow_complete")
      assert.strictEqual(types.filter((type) => type === "agent_complete").length, 2)
    }))

  it.scopedLive("a plain HTTP request gets 426 Upgrade Required", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const url = yield* serve(route(hub))
      const response = yield* rawGet(`${url}/ws`)
      assert.strictEqual(response.status, 426)
    }))
})
