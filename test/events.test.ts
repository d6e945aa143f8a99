import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Stream, Supervisor, TestClock } from "effect"
import { Orchestrator, OrchestratorEvent, OrchestratorResult, Provider, Workflow } from "multi-agent-orchestration"
import { fixedWorkflow, recorder, scripted, tasks } from "./helpers.js"
import { captureLogs } from "./logs.js"

describe("events", () => {
  it.effect("come in order, numbered, with progress from 0 rising to 100", () =>
    Effect.gen(function*() {
      const events = recorder()
      const { layer } = scripted({ latency: "1 second" })
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a", { id: "b", dependencies: ["a"] }), { synthesize: true }), "task", {
        taskId: "run-1",
        title: "Two steps",
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(events.types(), [
        "workflow_start",
        "decomposition_start",
        "decomposition_complete",
        "agent_start",
        "agent_complete",
        "agent_start",
        "agent_complete",
        "synthesis_start",
        "synthesis_complete",
        "workflow_complete"
      ])
      assert.deepStrictEqual(events.events.map((e) => e.sequence), events.events.map((_, i) => i + 1))
      const progress = events.events.map((e) => e.progress)
      assert.strictEqual(progress[0], 0)
      assert.strictEqual(progress.at(-1), 100)
      progress.slice(1).forEach((p, i) => assert.isAtLeast(p, progress[i]!))
      // Progress rises as agents finish, not as they start.
      const [, firstDone, , secondDone] = events.events.filter((e) => e.type.startsWith("agent_")).map((e) => e.progress)
      assert.isAbove(secondDone!, firstDone!)
      assert.isTrue(events.events.every((e) => e.taskId === "run-1" && e.workflowId === "run-1"))
      const start = events.ofType("workflow_start")[0]!
      assert.deepStrictEqual(start.data, { task: "task", title: "Two steps", workflow: "fixed" })
      const agentEvents = events.ofType("agent_complete")
      assert.deepStrictEqual(agentEvents.map((e) => [e.agentId, e.timestamp]), [["a", 1000], ["b", 2000]])
      const done = events.ofType("workflow_complete")[0]!
      assert.strictEqual(done.data.result, result)
      assert.strictEqual(result.taskId, "run-1")
      assert.strictEqual(result.executionTime, 3)
      assert.strictEqual(result.startedAt, "1970-01-01T00:00:00.000Z")
      assert.strictEqual(result.completedAt, "1970-01-01T00:00:03.000Z")
      // Every event is valid against the schema.
      for (const event of events.events) OrchestratorEvent.encode(event)
    }))

  it.effect("Orchestrator.stream gives the same events and ends with the result", () =>
    Effect.gen(function*() {
      const events = yield* Orchestrator.stream(fixedWorkflow(tasks("a", "b")), "task").pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(Provider.simulated())
      )
      const last = events.at(-1)!
      assert.strictEqual(last.type, "workflow_complete")
      assert.isTrue(OrchestratorEvent.isTerminal(last))
      assert.instanceOf((last as OrchestratorEvent.Of<"workflow_complete">).data.result, OrchestratorResult.OrchestratorResult)
      assert.strictEqual(events.filter((e) => e.type === "agent_complete").length, 2)
    }))

  it.effect("a stream with invalid input fails with the InvalidConfig", () =>
    Effect.gen(function*() {
      const error = yield* Orchestrator.stream(fixedWorkflow(tasks("a")), "task", { config: { maxRetries: -1 } }).pipe(
        Stream.runDrain,
        Effect.flip,
        Effect.provide(Provider.simulated())
      )
      assert.strictEqual(error._tag, "InvalidConfig")
    }))

  it.effect("interrupting a run interrupts every in-flight call and reports what finished", () =>
    Effect.gen(function*() {
      const events = recorder()
      const { layer, log } = scripted({ latency: (r) => (r.prompt === "do quick" ? "1 second" : "1 hour") })
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("quick", "slow1", "slow2", "slow3")), "task", {
        config: { maxConcurrentAgents: 3 },
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(log.inFlight, 3)
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(log.inFlight, 0)
      assert.strictEqual(log.interrupted, 3)
      const cancelled = events.ofType("workflow_cancelled")
      assert.strictEqual(cancelled.length, 1)
      assert.strictEqual(events.types().at(-1), "workflow_cancelled")
      assert.strictEqual(cancelled[0]!.data.completedAgents, 1)
      assert.deepStrictEqual(cancelled[0]!.data.agentResults.map((r) => r.subtaskId), ["quick"])
      assert.strictEqual(cancelled[0]!.data.result!.status, "cancelled")
    }))

  it.effect("a stream consumer that stops early interrupts the run", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ latency: "1 hour" })
      const fiber = yield* Orchestrator.stream(fixedWorkflow(tasks("a", "b", "c")), "task").pipe(
        Stream.takeUntil((event) => event.type === "agent_start" && event.data.subtaskId === "c"),
        Stream.runCollect,
        Effect.provide(layer),
        Effect.fork
      )
      yield* TestClock.adjust("1 second")
      const taken = yield* Fiber.join(fiber)
      assert.strictEqual(Chunk.size(taken), 6)
      assert.strictEqual(log.interrupted, 3)
      assert.strictEqual(log.inFlight, 0)
    }))

  it.effect("cancelWhen stops the run and returns a cancelled result with what finished", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ latency: (r) => (r.prompt === "do quick" ? "1 second" : "1 hour") })
      const stop = yield* Deferred.make<void>()
      const fiber = yield* Orchestrator.stream(fixedWorkflow(tasks("quick", "slow")), "task", {
        cancelWhen: Deferred.await(stop)
      }).pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray), Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("5 seconds")
      yield* Deferred.succeed(stop, undefined)
      const events = yield* Fiber.join(fiber)
      const last = events.at(-1) as OrchestratorEvent.Of<"workflow_cancelled">
      assert.strictEqual(last.type, "workflow_cancelled")
      assert.strictEqual(last.data.reason, "cancelWhen fired")
      assert.deepStrictEqual(last.data.agentResults.map((r) => r.subtaskId), ["quick"])
      assert.strictEqual(log.interrupted, 1)

      const result = yield* Orchestrator.run(fixedWorkflow(tasks("quick", "slow")), "task", {
        cancelWhen: Effect.sleep("5 seconds"),
        config: { primaryModel: "gpt-4o" }
      }).pipe(Effect.provide(layer), Effect.fork, Effect.tap(() => TestClock.adjust("5 seconds")), Effect.flatMap(Fiber.join))
      assert.strictEqual(result.status, "cancelled")
      assert.strictEqual(result.failure?._tag, "WorkflowCancelled")
      assert.deepStrictEqual(result.agentResults.map((r) => r.subtaskId), ["quick"])
      // What finished is paid for: the quick agent's 100 input and 50 output tokens at gpt-4o's $2.50 and $10 per million.
      assert.closeTo(result.totalCost, (100 * 2.5 + 50 * 10) / 1e6, 1e-12)
      assert.strictEqual(result.agentResults[0]!.cost, result.totalCost)
    }))

  it.effect("a slow consumer loses no event and does not hold the agents back", () =>
    Effect.gen(function*() {
      const seen: Array<OrchestratorEvent.Type> = []
      const { layer } = scripted({ latency: "1 second" })
      const ids = Array.from({ length: 10 }, (_, i) => `t${i}`)
      let agentsDoneAt = -1
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks(...ids)), "task", {
        onEvent: (event) =>
          Effect.gen(function*() {
            seen.push(event.type)
            if (event.type === "synthesis_complete") agentsDoneAt = event.timestamp
            yield* Effect.sleep("1 second")
          })
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      // The agents finished after one second of virtual time although each event took the consumer a second.
      assert.strictEqual(agentsDoneAt, 1000)
      assert.strictEqual(seen.length, 1 + 2 + 20 + 2 + 1)
      assert.strictEqual(seen.at(-1), "workflow_complete")
    }))

  it.effect("a callback that returns nothing sees each event as it happens, even while agents keep the CPU busy", () =>
    Effect.gen(function*() {
      let executed = 0
      let executedAtFirstCompletion = -1
      const workflow = Workflow.make({
        name: "busy",
        decompose: () => Effect.succeed(tasks(...Array.from({ length: 300 }, (_, i) => `t${i}`))),
        execute: (subtask) => Effect.sync(() => `${subtask.id} done after ${++executed} agents`),
        synthesize: (results) => Effect.succeed(`${results.length}`)
      })
      const result = yield* Orchestrator.run(workflow, "task", {
        config: { maxConcurrentAgents: 10 },
        onEvent: (event) => {
          if (event.type === "agent_complete" && executedAtFirstCompletion < 0) executedAtFirstCompletion = executed
        }
      }).pipe(Effect.provide(Provider.simulated()))
      assert.strictEqual(result.status, "completed")
      // Queued for a fiber of its own, the first completion was seen only once all 300 agents had run.
      assert.isAtLeast(executedAtFirstCompletion, 1)
      assert.isAtMost(executedAtFirstCompletion, 10)
    }))

  it.effect("a callback that starts returning effects mid-run still gets every event once, in order", () =>
    Effect.gen(function*() {
      const sequences: Array<number> = []
      const { layer } = scripted({ latency: "1 second" })
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b", "c", "d")), "task", {
        onEvent: (event) => {
          sequences.push(event.sequence)
          // Plain at first; an effect that takes a second from the first agent on.
          return event.type.startsWith("agent") ? Effect.sleep("1 second") : undefined
        }
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      assert.deepStrictEqual(sequences, Array.from({ length: sequences.length }, (_, i) => i + 1))
      assert.strictEqual(sequences.length, 1 + 2 + 8 + 2 + 1)
    }))

  it.effect("the run waits for what the callback returns for its last event, though it took the others at once", () =>
    Effect.gen(function*() {
      let lastHandled = false
      const { layer } = scripted({ latency: "1 second" })
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        onEvent: (event) =>
          event.type === "workflow_complete"
            ? Effect.sleep("5 seconds").pipe(Effect.tap(() => (lastHandled = true)))
            : undefined
      }).pipe(Effect.map((result) => ({ result, lastHandledBeforeReturn: lastHandled })), Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const { lastHandledBeforeReturn, result } = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      assert.isTrue(lastHandledBeforeReturn)
    }))

  it.effect("a run whose callback took every event at once leaves no fiber behind", () =>
    Effect.gen(function*() {
      const supervisor = yield* Supervisor.track
      let events = 0
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", {
        onEvent: () => {
          events++
        }
      }).pipe(Effect.provide(Provider.simulated()), Effect.supervised(supervisor))
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(events, 1 + 2 + 4 + 2 + 1)
      // Parked pool workers end on the event loop's next turn.
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      const left = yield* supervisor.value
      assert.deepStrictEqual(left.map((fiber) => fiber.id()), [])
    }))

  it.effect("a consumer that throws or fails is logged and the run goes on", () => {
    const logs = captureLogs()
    return Effect.gen(function*() {
      const thrown = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        onEvent: (event) => {
          if (event.type === "agent_start") throw new Error("listener bug")
        }
      }).pipe(Effect.provide(Provider.simulated()))
      assert.strictEqual(thrown.status, "completed")
      const failing = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        onEvent: (event) => (event.type === "agent_start" ? Effect.die(new Error("listener failure")) : Effect.void)
      }).pipe(Effect.provide(Provider.simulated()))
      assert.strictEqual(failing.status, "completed")
      const warnings = logs.lines.filter((line) => line.level === "WARN").map((line) => line.message)
      assert.strictEqual(warnings.length, 2)
      assert.include(warnings[0]!, "onEvent threw; the run goes on")
      assert.include(warnings[0]!, "listener bug")
      assert.include(warnings[1]!, "onEvent failed; the run goes on")
      assert.include(warnings[1]!, "listener failure")
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("an agent whose next call is refused by the budget ends cancelled", () =>
    Effect.gen(function*() {
      const workflow = Workflow.make({
        name: "two-calls",
        decompose: () => Effect.succeed(tasks("a")),
        execute: () =>
          Effect.gen(function*() {
            yield* Provider.complete({ prompt: "first" })
            return (yield* Provider.complete({ prompt: "second" })).content
          })
      })
      const { layer, log } = scripted({ usage: { inputTokens: 1_000_000, outputTokens: 0 } })
      const result = yield* Orchestrator.run(workflow, "task", { config: { primaryModel: "gpt-4o", maxTotalCost: 1 } }).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(log.calls.length, 1)
      assert.strictEqual(result.agentResults[0]!.status, "cancelled")
      assert.strictEqual(result.agentResults[0]!.error, "cancelled: the budget (maxTotalCost) is spent")
      assert.strictEqual(result.failure?._tag, "BudgetExceeded")
    }))
})
