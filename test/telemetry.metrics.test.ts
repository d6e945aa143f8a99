import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Metric, MetricLabel, TestClock } from "effect"
import { Orchestrator, Provider, Telemetry } from "multi-agent-orchestration"
import { fixedWorkflow, recorder, tasks } from "./helpers.js"

const { agentsInFlight, budgetUsed, callDuration, cost, retries, tokens } = Telemetry.metrics
const label = MetricLabel.make

const tokensOf = (model: string, type: "input" | "output") =>
  Effect.map(
    Metric.value(Metric.taggedWithLabels(tokens, [label("gen_ai.response.model", model), label("gen_ai.token.type", type)])),
    (state) => state.count
  )
const costOf = (model: string) =>
  Effect.map(Metric.value(Metric.taggedWithLabels(cost, [label("gen_ai.response.model", model)])), (state) => state.count)
const retriesOf = (tag: string) =>
  Effect.map(
    Metric.value(Metric.taggedWithLabels(retries, [label("error.type", tag), label("orchestration.retry.kind", "retry")])),
    (state) => state.count
  )
const callsOf = (model: string, errorType: string) =>
  Effect.map(
    Metric.value(Metric.taggedWithLabels(callDuration, [label("gen_ai.request.model", model), label("error.type", errorType)])),
    (state) => state
  )

describe("Telemetry: metrics", () => {
  it.effect("after a seeded simulated run, the metrics add up to what the result reports", () =>
    Effect.gen(function*() {
      // Metrics are process-wide: a model of its own keeps this run's labels apart.
      const model = "gpt-4o-mini-2024-07-18"
      const before = {
        input: yield* tokensOf(model, "input"),
        output: yield* tokensOf(model, "output"),
        cost: yield* costOf(model),
        retries: yield* retriesOf("Unavailable"),
        ok: (yield* callsOf(model, "none")).count,
        failed: (yield* callsOf(model, "Unavailable")).count
      }
      const events = recorder()
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b", "c", "d", "e", "f"), { synthesize: true }), "task", {
        config: { primaryModel: model, maxConcurrentAgents: 3, maxRetries: 3, maxTotalCost: 1 },
        onEvent: events.onEvent
      }).pipe(
        Effect.provide(Provider.simulated({ latency: "2 seconds", failures: { rate: 0.3, seed: 11 } })),
        Effect.fork
      )
      // Mid-run: three agents hold the three slots.
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual((yield* Metric.value(agentsInFlight)).value, 3)
      yield* TestClock.adjust("10 minutes")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      assert.strictEqual((yield* Metric.value(agentsInFlight)).value, 0)

      const retried = events.ofType("agent_retry")
      assert.isAbove(retried.length, 0, "the seed makes some calls fail")
      assert.strictEqual((yield* retriesOf("Unavailable")) - before.retries, retried.length)
      assert.strictEqual((yield* tokensOf(model, "input")) - before.input, result.usage.inputTokens)
      assert.strictEqual((yield* tokensOf(model, "output")) - before.output, result.usage.outputTokens)
      assert.closeTo((yield* costOf(model)) - before.cost, result.totalCost, 1e-12)
      assert.isAbove(result.totalCost, 0)
      const ok = yield* callsOf(model, "none")
      const failed = yield* callsOf(model, "Unavailable")
      // Every attempt is timed: 7 successful calls (6 agents and the synthesis; decomposition is local), and each retry.
      assert.strictEqual(ok.count - before.ok, 7)
      assert.strictEqual(failed.count - before.failed, retried.length)
      assert.strictEqual(ok.max, 2, "a simulated call takes 2 seconds on the Clock")
      assert.closeTo((yield* Metric.value(budgetUsed)).value, result.totalCost / 1, 1e-12)
    }).pipe(Effect.provide(Telemetry.instrument())))

  it.effect("without a telemetry layer nothing is recorded", () =>
    Effect.gen(function*() {
      const model = "gpt-4o-2024-11-20"
      yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", { config: { primaryModel: model } }).pipe(
        Effect.provide(Provider.simulated())
      )
      assert.strictEqual(yield* tokensOf(model, "input"), 0)
    }))
})
