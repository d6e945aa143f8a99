import { assert, it } from "@effect/vitest"
import { Effect, Fiber, TestClock, Stream } from "effect"
import { Orchestrator, Provider, Workflow } from "multi-agent-orchestration"
import { fixedWorkflow, recorder, tasks } from "./helpers.js"

it.effect("streams", () =>
  Effect.gen(function*() {
    const events = recorder()
    const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
      onEvent: events.onEvent,
      streamTokens: true,
      config: { maxRetries: 1, fallbackModel: "fb" }
    }).pipe(Effect.provide(Provider.simulated({ latency: "200 millis", respond: () => "one two three four five six seven eight nine ten", failures: { calls: [1, 2] } })), Effect.fork)
    yield* TestClock.adjust("100 seconds")
    const result = yield* Fiber.join(fiber)
    for (const e of events.events) console.log(e.timestamp, e.type, e.agentId, JSON.stringify(e.data).slice(0, 150))
    assert.strictEqual(result.status, "completed")
  }), 5000)

it.effect("user stream", () =>
  Effect.gen(function*() {
    const got: Array<unknown> = []
    const wf = Workflow.make({ name: "w", decompose: () => Effect.succeed(tasks("a")), execute: () => Provider.streamText({ prompt: "x" }).pipe(Stream.runForEach((c) => Effect.sync(() => got.push(c._tag === "TextDelta" ? [c.text, c.restart] : "finish"))), Effect.as("ok")) })
    const fiber = yield* Orchestrator.run(wf, "task", {
      config: { maxRetries: 1 }
    }).pipe(Effect.provide(Provider.simulated({ latency: "200 millis", respond: () => "one two three four", failures: { calls: [1] } })), Effect.fork)
    yield* TestClock.adjust("100 seconds")
    const result = yield* Fiber.join(fiber)
    console.log(got, result.agentResults[0]?.attempts)
  }), 5000)
