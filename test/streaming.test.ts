import { HttpRouter } from "@effect/platform"
import { Terminal } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Clock, Duration, Effect, Fiber, Layer, Stream, TestClock } from "effect"
import {
  type AgentResult,
  DreamCascade,
  EventHub,
  Orchestrator,
  type OrchestratorEvent,
  ProgressBar,
  Provider,
  Sse,
  WebSocket,
  Workflow
} from "multi-agent-orchestration"
import WS from "ws"
import { fixedWorkflow, recorder, tasks } from "./helpers.js"
import { serve, sseClient } from "./servers.js"

type Delta = OrchestratorEvent.Of<"agent_delta">

/** A reply of `n` words: "w1 w2 … wn". */
const wordsReply = (n: number) => Array.from({ length: n }, (_, i) => `w${i + 1}`).join(" ")

/** Each agent's deltas, in order. */
const byAgent = (deltas: ReadonlyArray<Delta>): Map<string, Array<Delta>> => {
  const agents = new Map<string, Array<Delta>>()
  for (const delta of deltas) {
    const list = agents.get(delta.agentId!) ?? []
    list.push(delta)
    agents.set(delta.agentId!, list)
  }
  return agents
}

/** What a viewer shows for an agent: the text of its deltas since the last restart. */
const shown = (deltas: ReadonlyArray<Delta>): string => {
  let text = ""
  for (const delta of deltas) text = (delta.data.restart === true ? "" : text) + delta.data.text
  return text
}

/** Runs `effect` on a fiber and moves the TestClock forward until it is done. */
const advancing = <A, E>(effect: Effect.Effect<A, E>, step: Duration.DurationInput = "1 second", steps = 120) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < steps; i++) yield* TestClock.adjust(step)
    return yield* Fiber.join(fiber)
  })

describe("the simulated provider streams", () => {
  it.effect("word by word, its latency spread over the words, on the Clock, ending with its usage", () =>
    Effect.gen(function*() {
      const layer = Provider.simulated({ latency: "1 second", respond: () => "one two three four" })
      const seen: Array<readonly [number, string]> = []
      const fiber = yield* Provider.streamText({ prompt: "count" }).pipe(
        Stream.runForEach((chunk) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            seen.push([now, chunk._tag === "TextDelta" ? chunk.text : `finish: ${chunk.completion.content}`])
          })
        ),
        Effect.provide(layer),
        Effect.fork
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(seen, [
        [250, "one "],
        [500, "two "],
        [750, "three "],
        [1000, "four"],
        [1000, "finish: one two three four"]
      ])
      // The streamed completion is the one `complete` gives.
      const instant = Provider.simulated({ respond: () => "one two three four" })
      const streamed = yield* Provider.streamText({ prompt: "count" }).pipe(Stream.runLast, Effect.provide(instant))
      const completed = yield* Provider.complete({ prompt: "count" }).pipe(Effect.provide(instant))
      const last = streamed._tag === "Some" ? streamed.value : undefined
      assert.deepStrictEqual(last?._tag === "Finish" ? last.completion : undefined, completed)
    }))

  it.effect("a failing call breaks off halfway through its reply", () =>
    Effect.gen(function*() {
      const chunks = yield* Provider.streamText({ prompt: "count" }).pipe(
        Stream.catchAll((error) => Stream.make(`failed: ${error._tag}`)),
        Stream.map((chunk) => (typeof chunk === "string" ? chunk : chunk._tag === "TextDelta" ? chunk.text : "finish")),
        Stream.runCollect,
        Effect.provide(Provider.simulated({ respond: () => "one two three four", failures: { calls: [1] } }))
      )
      assert.deepStrictEqual(Chunk.toReadonlyArray(chunks), ["one ", "two ", "failed: Unavailable"])
    }))
})

describe("a run that streams tokens", () => {
  it.effect("sends each agent's text in agent_delta events, at most one per agent per 50 ms, none lost", () =>
    Effect.gen(function*() {
      const events = recorder()
      const ids = Array.from({ length: 5 }, (_, i) => `a${i + 1}`)
      // 100 words a second: a word every 10 ms, five times faster than the events may go.
      const result = yield* advancing(
        Orchestrator.run(fixedWorkflow(tasks(...ids)), "task", { streamTokens: true, onEvent: events.onEvent }).pipe(
          Effect.provide(Provider.simulated({ latency: "1 second", respond: () => wordsReply(100) }))
        ),
        "100 millis",
        15
      )
      assert.strictEqual(result.status, "completed")
      const agents = byAgent(events.ofType("agent_delta"))
      assert.deepStrictEqual([...agents.keys()].sort(), [...ids].sort())
      for (const [agentId, deltas] of agents) {
        for (let i = 1; i < deltas.length; i++) {
          assert.isAtLeast(deltas[i]!.timestamp - deltas[i - 1]!.timestamp, 50 - 1e-6, `${agentId}: deltas ${i} and ${i + 1}`)
        }
        // One second of writing: a delta at once, then one per 50 ms slot at most.
        assert.isAtMost(deltas.length, 21)
        assert.isAtLeast(deltas.length, 19)
        const content = result.agentResults.find((r) => r.agentId === agentId)!.content
        assert.strictEqual(deltas.map((d) => d.data.text).join(""), content)
        assert.strictEqual(content, wordsReply(100))
        assert.isTrue(deltas.every((d) => d.data.attempt === 1 && d.data.restart === undefined && d.data.model === "simulated"))
      }
      // Every agent's deltas come before its completion.
      for (const complete of events.ofType("agent_complete")) {
        const last = agents.get(complete.agentId!)!.at(-1)!
        assert.isBelow(last.sequence, complete.sequence)
      }
    }))

  it.effect("deltas keep their 50 ms apart by their own timestamps on a clock that moves between two readings", () =>
    Effect.gen(function*() {
      // Each reading of this clock is 0 to 4 ms later than the one before, as a busy machine's may be. Its
      // sleeps end at once, having moved it on; the watchdog's, towards the agents' deadlines minutes away,
      // never end, as they would not before a run of a few seconds did.
      let now = 0
      let reads = 0
      const read = () => (now += reads++ % 5)
      const moving: Clock.Clock = {
        [Clock.ClockTypeId]: Clock.ClockTypeId,
        unsafeCurrentTimeMillis: read,
        currentTimeMillis: Effect.sync(read),
        unsafeCurrentTimeNanos: () => BigInt(read()) * 1_000_000n,
        currentTimeNanos: Effect.sync(() => BigInt(read()) * 1_000_000n),
        sleep: (duration) =>
          Duration.toMillis(duration) > 60_000 ? Effect.never : Effect.sync(() => (now += Duration.toMillis(duration)))
      }
      const events = recorder()
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", {
        streamTokens: true,
        onEvent: events.onEvent
      }).pipe(
        Effect.provide(Provider.simulated({ latency: "1 second", respond: () => wordsReply(100) })),
        Effect.withClock(moving)
      )
      assert.strictEqual(result.status, "completed")
      const agents = byAgent(events.ofType("agent_delta"))
      assert.strictEqual(agents.size, 2)
      for (const [agentId, deltas] of agents) {
        assert.isAbove(deltas.length, 5)
        for (let i = 1; i < deltas.length; i++) {
          assert.isAtLeast(deltas[i]!.timestamp - deltas[i - 1]!.timestamp, 50, `${agentId}: deltas ${i} and ${i + 1}`)
        }
      }
    }))

  it.effect("without streamTokens, calls are not streamed and no agent_delta is sent", () =>
    Effect.gen(function*() {
      const events = recorder()
      const streamed: Array<string> = []
      const provider = Provider.make(
        (request) => Effect.succeed({ content: "whole", model: request.model ?? "m", usage: { inputTokens: 1, outputTokens: 1 } }),
        { stream: () => Stream.die(streamed.push("stream")) }
      )
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", { onEvent: events.onEvent }).pipe(
        Effect.provide(provider)
      )
      assert.strictEqual(result.status, "completed")
      assert.deepStrictEqual(streamed, [])
      assert.notInclude(events.types(), "agent_delta")
    }))

  it.effect("a provider without a stream still shows its text, in one delta when the call returns", () =>
    Effect.gen(function*() {
      const events = recorder()
      const provider = Provider.make((request) =>
        Effect.succeed({ content: `whole ${request.prompt}`, model: "m", usage: { inputTokens: 1, outputTokens: 1 } })
      )
      yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", { streamTokens: true, onEvent: events.onEvent }).pipe(
        Effect.provide(provider)
      )
      assert.deepStrictEqual(events.ofType("agent_delta").map((e) => e.data.text), ["whole do a"])
    }))

  it.effect("retries and the fallback model start the text again, and their first delta says restart", () =>
    Effect.gen(function*() {
      const events = recorder()
      const result = yield* advancing(
        Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
          streamTokens: true,
          onEvent: events.onEvent,
          config: { maxRetries: 1, fallbackModel: "backup" }
        }).pipe(Effect.provide(Provider.simulated({
          latency: "400 millis",
          respond: () => wordsReply(8),
          failures: { calls: [1, 2] }
        })))
      )
      assert.strictEqual(result.status, "completed")
      const deltas = events.ofType("agent_delta")
      // Each failing attempt wrote half its reply before breaking off.
      assert.deepStrictEqual(
        deltas.map((d) => [d.data.attempt, d.data.model, d.data.restart === true, d.data.text]),
        [
          [1, "simulated", false, "w1 "],
          [1, "simulated", false, "w2 "],
          [1, "simulated", false, "w3 "],
          [1, "simulated", false, "w4 "],
          [2, "simulated", true, "w1 "],
          [2, "simulated", false, "w2 "],
          [2, "simulated", false, "w3 "],
          [2, "simulated", false, "w4 "],
          [3, "backup", true, "w1 "],
          [3, "backup", false, "w2 "],
          [3, "backup", false, "w3 "],
          [3, "backup", false, "w4 "],
          [3, "backup", false, "w5 "],
          [3, "backup", false, "w6 "],
          [3, "backup", false, "w7 "],
          [3, "backup", false, "w8"]
        ]
      )
      assert.strictEqual(shown(deltas), result.agentResults[0]!.content)
      // The restarts follow the retry events that announce them.
      const types = events.types().filter((type) => type === "agent_retry" || type === "agent_delta")
      assert.deepStrictEqual(types.slice(0, 6), [
        "agent_delta",
        "agent_delta",
        "agent_delta",
        "agent_delta",
        "agent_retry",
        "agent_delta"
      ])
    }))

  it.effect("an agent that consumes Provider.streamText gets every delta as it comes, restarted after a failed attempt", () =>
    Effect.gen(function*() {
      const received: Array<string> = []
      const workflow = Workflow.make({
        name: "own-stream",
        decompose: () => Effect.succeed(tasks("a")),
        execute: (subtask) =>
          Provider.streamText({ prompt: subtask.description }).pipe(
            Stream.runFoldEffect("", (text, chunk) =>
              Effect.sync(() => {
                if (chunk._tag === "Finish") {
                  received.push(`finish ${chunk.completion.usage.outputTokens}`)
                  return text
                }
                received.push(`${chunk.restart === true ? "restart " : ""}${chunk.text}`)
                return (chunk.restart === true ? "" : text) + chunk.text
              })
            )
          )
      })
      const result = yield* advancing(
        Orchestrator.run(workflow, "task", { config: { maxRetries: 1 } }).pipe(
          Effect.provide(Provider.simulated({ latency: "300 millis", respond: () => "x y z", failures: { calls: [1] } }))
        )
      )
      const agent: AgentResult.AgentResult = result.agentResults[0]!
      assert.strictEqual(agent.status, "completed")
      assert.strictEqual(agent.content, "x y z")
      assert.strictEqual(agent.attempts, 2)
      assert.deepStrictEqual(received, ["x ", "restart x ", "y ", "z", "finish 2"])
      // The call is metered like `complete`: the usage of the attempt that finished.
      assert.deepStrictEqual(agent.usage, { inputTokens: 1, outputTokens: 2 })
    }))

  it.effect("the built-in patterns stream when the run asks: every Dream Cascade agent's text arrives", () =>
    Effect.gen(function*() {
      const events = recorder()
      const result = yield* advancing(
        Orchestrator.run(DreamCascade.make({ belterCount: 3, drummerCount: 1, caminaCount: 1 }), "Tidal energy", {
          streamTokens: true,
          onEvent: events.onEvent
        }).pipe(Effect.provide(Provider.simulated({ latency: "500 millis" })))
      )
      assert.strictEqual(result.status, "completed")
      const agents = byAgent(events.ofType("agent_delta"))
      for (const agent of result.agentResults) {
        assert.strictEqual(shown(agents.get(agent.agentId) ?? []), agent.content, agent.agentId)
      }
      // The plan is typed output, answered whole: it sends no text deltas.
      assert.isFalse([...agents.keys()].some((id) => id.includes("(decomposition)")))
    }))
})

describe("consumers of a streaming run", () => {
  const run = (hub: EventHub.EventHub) =>
    Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", { streamTokens: true, onEvent: hub.publish }).pipe(
      Effect.provide(Provider.simulated({ latency: "200 millis", respond: (request) => `${request.prompt}: ${wordsReply(20)}` }))
    )

  it.scopedLive("SSE clients get the text as agent_delta events", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const url = yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/events", Sse.handler(hub))))
      const client = sseClient(`${url}/events`)
      yield* Effect.promise(() => client.opened)
      const result = yield* run(hub)
      yield* Effect.promise(() => client.done)
      const deltas = client.received.filter((m) => m.type === "agent_delta").map((m) => JSON.parse(m.data) as Delta)
      assert.isAbove(deltas.length, 2)
      for (const agent of result.agentResults) {
        assert.strictEqual(shown(deltas.filter((d) => d.agentId === agent.agentId)), agent.content)
      }
    }))

  it.scopedLive("WebSocket clients get the text as agent_delta messages", () =>
    Effect.gen(function*() {
      const hub = yield* EventHub.make()
      const url = (yield* serve(HttpRouter.empty.pipe(HttpRouter.get("/ws", WebSocket.handler(hub))))).replace("http", "ws")
      const messages: Array<Delta> = []
      const socket = new WS(`${url}/ws`)
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()))
      yield* Effect.promise(() => new Promise<void>((resolve) => socket.once("open", () => resolve())))
      socket.on("message", (data) => {
        const event = JSON.parse(data.toString()) as OrchestratorEvent.Encoded
        if (event.type === "agent_delta") messages.push(event as Delta)
      })
      const result = yield* run(hub)
      yield* Effect.promise(() => closed)
      for (const agent of result.agentResults) {
        assert.strictEqual(shown(messages.filter((d) => d.agentId === agent.agentId)), agent.content)
      }
    }))

  it.effect("the progress bar stays one line: streamed text never redraws it nor prints a line", () =>
    Effect.gen(function*() {
      const events = recorder()
      yield* advancing(
        Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", { streamTokens: true, onEvent: events.onEvent }).pipe(
          Effect.provide(Provider.simulated({ latency: "1 second", respond: () => wordsReply(50) }))
        ),
        "1 second",
        5
      )
      const deltas = events.ofType("agent_delta").length
      assert.isAbove(deltas, 10)
      for (const live of [true, false]) {
        const output: Array<string> = []
        const terminal = Layer.succeed(Terminal.Terminal, Terminal.Terminal.of({
          columns: Effect.succeed(120),
          rows: Effect.succeed(40),
          isTTY: Effect.succeed(live),
          readInput: Effect.die("not used"),
          readLine: Effect.die("not used"),
          display: (text) => Effect.sync(() => void output.push(text))
        }))
        const withDeltas = yield* Effect.scoped(Effect.gen(function*() {
          const bar = yield* ProgressBar.make({ live, refresh: "1 hour" })
          for (const event of events.events) yield* bar.onEvent(event)
          return output.length
        })).pipe(Effect.provide(terminal))
        output.length = 0
        const without = yield* Effect.scoped(Effect.gen(function*() {
          const bar = yield* ProgressBar.make({ live, refresh: "1 hour" })
          for (const event of events.events) if (event.type !== "agent_delta") yield* bar.onEvent(event)
          return output.length
        })).pipe(Effect.provide(terminal))
        assert.strictEqual(withDeltas, without, live ? "live" : "plain")
      }
    }))
})
