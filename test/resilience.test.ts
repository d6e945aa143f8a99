import { assert, describe, it } from "@effect/vitest"
import { Data, Duration, Effect, Fiber, Random, Schedule, TestClock } from "effect"
import {
  Orchestrator,
  OrchestratorError,
  OrchestratorResult,
  Provider,
  ProviderError,
  SubTask,
  Workflow
} from "multi-agent-orchestration"
import { fixedWorkflow, recorder, scripted, tasks } from "./helpers.js"

const unavailable = new ProviderError.Unavailable({ provider: "scripted", status: 503 })

describe("timeouts, retries and fallback", () => {
  it.live("a finished run leaves no timer behind: its deadlines, minutes away, do not keep the process alive", () =>
    Effect.gen(function*() {
      const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length
      const nextTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      yield* nextTurn
      const before = timers()
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b", "c")), "task", {
        config: { timeoutSeconds: 600 }
      }).pipe(Effect.provide(Provider.simulated({ latency: "5 millis" })))
      assert.strictEqual(result.status, "completed")
      // The watchdog's timer, towards the first deadline ten minutes away, is cleared as the run ends.
      yield* nextTurn
      assert.strictEqual(timers(), before)
    }))

  it.effect("an agent times out at exactly timeoutSeconds of virtual time, and the run goes on", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ latency: (request) => (request.prompt === "do stuck" ? "1 hour" : "1 second") })
      const events = recorder()
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("stuck", "fine")), "task", {
        config: { timeoutSeconds: 30 },
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust(Duration.millis(29_999))
      assert.deepStrictEqual(events.ofType("agent_error"), [])
      yield* TestClock.adjust(Duration.millis(1))
      const result = yield* Fiber.join(fiber)
      const stuck = result.agentResults.find((r) => r.subtaskId === "stuck")!
      assert.strictEqual(stuck.status, "failed")
      assert.strictEqual(stuck.error, "timed out after 30s")
      assert.strictEqual(stuck.executionTime, 30)
      assert.strictEqual(events.ofType("agent_error")[0]!.timestamp, 30_000)
      assert.strictEqual(log.interrupted, 1)
      assert.strictEqual(result.status, "completed")
    }))

  it.effect("a per-subtask timeout bounds that agent only, retries included", () =>
    Effect.gen(function*() {
      const { layer } = scripted({ reply: () => Effect.fail(unavailable) })
      const fiber = yield* Orchestrator.run(
        fixedWorkflow([new SubTask.SubTask({ id: "quick", description: "q", timeoutSeconds: 2 })]),
        "task",
        { config: { maxRetries: 10, retryBaseDelaySeconds: 1 } }
      ).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.agentResults[0]!.error, "timed out after 2s")
      assert.strictEqual(result.agentResults[0]!.executionTime, 2)
      assert.strictEqual(result.status, "failed")
    }))

  it.effect("transient errors are retried with exponential backoff and jitter, each retry announced", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ reply: (_, call) => (call <= 3 ? Effect.fail(unavailable) : Effect.succeed("ok")) })
      const events = recorder()
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        config: { maxRetries: 3, retryBaseDelaySeconds: 1 },
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.withRandom(Random.make("seed")), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      const retries = events.ofType("agent_retry")
      assert.deepStrictEqual(retries.map((e) => e.data.attempt), [1, 2, 3])
      assert.deepStrictEqual(retries.map((e) => e.data.errorTag), ["Unavailable", "Unavailable", "Unavailable"])
      assert.include(retries[0]!.data.reason, "unavailable (HTTP 503)")
      const delays = retries.map((e) => e.data.delayMillis)
      ;[1000, 2000, 4000].forEach((planned, i) => {
        assert.isAtLeast(delays[i]!, planned * 0.8)
        assert.isAtMost(delays[i]!, planned * 1.2)
      })
      // Each attempt starts exactly when its announced delay has passed.
      const starts = log.calls.map((call) => call.startedAt)
      assert.deepStrictEqual(starts.slice(1).map((t, i) => t - starts[i]!), delays)
      assert.strictEqual(result.agentResults[0]!.attempts, 4)
    }))

  it.effect("a rate limit's retryAfter is honoured", () =>
    Effect.gen(function*() {
      const limited = new ProviderError.RateLimited({ provider: "scripted", retryAfter: Duration.seconds(7) })
      const { layer, log } = scripted({ reply: (_, call) => (call === 1 ? Effect.fail(limited) : Effect.succeed("ok")) })
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", { config: { retryBaseDelaySeconds: 1 } }).pipe(
        Effect.provide(layer),
        Effect.fork
      )
      yield* TestClock.adjust("6999 millis")
      assert.strictEqual(log.calls.length, 1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(log.calls.map((call) => call.startedAt), [0, 7000])
    }))

  it.effect("the fallback model gets its own attempts once the primary is exhausted", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({
        reply: (request) => (request.model === "primary" ? Effect.fail(unavailable) : Effect.succeed("from fallback"))
      })
      const events = recorder()
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        config: { primaryModel: "primary", fallbackModel: "backup", maxRetries: 1 },
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(log.calls.map((call) => call.request.model), ["primary", "primary", "backup"])
      const agent = result.agentResults[0]!
      assert.strictEqual(agent.status, "completed")
      assert.strictEqual(agent.model, "backup")
      assert.strictEqual(agent.attempts, 3)
      const switched = events.ofType("agent_retry").find((e) => e.data.nextModel === "backup")!
      assert.strictEqual(switched.data.model, "primary")
    }))

  it.effect("permanent errors are not retried, and the failed agent says why", () =>
    Effect.gen(function*() {
      const invalid = new ProviderError.InvalidRequest({ provider: "scripted", model: "m", status: 400, detail: "bad prompt" })
      const { layer, log } = scripted({
        reply: (request) => (request.prompt === "do broken" ? Effect.fail(invalid) : Effect.succeed("ok"))
      })
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("broken", "fine")), "task", {
        config: { maxRetries: 5, fallbackModel: "other" }
      }).pipe(Effect.provide(layer))
      assert.strictEqual(log.calls.filter((call) => call.request.prompt === "do broken").length, 1)
      const broken = result.agentResults[0]!
      assert.strictEqual(broken.status, "failed")
      assert.strictEqual(broken.error, "scripted m: invalid request (HTTP 400): bad prompt")
      assert.strictEqual(result.status, "completed")
    }))

  it.effect("when every agent fails the run fails, keeping their results", () =>
    Effect.gen(function*() {
      const { layer } = scripted({ reply: () => Effect.fail(unavailable) })
      const events = recorder()
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", {
        config: { maxRetries: 0 },
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "failed")
      assert.instanceOf(result.failure, OrchestratorError.AllAgentsFailed)
      assert.include(result.error, "All 2 agents of \"fixed\" failed")
      assert.strictEqual(result.agentResults.length, 2)
      assert.strictEqual(events.types().at(-1), "workflow_error")
      assert.notInclude(events.types(), "synthesis_start")
    }))

  it.effect("a failing decomposition fails the run: workflow_start, decomposition_start, workflow_error", () =>
    Effect.gen(function*() {
      const events = recorder()
      const workflow = Workflow.make({
        name: "broken",
        decompose: () => Effect.fail(new Error("planner exploded")),
        execute: () => Effect.succeed("never")
      })
      const { layer } = scripted()
      const result = yield* Orchestrator.run(workflow, "task", { onEvent: events.onEvent }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(events.types(), ["workflow_start", "decomposition_start", "workflow_error"])
      assert.strictEqual(result.status, "failed")
      assert.strictEqual(result.error, "Decomposition of \"broken\" failed: planner exploded")
      assert.deepStrictEqual(result.agentResults, [])
      assert.strictEqual(events.ofType("workflow_error")[0]!.data.reason, "DecompositionFailed")
    }))

  it.effect("a failing synthesis fails the run and keeps the agent results", () =>
    Effect.gen(function*() {
      const workflow = Workflow.make({
        name: "no-summary",
        decompose: () => Effect.succeed(tasks("a")),
        execute: () => Effect.succeed("found it"),
        synthesize: () => Effect.fail("no words left")
      })
      const result = yield* Orchestrator.run(workflow, "task").pipe(Effect.provide(scripted().layer))
      assert.strictEqual(result.status, "failed")
      assert.instanceOf(result.failure, OrchestratorError.SynthesisFailed)
      assert.strictEqual(result.error, "Synthesis of \"no-summary\" failed: no words left")
      assert.strictEqual(result.agentResults[0]!.content, "found it")
    }))

  it.effect("a defect in an agent fails that agent only", () =>
    Effect.gen(function*() {
      const workflow = Workflow.make({
        name: "buggy",
        decompose: () => Effect.succeed(tasks("bug", "ok")),
        execute: (subtask) => (subtask.id === "bug" ? Effect.die(new TypeError("x is undefined")) : Effect.succeed("fine"))
      })
      const result = yield* Orchestrator.run(workflow, "task").pipe(Effect.provide(scripted().layer))
      assert.strictEqual(result.agentResults[0]!.error, "Unexpected error: x is undefined")
      assert.strictEqual(result.agentResults[1]!.status, "completed")
      assert.strictEqual(result.status, "completed")
    }))
})

describe("the retry policy is a Schedule of the run options", () => {
  it.effect("a custom schedule is the one that runs: recurs(1) makes exactly two attempts, then the fallback", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({
        reply: (request) => (request.model === "primary" ? Effect.fail(unavailable) : Effect.succeed("from fallback"))
      })
      const events = recorder()
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        config: { primaryModel: "primary", fallbackModel: "backup", maxRetries: 5 },
        retry: Schedule.recurs(1),
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer))
      assert.deepStrictEqual(log.calls.map((call) => call.request.model), ["primary", "primary", "backup"])
      assert.deepStrictEqual(
        events.ofType("agent_retry").map((e) => [e.data.attempt, e.data.model, e.data.nextModel, e.data.delayMillis]),
        [[1, "primary", "primary", 0], [2, "primary", "backup", 0]]
      )
      assert.strictEqual(result.agentResults[0]!.attempts, 3)
      assert.strictEqual(result.agentResults[0]!.model, "backup")
    }))

  it.effect("a spaced schedule retries after its delay of virtual time, announced in agent_retry", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ reply: (_, call) => (call === 1 ? Effect.fail(unavailable) : Effect.succeed("ok")) })
      const events = recorder()
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        retry: Schedule.spaced("5 seconds"),
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual(log.calls.length, 1)
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(log.calls.map((call) => call.startedAt), [0, 5000])
      assert.strictEqual(events.ofType("agent_retry")[0]!.data.delayMillis, 5000)
      assert.strictEqual(result.agentResults[0]!.status, "completed")
    }))

  it.effect("a rate limit's retryAfter wins over a shorter delay of the schedule", () =>
    Effect.gen(function*() {
      const limited = new ProviderError.RateLimited({ provider: "scripted", retryAfter: Duration.seconds(7) })
      const { layer, log } = scripted({ reply: (_, call) => (call === 1 ? Effect.fail(limited) : Effect.succeed("ok")) })
      const events = recorder()
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        retry: Schedule.spaced("1 second"),
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("6999 millis")
      assert.strictEqual(log.calls.length, 1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(log.calls.map((call) => call.startedAt), [0, 7000])
      assert.strictEqual(events.ofType("agent_retry")[0]!.data.delayMillis, 7000)
    }))

  it.effect("whatever the schedule, permanent errors are not retried", () =>
    Effect.gen(function*() {
      const invalid = new ProviderError.InvalidRequest({ provider: "scripted", status: 400 })
      const { layer, log } = scripted({ reply: () => Effect.fail(invalid) })
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", { retry: Schedule.forever }).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(log.calls.length, 1)
      assert.strictEqual(result.agentResults[0]!.errorTag, "InvalidRequest")
    }))

  it.effect("no retry starts once the budget is spent", () =>
    Effect.gen(function*() {
      // The failed attempt used a million tokens, which spends the budget: the retry is refused.
      const costly = new ProviderError.Unavailable({
        provider: "scripted",
        status: 503,
        usage: { inputTokens: 1_000_000, outputTokens: 0 }
      })
      const { layer, log } = scripted({ reply: () => Effect.fail(costly) })
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        config: { primaryModel: "gpt-4o", maxTotalCost: 1 },
        retry: Schedule.spaced("1 second")
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(log.calls.length, 1)
      assert.strictEqual(result.agentResults[0]!.status, "cancelled")
      assert.strictEqual(result.failure?._tag, "BudgetExceeded")
    }))
})

class NotFound extends Data.TaggedError("NotFound")<{ readonly what: string }> {}

describe("a failed agent keeps the tag of its failure", () => {
  it.effect("a timeout, a provider error, the workflow's own error and a defect, through JSON and back", () =>
    Effect.gen(function*() {
      const limited = new ProviderError.RateLimited({ provider: "scripted", status: 429, retryAfter: Duration.seconds(2) })
      const { layer } = scripted({
        latency: (request) => (request.prompt === "do stuck" ? "1 hour" : "1 second"),
        reply: (request) => (request.prompt === "do limited" ? Effect.fail(limited) : Effect.succeed("ok"))
      })
      const workflow = Workflow.make({
        name: "mixed",
        decompose: () => Effect.succeed(tasks("stuck", "limited", "missing", "buggy", "fine")),
        execute: (subtask): Effect.Effect<string, ProviderError.ProviderError | NotFound, Provider.Provider> => {
          if (subtask.id === "missing") return Effect.fail(new NotFound({ what: "the source" }))
          if (subtask.id === "buggy") return Effect.die(new TypeError("x is undefined"))
          return Effect.map(Provider.complete({ prompt: subtask.description }), (completion) => completion.content)
        }
      })
      const fiber = yield* Orchestrator.run(workflow, "task", { config: { timeoutSeconds: 30, maxRetries: 1 } }).pipe(
        Effect.provide(layer),
        Effect.fork
      )
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      const byId = (id: string) => result.agentResults.find((r) => r.subtaskId === id)!
      for (const decoded of [result, yield* OrchestratorResult.fromJson(yield* OrchestratorResult.toJson(result))]) {
        const of = (id: string) => decoded.agentResults.find((r) => r.subtaskId === id)!
        assert.deepStrictEqual(
          ["stuck", "limited", "missing", "buggy", "fine"].map((id) => of(id).errorTag),
          ["StepTimedOut", "RateLimited", "NotFound", "Defect", undefined]
        )
        const timedOut = of("stuck").failure
        assert.instanceOf(timedOut, OrchestratorError.StepTimedOut)
        assert.strictEqual(timedOut.seconds, 30)
        const rateLimited = of("limited").failure
        assert.instanceOf(rateLimited, ProviderError.RateLimited)
        assert.strictEqual(Duration.toMillis(rateLimited.retryAfter!), 2000)
        assert.strictEqual(rateLimited.status, 429)
        // Errors of the workflow's own code keep their tag; only the library's are typed in `failure`.
        assert.isUndefined(of("missing").failure)
        assert.isUndefined(of("buggy").failure)
      }
      assert.strictEqual(byId("stuck").error, "timed out after 30s")
      assert.include(byId("limited").error!, "rate limited")
    }))

  it.effect("an agent cancelled by the budget says BudgetExceeded, with what was spent of which limit", () =>
    Effect.gen(function*() {
      const { layer } = scripted({ usage: { inputTokens: 1_000_000, outputTokens: 0 } })
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", {
        config: { primaryModel: "gpt-4o", maxTotalCost: 1, parallelExecution: false }
      }).pipe(Effect.provide(layer))
      const [first, second] = result.agentResults
      assert.strictEqual(first!.status, "completed")
      assert.strictEqual(second!.status, "cancelled")
      assert.strictEqual(second!.errorTag, "BudgetExceeded")
      const failure = second!.failure
      assert.instanceOf(failure, OrchestratorError.BudgetExceeded)
      assert.strictEqual(failure.limit, 1)
      assert.strictEqual(failure.scope, "run")
      assert.strictEqual(failure.spent, 2.5)
    }))
})
