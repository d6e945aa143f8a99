import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { Orchestrator, OrchestratorError, Provider, SubTask, Workflow } from "multi-agent-orchestration"
import { fixedWorkflow, recorder, scripted, tasks } from "./helpers.js"

const run = Orchestrator.run

describe("scheduling", () => {
  it.effect("an agent busy without a pause still lets the event loop run its timers and I/O", () =>
    Effect.gen(function*() {
      let eventLoopRan = false
      let ranWhileBusy = false
      const busy = Workflow.make({
        name: "busy",
        decompose: () => Effect.succeed([new SubTask.SubTask({ id: "spin", description: "spin" })]),
        // A million operations and no async step, yielding to the scheduler every 100: the scheduler must hand the
        // event loop a turn now and then, or the immediate below waits for the end.
        execute: () =>
          Effect.suspend(() => {
            setImmediate(() => {
              eventLoopRan = true
            })
            let i = 0
            return Effect.whileLoop({
              while: () => i < 1_000_000,
              body: () => Effect.sync(() => i++),
              step: () => {}
            }).pipe(Effect.withMaxOpsBeforeYield(100), Effect.map(() => {
              ranWhileBusy = eventLoopRan
              return "spun"
            }))
          }),
        synthesize: () => Effect.succeed("done")
      })
      const result = yield* run(busy, "task").pipe(Effect.provide(Provider.simulated()))
      assert.strictEqual(result.status, "completed")
      assert.isTrue(ranWhileBusy)
    }))

  it.effect("agents that end at once, each freeing two more, all run: new workers start one deep, not nested", () =>
    Effect.gen(function*() {
      // A spine of 5,000 subtasks, each with a leaf beside the next: every agent that ends readies two, one for
      // its own worker and one for a new worker. A new worker runs at once, before the next is made; were the
      // workers it starts in turn run at once too, each inside the one before, the stack would run out and
      // the run would never end.
      const spine = 5000
      const subtasks: Array<SubTask.SubTask> = []
      for (let i = 0; i < spine; i++) {
        const dependencies = i === 0 ? [] : [`s${i - 1}`]
        subtasks.push(new SubTask.SubTask({ id: `s${i}`, description: `spine ${i}`, dependencies }))
        subtasks.push(new SubTask.SubTask({ id: `l${i}`, description: `leaf ${i}`, dependencies }))
      }
      const caterpillar = Workflow.make({
        name: "caterpillar",
        decompose: () => Effect.succeed(subtasks),
        execute: (subtask) => Effect.succeed(subtask.id),
        synthesize: (results) => Effect.succeed(`${results.length}`)
      })
      const result = yield* run(caterpillar, "task", { config: { maxConcurrentAgents: 100_000 } }).pipe(
        Effect.provide(Provider.simulated())
      )
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.agentResults.filter((agent) => agent.status === "completed").length, 2 * spine)
    }))

  it.effect("never runs more agents than maxConcurrentAgents, and does reach that many", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ latency: "1 second" })
      const ids = Array.from({ length: 20 }, (_, i) => `t${i}`)
      const fiber = yield* run(fixedWorkflow(tasks(...ids)), "task", { config: { maxConcurrentAgents: 4 } }).pipe(
        Effect.provide(layer),
        Effect.fork
      )
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(log.maxInFlight, 4)
      // 20 agents of 1 second, 4 at a time: 5 waves.
      assert.deepStrictEqual([...new Set(log.calls.map((call) => call.startedAt))], [0, 1000, 2000, 3000, 4000])
    }))

  it.effect("parallelExecution=false runs one agent at a time, in dependency and priority order", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ latency: "1 second" })
      const events = recorder()
      const subtasks = tasks(
        { id: "low", priority: 0 },
        { id: "high", priority: 5 },
        { id: "after-low", dependencies: ["low"], priority: 9 },
        { id: "mid", priority: 2 }
      )
      const fiber = yield* run(fixedWorkflow(subtasks), "task", {
        config: { parallelExecution: false, maxConcurrentAgents: 10 },
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      assert.strictEqual(log.maxInFlight, 1)
      assert.deepStrictEqual(events.ofType("agent_start").map((e) => e.data.subtaskId), ["high", "mid", "low", "after-low"])
    }))

  it.effect("among ready subtasks, higher priority starts first", () =>
    Effect.gen(function*() {
      const { layer } = scripted({ latency: "1 second" })
      const events = recorder()
      const subtasks = tasks({ id: "a", priority: 1 }, { id: "b", priority: 3 }, { id: "c", priority: 2 }, {
        id: "d",
        priority: 3
      })
      const fiber = yield* run(fixedWorkflow(subtasks), "task", {
        config: { maxConcurrentAgents: 2 },
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      const starts = events.ofType("agent_start").map((e) => [e.data.subtaskId, e.timestamp])
      assert.deepStrictEqual(starts, [["b", 0], ["d", 0], ["c", 1000], ["a", 1000]])
    }))

  it.effect("a subtask starts when its last dependency finishes, and sees their results", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ latency: (request) => (request.prompt?.startsWith("do slow") ? "5 seconds" : "1 second") })
      const events = recorder()
      const subtasks = tasks("fast", "slow", { id: "after-fast", dependencies: ["fast"] }, {
        id: "join",
        dependencies: ["after-fast", "slow"]
      })
      const fiber = yield* run(fixedWorkflow(subtasks), "task", { onEvent: events.onEvent }).pipe(
        Effect.provide(layer),
        Effect.fork
      )
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      const startedAt = Object.fromEntries(events.ofType("agent_start").map((e) => [e.data.subtaskId, e.timestamp]))
      // No level barrier: after-fast starts at 1s although "slow" (same level as "fast") runs until 5s.
      assert.deepStrictEqual(startedAt, { fast: 0, slow: 0, "after-fast": 1000, join: 5000 })
      const joinPrompt = log.calls.find((call) => call.request.prompt?.startsWith("do join"))!.request.prompt!
      assert.include(joinPrompt, "after-fast: answer to do after-fast")
      assert.include(joinPrompt, "slow: answer to do slow")
      assert.strictEqual(result.agentResults.map((r) => r.subtaskId).join(","), "fast,slow,after-fast,join")
    }))

  it.effect("cycles are rejected before any provider call, naming the cycle", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted()
      const events = recorder()
      const result = yield* run(
        fixedWorkflow(tasks({ id: "a", dependencies: ["c"] }, { id: "b", dependencies: ["a"] }, {
          id: "c",
          dependencies: ["b"]
        }, "free")),
        "task",
        { onEvent: events.onEvent }
      ).pipe(Effect.provide(layer))
      assert.strictEqual(result.status, "failed")
      assert.instanceOf(result.failure, OrchestratorError.InvalidSubTaskGraph)
      assert.strictEqual(result.error, "Invalid subtask graph: dependency cycle: a -> c -> b -> a")
      assert.strictEqual(log.calls.length, 0)
      assert.deepStrictEqual(events.types(), ["workflow_start", "decomposition_start", "workflow_error"])
    }))

  it.effect("a cycle at the end of a chain of 20,000 subtasks is found and named", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted()
      const chain = Array.from({ length: 20_000 }, (_, i) => ({ id: `s${i}`, dependencies: i === 0 ? [] : [`s${i - 1}`] }))
      const looped = [...chain, { id: "x", dependencies: ["s19999", "z"] }, { id: "y", dependencies: ["x"] }, {
        id: "z",
        dependencies: ["y"]
      }]
      const result = yield* run(fixedWorkflow(tasks(...looped)), "task").pipe(Effect.provide(layer))
      assert.strictEqual(result.error, "Invalid subtask graph: dependency cycle: x -> z -> y -> x")
      assert.strictEqual(log.calls.length, 0)
    }))

  it.effect("unknown dependencies and duplicate ids are named", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted()
      const unknown = yield* run(
        fixedWorkflow(tasks({ id: "a", dependencies: ["ghost"] }, { id: "b", dependencies: ["a", "phantom"] })),
        "task"
      ).pipe(Effect.provide(layer))
      assert.strictEqual(
        unknown.error,
        "Invalid subtask graph: subtask \"a\" depends on unknown subtask \"ghost\"; subtask \"b\" depends on unknown subtask \"phantom\""
      )
      const duplicate = yield* run(fixedWorkflow(tasks("a", "a")), "task").pipe(Effect.provide(layer))
      assert.strictEqual(duplicate.error, "Invalid subtask graph: duplicate subtask ids: a")
      const self = yield* run(fixedWorkflow(tasks({ id: "a", dependencies: ["a"] })), "task").pipe(Effect.provide(layer))
      assert.strictEqual(self.error, "Invalid subtask graph: dependency cycle: a -> a")
      assert.strictEqual(log.calls.length, 0)
    }))

  it.effect("plain subtask objects are decoded, and a bad one is named before any agent runs", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted()
      const workflow = (subtasks: ReadonlyArray<Workflow.SubTaskInput>) =>
        Workflow.make({
          name: "plain",
          decompose: () => Effect.succeed(subtasks),
          execute: (subtask) => Effect.map(Provider.complete({ prompt: subtask.description }), (c) => c.content)
        })
      const good = yield* run(workflow([{ id: "a", description: "first", priority: 2 }]), "task").pipe(Effect.provide(layer))
      assert.strictEqual(good.status, "completed")
      assert.deepStrictEqual(good.agentResults.map((r) => [r.subtaskId, r.status, r.content]), [["a", "completed", "answer to first"]])
      // Plain fields are decoded into a SubTask, defaults included, before the agent runs.
      assert.strictEqual(good.agentResults[0]!.agentType, "worker")
      assert.strictEqual(log.calls[0]!.request.prompt, "first")
      const bad = yield* run(workflow([{ id: "a", description: "ok" }, { id: "b", description: "x", priority: 1.5 }]), "task").pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(bad.status, "failed")
      assert.instanceOf(bad.failure, OrchestratorError.DecompositionFailed)
      assert.include(bad.error, "subtask 2 is invalid")
      assert.include(bad.error, "priority")
      assert.strictEqual(log.calls.length, 1)
    }))

  it.effect("agents see the run's context and their model; result ids are the subtask ids", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const workflow = Workflow.make({
        name: "context",
        decompose: (task, context) => Effect.succeed([new SubTask.SubTask({ id: "only", description: `${task}/${String(context.context.topic)}` })]),
        execute: (subtask, context) => {
          seen.push([subtask.description, context.agentId, context.model, context.context.topic])
          return Effect.succeed("done")
        }
      })
      const result = yield* run(workflow, "task", { context: { topic: "qubits" }, config: { workerModel: "gpt-4o-mini" } }).pipe(
        Effect.provide(Provider.simulated())
      )
      assert.deepStrictEqual(seen, [["task/qubits", "only", "gpt-4o-mini", "qubits"]])
      assert.strictEqual(result.agentResults[0]!.agentId, "only")
      assert.strictEqual(result.finalSynthesis, "## only\n\ndone")
    }))
})
