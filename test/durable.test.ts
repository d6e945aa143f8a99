import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Either, Layer, TestClock } from "effect"
import {
  Orchestrator,
  type OrchestratorResult,
  Provider,
  RunStore,
  Workflow
} from "multi-agent-orchestration"
import { fixedWorkflow, tasks } from "./helpers.js"

const config = { primaryModel: "gpt-4o", maxConcurrentAgents: 2, maxRetries: 0 }

/** The simulated provider, counting calls; `onCall(n)` runs as call n starts. */
const counted = (onCall: (n: number) => Effect.Effect<void> = () => Effect.void) => {
  const log = { calls: 0, prompts: [] as Array<string> }
  const layer = Layer.effect(
    Provider.Provider,
    Effect.map(Provider.makeSimulated({ latency: "2 millis" }), (simulated) =>
      Provider.Provider.of({
        ...simulated,
        complete: (request) =>
          Effect.suspend(() => {
            log.calls++
            log.prompts.push(Provider.messagesOf(request).at(-1)?.content ?? "")
            return Effect.zipRight(onCall(log.calls), simulated.complete(request))
          })
      }))
  )
  return { log, layer }
}

/** What must not change across a restart. */
const comparable = (result: OrchestratorResult.OrchestratorResult) => ({
  status: result.status,
  finalSynthesis: result.finalSynthesis,
  agents: result.agentResults.map((a) => ({ id: a.agentId, status: a.status, content: a.content, usage: a.usage })),
  syntheses: result.synthesisResults.map((s) => ({ id: s.synthesisId.replace(/#\d+/g, ""), content: s.content })),
  usage: result.usage,
  totalCost: result.totalCost.toFixed(10)
})

/** Every pattern, nested: agents with a DAG, a pipeline, branches, a choice and iterations. */
const composite = Workflow.sequential([
  fixedWorkflow(tasks("a", "b", { id: "c", dependencies: ["a", "b"] }), { name: "research", synthesize: true }),
  Workflow.parallel([Workflow.agent({ name: "pro" }), Workflow.agent({ name: "con" })]),
  Workflow.conditional({
    select: () =>
      Effect.map(Provider.complete({ prompt: "Answer in one word: short or long?" }), (c) => (c.content.length % 2 === 0 ? "even" : "odd")),
    branches: { even: Workflow.agent({ name: "even" }), odd: Workflow.agent({ name: "odd" }) }
  }),
  Workflow.iterate(Workflow.agent({ name: "draft" }), { maxIterations: 2 })
])

describe("durable runs", () => {
  it.live("every pattern, stopped at each provider call in turn, resumes to the uninterrupted result and pays each recorded step once", () =>
    Effect.gen(function*() {
      const plain = counted()
      const expected = yield* Effect.provide(Orchestrator.run(composite, "Write about tides", { config, taskId: "tides" }), plain.layer)
      assert.strictEqual(expected.status, "completed")
      const total = plain.log.calls
      assert.isAtLeast(total, 10)
      for (let k = 1; k < total; k++) {
        const outcome = yield* Effect.gen(function*() {
          const stop = yield* Deferred.make<void>()
          const first = counted((n) => (n === k ? Deferred.succeed(stop, undefined) : Effect.void))
          const store = yield* RunStore.RunStore
          const stopped = yield* Effect.provide(
            Orchestrator.run(composite, "Write about tides", { config, durable: { runId: "tides" }, cancelWhen: Deferred.await(stop) }),
            first.layer
          )
          const recorded = (yield* store.steps("tides")).reduce(
            (sum, step) => sum + (JSON.parse(step.record) as { calls: Array<unknown> }).calls.length,
            0
          )
          const second = counted()
          const resumed = yield* Effect.provide(Orchestrator.resume(composite, "tides"), second.layer)
          return { stopped, recorded, resumed, first: first.log.calls, second: second.log.calls }
        }).pipe(Effect.provide(RunStore.layerMemory))
        assert.strictEqual(outcome.stopped.status, "cancelled", `stop at call ${k}`)
        assert.deepStrictEqual(comparable(outcome.resumed), comparable(expected), `stop at call ${k}`)
        // The resumed process calls exactly what the store did not have.
        assert.strictEqual(outcome.second, total - outcome.recorded, `stop at call ${k}`)
        const durable = outcome.resumed.metadata.durable as { previousCost: number; resumedCost: number; totalCost: number }
        assert.closeTo(durable.previousCost + durable.resumedCost, outcome.resumed.totalCost, 1e-12)
        if (outcome.recorded > 0) assert.isAbove(durable.previousCost, 0)
      }
    }), 120_000)

  it.live("resuming a completed run returns its stored result and calls nothing", () =>
    Effect.gen(function*() {
      const first = counted()
      const done = yield* memoryRun(first, composite)
      const again = counted()
      const resumed = yield* Effect.provide(Orchestrator.resume(composite, "r"), again.layer)
      assert.strictEqual(again.log.calls, 0)
      assert.deepStrictEqual(comparable(resumed), comparable(done))
    }).pipe(Effect.provide(RunStore.layerMemory)))

  it.live("a different workflow, task or configuration is refused with what differs, and nothing runs", () =>
    Effect.gen(function*() {
      const first = counted()
      yield* memoryRun(first, composite, { stopAtCall: 3 })
      const other = Workflow.sequential([
        fixedWorkflow(tasks("a", "b"), { name: "research", synthesize: true }),
        Workflow.agent({ name: "pro" })
      ])
      const calls = counted()
      const changedWorkflow = yield* Effect.either(Effect.provide(Orchestrator.resume(other, "r"), calls.layer))
      assert.isTrue(Either.isLeft(changedWorkflow))
      const error = Either.getLeft(changedWorkflow).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
      assert.strictEqual(error._tag, "RunMismatch")
      if (error._tag !== "RunMismatch") return
      assert.isTrue(error.differences.some((d) => d.part === "workflow"))

      const changedConfig = yield* Effect.flip(
        Effect.provide(Orchestrator.resume(composite, "r", { config: { ...config, maxConcurrentAgents: 5 } }), calls.layer)
      )
      assert.strictEqual(changedConfig._tag, "RunMismatch")
      if (changedConfig._tag === "RunMismatch") {
        assert.deepStrictEqual(changedConfig.differences.map((d) => [d.part, d.key, d.stored, d.given]), [["config", "maxConcurrentAgents", "2", "5"]])
        assert.include(changedConfig.message, "maxConcurrentAgents: stored 2, given 5")
      }
      const changedTask = yield* Effect.flip(
        Effect.provide(Orchestrator.run(composite, "Write about waves", { config, durable: { runId: "r" } }), calls.layer)
      )
      assert.strictEqual(changedTask._tag, "RunMismatch")
      if (changedTask._tag === "RunMismatch") assert.deepStrictEqual(changedTask.differences.map((d) => d.part), ["task"])
      assert.strictEqual(calls.log.calls, 0)
    }).pipe(Effect.provide(RunStore.layerMemory)))

  it.effect("a run held by another process is refused with RunHeld until its lease expires, then taken over", () =>
    Effect.gen(function*() {
      const first = counted()
      yield* memoryRun(first, composite, { stopAtCall: 2 })
      const store = yield* RunStore.RunStore
      yield* store.acquire("r", "other-host:1:abc", 30_000)
      const calls = counted()
      const held = yield* Effect.flip(Effect.provide(Orchestrator.resume(composite, "r"), calls.layer))
      assert.strictEqual(held._tag, "RunHeld")
      if (held._tag === "RunHeld") {
        assert.strictEqual(held.holder, "other-host:1:abc")
        assert.strictEqual(held.expiresAt, 30_000)
      }
      assert.strictEqual(calls.log.calls, 0)
      yield* TestClock.adjust("31 seconds")
      const fiber = yield* Effect.fork(Effect.provide(Orchestrator.resume(composite, "r"), calls.layer))
      // The simulated provider sleeps 2 ms a call: let the TestClock run the rest of the run.
      for (let i = 0; i < 200; i++) yield* TestClock.adjust("2 millis")
      const resumed = yield* fiber.await
      assert.strictEqual(resumed._tag, "Success")
    }).pipe(Effect.provide(RunStore.layerMemory)))
})

/** Runs `workflow` durably as run "r" with the store in context, stopping at a call if asked. */
const memoryRun = (
  provider: ReturnType<typeof counted>,
  workflow: Workflow.Workflow,
  options: { readonly stopAtCall?: number } = {}
) =>
  Effect.gen(function*() {
    if (options.stopAtCall === undefined) {
      return yield* Effect.provide(Orchestrator.run(workflow, "Write about tides", { config, durable: { runId: "r" } }), provider.layer)
    }
    const stop = yield* Deferred.make<void>()
    const stopping = counted((n) => (n === options.stopAtCall ? Deferred.succeed(stop, undefined) : Effect.void))
    return yield* Effect.provide(
      Orchestrator.run(workflow, "Write about tides", { config, durable: { runId: "r" }, cancelWhen: Deferred.await(stop) }),
      stopping.layer
    )
  })
