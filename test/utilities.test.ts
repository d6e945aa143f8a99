import { assert, describe, it } from "@effect/vitest"
import { Array as Arr, Duration, Effect, Fiber, Random, Ref, type Schedule, TestClock } from "effect"
import { CostTracker, Format, Pricing, Progress, Retry } from "multi-agent-orchestration"

describe("Format", () => {
  it("formats durations like the original, truncating", () => {
    const cases: ReadonlyArray<[number, string]> = [
      [0, "0s"],
      [59.9, "59s"],
      [60, "1m 0s"],
      [61.7, "1m 1s"],
      [3599, "59m 59s"],
      [3600, "1h 0m"],
      [3725, "1h 2m"],
      [86400, "24h 0m"],
      [-5, "-5s"]
    ]
    for (const [seconds, text] of cases) assert.strictEqual(Format.formatDuration(seconds), text, `${seconds}`)
    assert.strictEqual(Format.formatDuration("90 seconds"), "1m 30s")
  })

  it("formats costs with four decimals below a cent", () => {
    const cases: ReadonlyArray<[number, string]> = [
      [0, "$0.0000"],
      [0.001, "$0.0010"],
      [0.01, "$0.01"],
      [0.999, "$1.00"],
      [12.345, "$12.35"],
      [-1, "-$1.00"]
    ]
    for (const [dollars, text] of cases) assert.strictEqual(Format.formatCost(dollars), text, `${dollars}`)
    assert.strictEqual(Format.formatTokens(1234567), "1,234,567")
  })
})

describe("Progress", () => {
  it("calculates and clamps percentages", () => {
    assert.strictEqual(Progress.calculateProgress(0, 0), 100)
    assert.strictEqual(Progress.calculateProgress(3, 10), 30)
    assert.strictEqual(Progress.calculateProgress(5, -1), 100)
    assert.strictEqual(Progress.calculateProgress(12, 10), 100)
    assert.strictEqual(Progress.estimateRemaining(10, 2, 5), 15)
    assert.isUndefined(Progress.estimateRemaining(10, 0, 5))
  })

  it.effect("a tracker counts completed tasks (the README's ProgressTracker)", () =>
    Effect.gen(function*() {
      const tracker = yield* Progress.makeTracker({ totalTasks: 10 })
      yield* tracker.update(3)
      assert.strictEqual(yield* tracker.percentage, 30)
      const snapshot = yield* tracker.increment
      assert.deepStrictEqual(snapshot, { totalTasks: 10, completed: 4, percentage: 40 })
      yield* tracker.update(99)
      assert.strictEqual(yield* tracker.percentage, 100)
    }))
})

describe("Retry", () => {
  const attemptTimes = (schedule: Schedule.Schedule<unknown, unknown>) =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make<Array<number>>([])
      const unstable = Effect.gen(function*() {
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        yield* Ref.update(attempts, (list) => [...list, now])
        return yield* Effect.fail({ _tag: "Unavailable", transient: true })
      })
      const fiber = yield* Effect.fork(Effect.retry(unstable, schedule))
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.await(fiber)
      return yield* Ref.get(attempts)
    })

  it.effect("backs off exponentially up to the cap", () =>
    Effect.gen(function*() {
      const times = yield* attemptTimes(
        Retry.transientProviderErrors({ maxRetries: 5, baseDelay: "1 second", maxDelay: "5 seconds", jitter: false })
      )
      assert.deepStrictEqual(times, [0, 1000, 3000, 7000, 12000, 17000])
    }))

  it.effect("spreads delays over ±20% unless jitter is off", () =>
    Effect.gen(function*() {
      const times = yield* attemptTimes(Retry.transientProviderErrors({ maxRetries: 3, baseDelay: "1 second" })).pipe(
        Effect.withRandom(Random.make("jitter"))
      )
      const delays = times.slice(1).map((t, i) => t - times[i]!)
      ;[1000, 2000, 4000].forEach((planned, i) => {
        assert.isAtLeast(delays[i]!, planned * 0.8)
        assert.isAtMost(delays[i]!, planned * 1.2)
      })
      assert.notDeepEqual(delays, [1000, 2000, 4000])
    }))

  it.effect("the schedule retries with the documented delays (the README's retry_async)", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make<Array<number>>([])
      const unstable = Effect.gen(function*() {
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        yield* Ref.update(attempts, (list) => [...list, now])
        return yield* Effect.fail("boom")
      })
      const fiber = yield* Effect.fork(
        Effect.retry(unstable, Retry.schedule({ maxRetries: 3, baseDelay: "1 second", jitter: false }))
      )
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(exit._tag === "Failure")
      assert.deepStrictEqual(yield* Ref.get(attempts), [0, 1000, 3000, 7000])
    }))

  it.effect("the provider schedule retries transient errors only, waiting out retryAfter", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make<Array<number>>([])
      const limited = Effect.gen(function*() {
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        yield* Ref.update(attempts, (list) => [...list, now])
        return yield* Effect.fail({ _tag: "RateLimited", transient: true, retryAfter: Duration.seconds(7) })
      })
      const schedule = Retry.transientProviderErrors({ maxRetries: 2, baseDelay: "1 second", jitter: false })
      const fiber = yield* Effect.fork(Effect.retry(limited, schedule))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.await(fiber)
      assert.deepStrictEqual(yield* Ref.get(attempts), [0, 7000, 14000])

      const permanent = yield* Ref.make(0)
      yield* Effect.retry(
        Effect.zipRight(Ref.update(permanent, (n) => n + 1), Effect.fail({ _tag: "InvalidRequest", transient: false })),
        schedule
      ).pipe(Effect.ignore)
      assert.strictEqual(yield* Ref.get(permanent), 1)
    }))
})

describe("Array helpers (the original's chunk_list and deduplicate_by_key)", () => {
  it("effect's Array module does the job", () => {
    assert.deepStrictEqual(Arr.chunksOf([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]])
    assert.deepStrictEqual(Arr.chunksOf([], 2), [])
    const items = [{ id: 1, a: 1 }, { id: 1, a: 2 }, { id: 2, a: 3 }]
    assert.deepStrictEqual(Arr.dedupeWith(items, (x, y) => x.id === y.id), [{ id: 1, a: 1 }, { id: 2, a: 3 }])
  })
})

describe("Pricing", () => {
  it("prices calls per million tokens, cached input at its own rate", () => {
    const pricing = Pricing.make()
    assert.deepStrictEqual(pricing.cost("gpt-4o", { inputTokens: 1_000_000, outputTokens: 1_000_000 }), {
      cost: 12.5,
      priced: true
    })
    const cached = pricing.cost("gpt-4o", { inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 1_000_000 })
    assert.strictEqual(cached.cost, 1.25)
  })

  it("recognises dated snapshots and provider prefixes", () => {
    const pricing = Pricing.make()
    assert.deepStrictEqual(pricing.lookup("gpt-4o-mini-2024-07-18"), Pricing.builtIn["gpt-4o-mini"])
    assert.deepStrictEqual(pricing.lookup("anthropic:claude-sonnet-4-5-20250929"), Pricing.builtIn["claude-sonnet-4-5"])
    assert.deepStrictEqual(pricing.lookup("openai:gpt-4o"), Pricing.builtIn["gpt-4o"])
  })

  it("an unknown model costs nothing and is flagged; overrides win", () => {
    assert.deepStrictEqual(Pricing.make().cost("my-finetune", { inputTokens: 10, outputTokens: 10 }), {
      cost: 0,
      priced: false
    })
    const custom = Pricing.make({ "my-finetune": { input: 3, output: 12 }, "gpt-4o": { input: 1, output: 1 } })
    assert.strictEqual(custom.cost("my-finetune", { inputTokens: 1_000_000, outputTokens: 0 }).cost, 3)
    assert.strictEqual(custom.cost("gpt-4o", { inputTokens: 1_000_000, outputTokens: 0 }).cost, 1)
    assert.isUndefined(Pricing.make({}, { replace: true }).lookup("gpt-4o"))
  })
})

describe("CostTracker", () => {
  it.effect("keeps totals and warns once at 80% of the budget (the original's sequence)", () =>
    Effect.gen(function*() {
      const tracker = yield* CostTracker.make({ maxTotalCost: 1 })
      const first = yield* tracker.addCost(0.5, { model: "gpt-4" })
      assert.isFalse(first.crossedWarning)
      const second = yield* tracker.addCost(0.35, { model: "gpt-4" })
      assert.isTrue(second.crossedWarning)
      assert.strictEqual(second.total, 0.85)
      assert.isTrue(yield* tracker.canAfford(0.15))
      assert.isFalse(yield* tracker.canAfford(0.16))
      yield* tracker.ensureBudget
      const third = yield* tracker.addCost(0.2, { model: "gpt-4" })
      assert.isFalse(third.crossedWarning)
      assert.isTrue(third.exhausted)
      const error = yield* Effect.flip(tracker.ensureBudget)
      assert.strictEqual(error._tag, "BudgetExceeded")
      assert.strictEqual(error.message, "Budget exceeded: spent $1.0500 of the $1.0000 limit")
      const snapshot = yield* tracker.snapshot
      assert.closeTo(snapshot.byModel["gpt-4"]!.cost, 1.05, 1e-12)
      assert.closeTo(snapshot.remainingBudget!, -0.05, 1e-12)
      assert.isTrue(snapshot.warningTriggered)
    }))

  it.effect("prices recorded calls and totals them by model, agent and tier", () =>
    Effect.gen(function*() {
      const tracker = yield* CostTracker.make()
      yield* tracker.record({ model: "gpt-4o", usage: { inputTokens: 1000, outputTokens: 100 }, agentId: "a", tier: "worker" })
      yield* tracker.record({ model: "gpt-4o", usage: { inputTokens: 1000, outputTokens: 100 }, agentId: "b", tier: "worker" })
      yield* tracker.record({ model: "mystery", usage: { inputTokens: 5, outputTokens: 5 }, agentId: "b", tier: "synthesis" })
      const snapshot = yield* tracker.snapshot
      const oneCall = (1000 * 2.5 + 100 * 10) / 1_000_000
      assert.closeTo(snapshot.total.cost, 2 * oneCall, 1e-15)
      assert.strictEqual(snapshot.total.calls, 3)
      assert.closeTo(snapshot.byAgent.a!.cost, oneCall, 1e-15)
      assert.strictEqual(snapshot.byAgent.b!.calls, 2)
      assert.strictEqual(snapshot.byTier.worker!.inputTokens, 2000)
      assert.deepStrictEqual(snapshot.unpricedModels, ["mystery"])
    }))

  it.effect("uses the Pricing service in context", () =>
    Effect.gen(function*() {
      const tracker = yield* CostTracker.make()
      const recorded = yield* tracker.record({ model: "house-model", usage: { inputTokens: 1_000_000, outputTokens: 0 } })
      assert.strictEqual(recorded.cost, 2)
    }).pipe(Effect.provide(Pricing.layer({ "house-model": { input: 2, output: 4 } }))))
})
