import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import {
  CostTracker,
  DreamCascade,
  Format,
  Orchestrator,
  OrchestratorError,
  Pricing,
  Provider,
  ProviderError,
  Report,
  SubTask,
  type Usage,
  Workflow
} from "multi-agent-orchestration"
import { anthropicMessage, chatCompletion, fakeServer, openAiResponse } from "./fakeServers.js"
import { fixedWorkflow, recorder, scripted, tasks } from "./helpers.js"

const price = (model: string, input: number, output: number) => {
  const p = Pricing.builtIn[model]!
  return (input * p.input + output * p.output) / 1_000_000
}

/** Decomposition and synthesis make a provider call each, so every kind of step is metered. */
const talkative = (ids: ReadonlyArray<string>) =>
  Workflow.make({
    name: "talkative",
    decompose: (task) =>
      Effect.as(Provider.complete({ prompt: `plan ${task}` }), ids.map((id) => new SubTask.SubTask({ id, description: `do ${id}` }))),
    execute: (subtask) => Effect.map(Provider.complete({ prompt: subtask.description }), (c) => c.content),
    synthesize: (results) => Effect.map(Provider.complete({ prompt: results.map((r) => r.content).join("\n") }), (c) => c.content)
  })

describe("cost tracking", () => {
  it.effect("every call is metered and the costs sum exactly", () =>
    Effect.gen(function*() {
      const { layer } = scripted({ usage: { inputTokens: 1000, outputTokens: 200 } })
      const result = yield* Orchestrator.run(talkative(["a", "b", "c"]), "task", {
        config: { primaryModel: "gpt-4o", workerModel: "gpt-4o-mini" }
      }).pipe(Effect.provide(layer))
      const planner = price("gpt-4o", 1000, 200)
      const worker = price("gpt-4o-mini", 1000, 200)
      for (const agent of result.agentResults) {
        assert.strictEqual(agent.cost, worker)
        assert.deepStrictEqual(agent.usage, { inputTokens: 1000, outputTokens: 200 })
        assert.strictEqual(agent.model, "gpt-4o-mini")
      }
      assert.closeTo(result.totalCost, 2 * planner + 3 * worker, 1e-15)
      assert.deepStrictEqual(result.usage, { inputTokens: 5000, outputTokens: 1000 })
      const costs = result.costs!
      assert.strictEqual(costs.total.calls, 5)
      assert.closeTo(costs.byModel["gpt-4o"]!.cost, 2 * planner, 1e-15)
      assert.closeTo(costs.byModel["gpt-4o-mini"]!.cost, 3 * worker, 1e-15)
      assert.deepStrictEqual(Object.keys(costs.byTier).sort(), ["decomposition", "synthesis", "worker"])
      assert.strictEqual(costs.byTier.worker!.calls, 3)
      const sumByModel = Object.values(costs.byModel).reduce((sum, line) => sum + line.cost, 0)
      const sumByTier = Object.values(costs.byTier).reduce((sum, line) => sum + line.cost, 0)
      assert.closeTo(sumByModel, result.totalCost, 1e-15)
      assert.closeTo(sumByTier, result.totalCost, 1e-15)
      assert.strictEqual(costs.pricesAsOf, Pricing.builtInAsOf)
    }))

  it.effect("failed attempts that used tokens are charged too", () =>
    Effect.gen(function*() {
      const truncated = new ProviderError.MalformedResponse({
        provider: "scripted",
        detail: "reply cut off",
        usage: { inputTokens: 500, outputTokens: 100 }
      })
      const { layer } = scripted({ reply: () => Effect.fail(truncated) })
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", { config: { primaryModel: "gpt-4o" } }).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(result.agentResults[0]!.cost, price("gpt-4o", 500, 100))
      assert.strictEqual(result.totalCost, price("gpt-4o", 500, 100))
    }))

  it.effect("an unknown model costs nothing and is flagged as unpriced", () =>
    Effect.gen(function*() {
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", { config: { primaryModel: "house-llm" } }).pipe(
        Effect.provide(scripted().layer)
      )
      assert.strictEqual(result.totalCost, 0)
      assert.deepStrictEqual(result.costs!.unpricedModels, ["house-llm"])
    }))

  it.effect("user prices apply through the Pricing layer", () =>
    Effect.gen(function*() {
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", { config: { primaryModel: "house-llm" } }).pipe(
        Effect.provide(scripted({ usage: { inputTokens: 1_000_000, outputTokens: 0 } }).layer),
        Effect.provide(Pricing.layer({ "house-llm": { input: 4, output: 8 } }))
      )
      assert.strictEqual(result.totalCost, 4)
    }))

  it.effect("with cost tracking off, tokens are still counted but nothing is priced", () =>
    Effect.gen(function*() {
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", {
        config: { primaryModel: "gpt-4o", enableCostTracking: false }
      }).pipe(Effect.provide(scripted().layer))
      assert.strictEqual(result.totalCost, 0)
      assert.isUndefined(result.costs)
      assert.deepStrictEqual(result.usage, { inputTokens: 200, outputTokens: 100 })
    }))

  it.effect("the budget warns at 80%, then stops every new call across parallel agents and keeps what finished", () =>
    Effect.gen(function*() {
      // Each call costs the same; the budget allows nine and a half of them.
      const { layer, log } = scripted({ latency: "1 second", usage: { inputTokens: 1000, outputTokens: 333 } })
      const perCall = price("gpt-4o-mini", 1000, 333)
      const events = recorder()
      const ids = Array.from({ length: 40 }, (_, i) => `t${i}`)
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks(...ids)), "task", {
        config: { primaryModel: "gpt-4o-mini", maxConcurrentAgents: 4, maxTotalCost: perCall * 9.5 },
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)

      const warnings = events.ofType("budget_warning")
      assert.strictEqual(warnings.length, 1)
      assert.isAtLeast(warnings[0]!.data.spent, perCall * 8 - 1e-12)
      assert.isBelow(warnings[0]!.data.spent, perCall * 9)
      // Calls run four at a time, a second each. At 3s the ninth finishes (under budget: one more starts), the
      // tenth spends the budget, and from then on nothing new starts; the call in flight finishes.
      assert.strictEqual(log.calls.length, 13)
      assert.strictEqual(log.calls.at(-1)!.startedAt, 3000)
      assert.strictEqual(result.status, "failed")
      assert.instanceOf(result.failure, OrchestratorError.BudgetExceeded)
      assert.match(result.error!, /^Budget exceeded: spent \$0\.00\d+ of the \$0\.00\d+ limit$/)
      const completed = result.agentResults.filter((r) => r.status === "completed")
      assert.strictEqual(completed.length, 13)
      assert.strictEqual(result.agentResults.filter((r) => r.status === "cancelled").length, 27)
      assert.closeTo(result.totalCost, 13 * perCall, 1e-12)
      assert.notInclude(events.types(), "synthesis_start")
    }))
})

describe("a CostTracker layer is the session's ledger", () => {
  it.effect("runs under one layer share its ledger, and its budget stops the second run", () =>
    Effect.gen(function*() {
      const perCall = price("gpt-4o", 1000, 200)
      const { layer, log } = scripted({ usage: { inputTokens: 1000, outputTokens: 200 } })
      const events = recorder()
      const session = Effect.gen(function*() {
        const tracker = yield* CostTracker.CostTracker
        const run = (taskId: string) =>
          Orchestrator.run(talkative(["a", "b"]), "task", {
            taskId,
            config: { primaryModel: "gpt-4o", parallelExecution: false },
            onEvent: events.onEvent
          })
        // The first run makes four calls; the session's budget allows six and a half.
        const first = yield* run("first")
        assert.strictEqual(first.status, "completed")
        assert.closeTo(first.totalCost, 4 * perCall, 1e-15)
        assert.closeTo(yield* tracker.total, 4 * perCall, 1e-15)

        const second = yield* run("second")
        // Its plan and two agents ran; the seventh call spent the session's budget, so no synthesis.
        assert.strictEqual(log.calls.length, 7)
        assert.strictEqual(second.status, "failed")
        assert.instanceOf(second.failure, OrchestratorError.BudgetExceeded)
        assert.strictEqual(second.failure.scope, "session")
        assert.closeTo(second.failure.spent, 7 * perCall, 1e-15)
        assert.include(second.error!, "Session budget exceeded")
        // Each result reports its own run's cost, not the session's.
        assert.closeTo(second.totalCost, 3 * perCall, 1e-15)
        assert.strictEqual(second.costs!.total.calls, 3)

        const snapshot = yield* tracker.snapshot
        assert.strictEqual(snapshot.total.calls, 7)
        assert.closeTo(snapshot.total.cost, 7 * perCall, 1e-15)
        // Agents are keyed by run in the shared ledger.
        assert.includeMembers(Object.keys(snapshot.byAgent), ["first/a", "second/a"])
        assert.strictEqual(events.ofType("budget_warning").length, 1)
        assert.strictEqual(events.ofType("budget_warning")[0]!.taskId, "second")
        assert.strictEqual(events.ofType("budget_warning")[0]!.data.limit, 6.5 * perCall)

        // Once the session's budget is spent, a new run starts no call at all.
        const third = yield* run("third")
        assert.strictEqual(log.calls.length, 7)
        assert.strictEqual(third.status, "failed")
        assert.strictEqual(third.failure?._tag, "BudgetExceeded")
        assert.strictEqual(third.totalCost, 0)
      })
      yield* session.pipe(
        Effect.provide(Layer.merge(layer, CostTracker.layer({ maxTotalCost: 6.5 * perCall, warningThreshold: 0.9 })))
      )
    }))

  it.effect("a run that spends the session's budget stops the calls of a concurrent run", () =>
    Effect.gen(function*() {
      // Each call uses a million input tokens: $2.50 on gpt-4o, $0.15 on gpt-4o-mini; the session allows $2.
      const { layer, log } = scripted({
        latency: (request) => (request.model === "gpt-4o" ? "1 second" : "1500 millis"),
        usage: { inputTokens: 1_000_000, outputTokens: 0 }
      })
      const run = (model: string, ids: ReadonlyArray<string>) =>
        Orchestrator.run(fixedWorkflow(tasks(...ids)), "task", { config: { primaryModel: model, parallelExecution: false } })
      const fiber = yield* Effect.all([run("gpt-4o", ["big"]), run("gpt-4o-mini", ["small1", "small2"])], {
        concurrency: "unbounded"
      }).pipe(Effect.provide(Layer.merge(layer, CostTracker.layer({ maxTotalCost: 2 }))), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const [big, small] = yield* Fiber.join(fiber)
      // The big call spent the session's budget at 1s; the small run learns it as its first call is charged, at
      // 1.5s, and starts no further agent.
      assert.deepStrictEqual(log.calls.map((call) => call.request.model), ["gpt-4o", "gpt-4o-mini"])
      assert.deepStrictEqual(small.agentResults.map((r) => [r.subtaskId, r.status, r.errorTag]), [
        ["small1", "completed", undefined],
        ["small2", "cancelled", "BudgetExceeded"]
      ])
      assert.strictEqual(small.agentResults[1]!.error, "not started: the session budget (the CostTracker's maxTotalCost) is spent")
      for (const result of [big, small]) {
        assert.instanceOf(result.failure, OrchestratorError.BudgetExceeded)
        assert.strictEqual(result.failure.scope, "session")
      }
      assert.closeTo(small.totalCost, 0.15, 1e-12)
    }))

  it.effect("a run's own maxTotalCost still holds under a larger session budget", () =>
    Effect.gen(function*() {
      const perCall = price("gpt-4o", 1000, 200)
      const { layer, log } = scripted({ usage: { inputTokens: 1000, outputTokens: 200 } })
      const result = yield* Orchestrator.run(talkative(["a", "b", "c"]), "task", {
        config: { primaryModel: "gpt-4o", parallelExecution: false, maxTotalCost: 1.5 * perCall }
      }).pipe(Effect.provide(Layer.merge(layer, CostTracker.layer({ maxTotalCost: 100 }))))
      assert.strictEqual(log.calls.length, 2)
      assert.instanceOf(result.failure, OrchestratorError.BudgetExceeded)
      assert.strictEqual(result.failure.scope, "run")
      assert.strictEqual(result.failure.limit, 1.5 * perCall)
    }))

  it.effect("a run under a CostTracker layer cannot turn cost tracking off", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted()
      const error = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        config: { enableCostTracking: false }
      }).pipe(Effect.flip, Effect.provide(Layer.merge(layer, CostTracker.layer())))
      assert.strictEqual(error._tag, "InvalidConfig")
      assert.include(error.message, "enableCostTracking")
      assert.strictEqual(log.calls.length, 0)
    }))
})

// ============================================================================================================
// Prompt caching, against fake servers
// ============================================================================================================

const key = Redacted.make("sk-test-5e6f7a8b9c0d1e2f")

/** A Dream Cascade of 2 Belters, 1 Drummer and 1 Camina: with its decomposition, 5 calls. */
const smallCascade = () => DreamCascade.make({ belterCount: 2, drummerCount: 1, caminaCount: 1 })

interface CacheCase {
  readonly name: string
  readonly model: string
  readonly layer: (url: string) => Layer.Layer<Provider.Provider, OrchestratorError.InvalidConfig>
  readonly reply: (n: number) => unknown
  /** The usage every call is recorded with, and what it costs, worked out by hand from the price list. */
  readonly usage: Usage.Usage
  readonly dollarsPerCall: number
  readonly pricing?: Layer.Layer<Pricing.Pricing>
}

const cacheCases: ReadonlyArray<CacheCase> = [
  {
    // claude-sonnet-4-5: $3 input, $0.30 cache reads (0.1x), $3.75 cache writes (1.25x), $15 output.
    name: "anthropic",
    model: "claude-sonnet-4-5",
    layer: (url) => Provider.anthropic({ apiKey: key, apiUrl: url }),
    reply: (n) =>
      anthropicMessage(`${n}. Tidal findings`, "claude-sonnet-4-5-20250929", {
        input: 100,
        cached: 1000,
        cacheCreation: 200,
        output: 50
      }),
    usage: { inputTokens: 1300, outputTokens: 50, cachedInputTokens: 1000, cacheWriteInputTokens: 200 },
    // 100 * 3 + 1000 * 0.3 + 200 * 3.75 + 50 * 15 = 2100 millionths of a dollar
    dollarsPerCall: 0.0021
  },
  {
    // gpt-4o: $2.50 input, $1.25 cached input, $10 output; OpenAI counts cached tokens inside input.
    name: "openai",
    model: "gpt-4o",
    layer: (url) => Provider.openAi({ apiKey: key, apiUrl: `${url}/v1` }),
    reply: (n) => openAiResponse(`${n}. Tidal findings`, "gpt-4o-2024-08-06", { input: 1000, cached: 800, output: 100 }),
    usage: { inputTokens: 1000, outputTokens: 100, cachedInputTokens: 800 },
    // 200 * 2.5 + 800 * 1.25 + 100 * 10 = 2500 millionths
    dollarsPerCall: 0.0025
  },
  {
    name: "openAiCompatible",
    model: "llama3.1",
    layer: (url) => Provider.openAiCompatible({ baseUrl: `${url}/v1`, apiKey: key }),
    reply: (n) => chatCompletion(`${n}. Tidal findings`, "llama3.1", { input: 500, cached: 300, output: 20 }),
    usage: { inputTokens: 500, outputTokens: 20, cachedInputTokens: 300 },
    // 200 * 0.2 + 300 * 0.05 + 20 * 0.6 = 67 millionths
    dollarsPerCall: 0.000067,
    pricing: Pricing.layer({ "llama3.1": { input: 0.2, output: 0.6, cachedInput: 0.05 } })
  }
]

describe("prompt caching is priced at its own rates", () => {
  it("each rate applies to its own tokens, and the built-in Anthropic rates are 0.1x and 1.25x the input rate", () => {
    const price = Pricing.builtIn["claude-sonnet-4-5"]!
    const usage = { inputTokens: 1300, outputTokens: 50, cachedInputTokens: 1000, cacheWriteInputTokens: 200 }
    assert.strictEqual(Pricing.costAt(price, usage), 0.0021)
    assert.strictEqual(Pricing.costAt({ input: 3, output: 15 }, usage), (1300 * 3 + 50 * 15) / 1e6)
    for (const [model, entry] of Object.entries(Pricing.builtIn)) {
      if (!model.startsWith("claude-") || entry.cacheWrite === undefined) continue
      // Claude 3 Haiku is priced as Anthropic lists it: $0.03 reads and $0.30 writes on $0.25 input.
      if (model === "claude-3-haiku") continue
      assert.strictEqual(entry.cacheWrite, entry.input * 1.25, model)
      assert.closeTo(entry.cachedInput!, entry.input * 0.1, 1e-12, model)
    }
  })

  for (const c of cacheCases) {
    it.scoped(`${c.name}: a run's costs, totals and report count cache reads and writes at their rates`, () =>
      Effect.gen(function*() {
        const server = yield* fakeServer((_, n) => ({ json: c.reply(n) }))
        const result = yield* Orchestrator.run(smallCascade(), "Research tidal energy", {
          config: { primaryModel: c.model }
        }).pipe(Effect.provide(c.pricing === undefined ? c.layer(server.url) : Layer.merge(c.layer(server.url), c.pricing)))

        assert.strictEqual(result.status, "completed")
        assert.strictEqual(server.received.length, 5)
        for (const agent of result.agentResults) {
          assert.deepStrictEqual(agent.usage, c.usage)
          assert.strictEqual(agent.cost, c.dollarsPerCall)
        }
        const times = (n: number) => n * 5
        const expected: Usage.Usage = {
          inputTokens: times(c.usage.inputTokens),
          outputTokens: times(c.usage.outputTokens),
          cachedInputTokens: times(c.usage.cachedInputTokens ?? 0),
          ...(c.usage.cacheWriteInputTokens === undefined ? {} : { cacheWriteInputTokens: times(c.usage.cacheWriteInputTokens) })
        }
        assert.deepStrictEqual(result.usage, expected)
        assert.closeTo(result.totalCost, 5 * c.dollarsPerCall, 1e-15)

        const { cost, ...total } = result.costs!.total
        assert.closeTo(cost, 5 * c.dollarsPerCall, 1e-15)
        assert.deepStrictEqual(total, {
          calls: 5,
          inputTokens: expected.inputTokens,
          outputTokens: expected.outputTokens,
          cachedInputTokens: expected.cachedInputTokens!,
          cacheWriteInputTokens: expected.cacheWriteInputTokens ?? 0
        })

        const markdown = Report.markdown(result)
        const writes = c.usage.cacheWriteInputTokens !== undefined
        const bold = (cells: ReadonlyArray<string>) => `| ${cells.map((cell) => `**${cell}**`).join(" | ")} |`
        assert.include(
          markdown,
          `| Model | Calls | Input tokens | Cache reads |${writes ? " Cache writes |" : ""} Output tokens | Cost |`
        )
        assert.include(
          markdown,
          bold([
            "Total",
            "5",
            Format.formatTokens(expected.inputTokens),
            Format.formatTokens(expected.cachedInputTokens!),
            ...(writes ? [Format.formatTokens(expected.cacheWriteInputTokens!)] : []),
            Format.formatTokens(expected.outputTokens),
            Format.formatCost(result.totalCost)
          ])
        )
        assert.include(markdown, `Input tokens include cache reads${writes ? " and cache writes" : ""}, each priced at its own rate.`)
      }))
  }

  it.effect("without prompt caching the cost table keeps its columns", () =>
    Effect.gen(function*() {
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", { config: { primaryModel: "gpt-4o" } }).pipe(
        Effect.provide(scripted().layer)
      )
      const markdown = Report.markdown(result)
      assert.include(markdown, "| Model | Calls | Input tokens | Output tokens | Cost |")
      assert.notInclude(markdown, "Cache")
    }))
})
