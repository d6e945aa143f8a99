import { chmodSync, mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Either, Fiber, Layer, Option, TestClock } from "effect"
import {
  Orchestrator,
  type OrchestratorResult,
  Provider,
  RunStore,
  Workflow
} from "multi-agent-orchestration"
import { fixedWorkflow, recorder, tasks } from "./helpers.js"

const config = { primaryModel: "gpt-4o", maxConcurrentAgents: 2, maxRetries: 0 }

/** The simulated provider, counting calls; `onCall(n)` runs as call n starts. */
const counted = (onCall: (n: number) => Effect.Effect<void> = () => Effect.void, latency: Duration.DurationInput = "2 millis") => {
  const log = { calls: 0, prompts: [] as Array<string> }
  const layer = Layer.effect(
    Provider.Provider,
    Effect.map(Provider.makeSimulated({ latency }), (simulated) =>
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

describe("a lease lost mid-run", () => {
  /** The simulated provider, 10 s a call, its answers marked with the process they came from. */
  const marked = (mark: string) => {
    const log = { calls: 0 }
    const layer = Layer.effect(
      Provider.Provider,
      Effect.map(Provider.makeSimulated({ latency: "10 seconds" }), (simulated) =>
        Provider.Provider.of({
          ...simulated,
          complete: (request) =>
            Effect.suspend(() => {
              log.calls++
              return Effect.map(simulated.complete(request), (completion) => ({ ...completion, content: `[${mark}] ${completion.content}` }))
            })
        }))
    )
    return { log, layer }
  }

  /** The memory store, where the first process to take a lease stalls for a minute on renewing it (the holders, in order). */
  const stalledFirstHolder = () => {
    const holders: Array<string> = []
    const layer = Layer.effect(
      RunStore.RunStore,
      Effect.map(RunStore.RunStore, (store) =>
        RunStore.RunStore.of({
          ...store,
          acquire: (runId, holder, ttl, from) =>
            Effect.tap(store.acquire(runId, holder, ttl, from), () => {
              if (!holders.includes(holder)) holders.push(holder)
            }),
          renew: (runId, holder, ttl) =>
            holder === holders[0]
              ? Effect.zipRight(Effect.sleep("1 minute"), store.renew(runId, holder, ttl))
              : store.renew(runId, holder, ttl)
        }))
    ).pipe(Layer.provideMerge(RunStore.layerMemory))
    return { holders, layer }
  }

  it.effect("a process whose lease expired and was taken over stops writing and fails with RunHeld", () => {
    const stalled = stalledFirstHolder()
    return Effect.gen(function*() {
      const four = fixedWorkflow(tasks("t1", "t2", "t3", "t4"))
      const one = { ...config, maxConcurrentAgents: 1 }
      const a = marked("A")
      const b = marked("B")
      const first = yield* Effect.fork(
        Effect.provide(Orchestrator.run(four, "Tides", { config: one, durable: { runId: "r", leaseSeconds: 30 } }), a.layer)
      )
      // A records t1 to t3 (10 s each) and is on t4 when its 30 s lease, never renewed, has expired.
      yield* TestClock.adjust("35 seconds")
      const store = yield* RunStore.RunStore
      const agents = (steps: ReadonlyArray<RunStore.StepRecord>) => steps.filter((step) => step.kind === "agent")
      assert.deepStrictEqual(agents(yield* store.steps("r")).map((step) => step.key).sort(), ["t1", "t2", "t3"])
      const second = yield* Effect.fork(Effect.provide(Orchestrator.resume(four, "r", { config: one }), b.layer))
      // A's t4 is answered at 40 s, B's at 45 s.
      yield* TestClock.adjust("10 seconds")
      const lost = yield* Effect.flip(Fiber.join(first))
      assert.strictEqual(lost._tag, "RunHeld")
      if (lost._tag === "RunHeld") assert.strictEqual(lost.holder, stalled.holders[1])
      const resumed = yield* Fiber.join(second)
      assert.strictEqual(resumed.status, "completed")
      // t1 to t3 are A's, replayed; t4 is B's alone: A's answer, come after the takeover, was never written.
      assert.deepStrictEqual(resumed.agentResults.map((r) => r.content.slice(0, 3)), ["[A]", "[A]", "[A]", "[B]"])
      const t4 = (yield* store.steps("r")).find((step) => step.key === "t4")
      assert.include(t4?.record, "[B]")
      assert.notInclude(t4?.record, "[A]")
      assert.strictEqual(a.log.calls, 4)
      assert.strictEqual(b.log.calls, 1)
      const run = Option.getOrThrow(yield* store.get("r"))
      // B's final status stands: A did not mark the run interrupted on its way out.
      assert.strictEqual(run.status, "completed")
      // One completion of t4 in the stored events: B's.
      const events = (yield* store.events("r", 0)).map((event) => JSON.parse(event.json) as { type: string; data: { subtaskId?: string } })
      assert.strictEqual(events.filter((event) => event.type === "agent_complete" && event.data.subtaskId === "t4").length, 1)
    }).pipe(Effect.provide(stalled.layer))
  })

  it.effect("a process that wakes after the run was taken over and finished writes nothing and fails with RunHeld", () => {
    const stalled = stalledFirstHolder()
    return Effect.gen(function*() {
      const two = fixedWorkflow(tasks("t1", "t2"))
      const one = { ...config, maxConcurrentAgents: 1 }
      const slow = Layer.effect(
        Provider.Provider,
        Effect.map(Provider.makeSimulated({ latency: "100 seconds" }), (simulated) => Provider.Provider.of(simulated))
      )
      const first = yield* Effect.fork(
        Effect.provide(Orchestrator.run(two, "Tides", { config: one, durable: { runId: "r", leaseSeconds: 30 } }), slow)
      )
      yield* TestClock.adjust("31 seconds")
      // B takes the run over and finishes it (released) while A's first call still hangs.
      const second = yield* Effect.fork(Effect.provide(Orchestrator.resume(two, "r", { config: one }), marked("B").layer))
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual((yield* Fiber.join(second)).status, "completed")
      const store = yield* RunStore.RunStore
      const before = Option.getOrThrow(yield* store.get("r"))
      assert.strictEqual(before.leaseHolder, undefined)
      yield* TestClock.adjust("100 seconds")
      const lost = yield* Effect.flip(Fiber.join(first))
      assert.strictEqual(lost._tag, "RunHeld")
      const after = Option.getOrThrow(yield* store.get("r"))
      assert.strictEqual(after.status, "completed")
      assert.strictEqual(after.result, before.result)
      assert.strictEqual(after.updatedAt, before.updatedAt)
      const agents = (yield* store.steps("r")).filter((step) => step.kind === "agent")
      assert.deepStrictEqual(agents.map((step) => step.record.includes("[B]")), [true, true])
    }).pipe(Effect.provide(stalled.layer))
  })

  it.live("on SQLite, a write or renewal of a holder that lost the lease is refused with RunHeld and writes nothing", () =>
    Effect.gen(function*() {
      const store = yield* RunStore.RunStore
      yield* store.create({ runId: "r", workflow: "w", title: "t", task: "Tides", fingerprint: "f", identity: "{}" })
      yield* store.acquire("r", "host:1:a", 1)
      yield* Effect.sleep("5 millis")
      // The lease of a has expired: b takes the run over.
      yield* store.acquire("r", "host:2:b", 60_000)
      const batch = (holder: string, key: string) => ({
        holder,
        steps: [{ key, kind: "agent", record: "{}" }],
        events: [],
        progress: 0.5,
        cost: 1,
        agents: 1
      })
      const refused = yield* Effect.flip(store.append("r", batch("host:1:a", "from-a")))
      assert.strictEqual(refused._tag, "RunHeld")
      if (refused._tag === "RunHeld") assert.strictEqual(refused.holder, "host:2:b")
      assert.strictEqual((yield* Effect.flip(store.renew("r", "host:1:a", 60_000)))._tag, "RunHeld")
      yield* store.append("r", batch("host:2:b", "from-b"))
      yield* store.renew("r", "host:2:b", 60_000)
      assert.deepStrictEqual((yield* store.steps("r")).map((step) => step.key), ["from-b"])
      yield* store.release("r", "host:2:b")
      assert.strictEqual((yield* Effect.flip(store.renew("r", "host:2:b", 60_000)))._tag, "RunHeld")
    }).pipe(Effect.provide(RunStore.layerSqlite({ filename: join(mkdtempSync(join(tmpdir(), "durable-lease-")), "runs.db") }))))
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

const reviewed = Workflow.sequential([
  Workflow.agent({ name: "draft" }),
  Workflow.approval({ name: "review", prompt: "Publish the draft?", timeout: "1 hour" }),
  Workflow.agent({ name: "publish" })
])

describe("approval steps", () => {
  it.effect("wait for a decision: approve with a note, and later steps see the note", () =>
    Effect.gen(function*() {
      const calls = counted(undefined, 0)
      const events = recorder()
      const fiber = yield* Effect.fork(Effect.provide(
        Orchestrator.run(reviewed, "Write about tides", { config, durable: { runId: "a" }, onEvent: events.onEvent }),
        calls.layer
      ))
      yield* TestClock.adjust("10 seconds")
      const requested = events.ofType("approval_requested")
      assert.strictEqual(requested.length, 1)
      assert.deepStrictEqual(
        { step: requested[0]!.data.step, prompt: requested[0]!.data.prompt, expiresAt: requested[0]!.data.expiresAt },
        { step: "review", prompt: "Publish the draft?", expiresAt: 3_600_000 }
      )
      assert.strictEqual(calls.log.calls, 1)
      const store = yield* RunStore.RunStore
      const waiting = yield* store.approvals("a")
      assert.deepStrictEqual(waiting.map((a) => [a.step, a.decision]), [["review", undefined]])
      const unknown = yield* Effect.flip(Orchestrator.approve("a", "revue", { approved: true }))
      assert.strictEqual(unknown._tag, "ApprovalNotFound")
      yield* Orchestrator.approve("a", "review", { approved: true, note: "Cut the second paragraph." })
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(calls.log.calls, 2)
      assert.include(calls.log.prompts[1]!, "Cut the second paragraph.")
    }).pipe(Effect.provide(RunStore.layerMemory)))

  it.effect("no decision within the timeout fails the step with ApprovalTimedOut", () =>
    Effect.gen(function*() {
      const calls = counted(undefined, 0)
      const alone = Workflow.approval({ name: "review", prompt: "Go?", timeout: "1 hour" })
      const fiber = yield* Effect.fork(Effect.provide(
        // Reading the store every 10 minutes keeps the TestClock's work small.
        Orchestrator.run(alone, "Write about tides", { config, durable: { runId: "t", pollSeconds: 600 } }),
        calls.layer
      ))
      yield* TestClock.adjust("59 minutes")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("2 minutes")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "failed")
      assert.strictEqual(result.failure?._tag, "ApprovalTimedOut")
      const inPipeline = yield* Effect.fork(Effect.provide(
        Orchestrator.run(reviewed, "Write about tides", { config, durable: { runId: "t2", pollSeconds: 600 } }),
        calls.layer
      ))
      yield* TestClock.adjust("2 hours")
      const failed = yield* Fiber.join(inPipeline)
      assert.strictEqual(failed.status, "failed")
      assert.include(failed.error ?? "", "got no decision within 3600 s")
    }).pipe(Effect.provide(RunStore.layerMemory)))

  it.effect("suspend: the run ends waiting, nothing held; approve, then resume continues without redoing the draft", () =>
    Effect.gen(function*() {
      const first = counted(undefined, 0)
      const waiting = yield* Effect.provide(
        Orchestrator.run(reviewed, "Write about tides", { config, durable: { runId: "s", onApproval: "suspend" } }),
        first.layer
      )
      assert.strictEqual(waiting.status, "pending")
      assert.strictEqual(waiting.failure?._tag, "AwaitingApproval")
      const store = yield* RunStore.RunStore
      const stored = yield* store.get("s")
      assert.strictEqual(Option.getOrThrow(stored).status, "waiting")
      assert.strictEqual(Option.getOrThrow(stored).leaseHolder, undefined)
      yield* Orchestrator.approve("s", "review", { approved: true, note: "Fine." })
      const second = counted(undefined, 0)
      const done = yield* Effect.provide(Orchestrator.resume(reviewed, "s"), second.layer)
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(second.log.calls, 1)
      assert.include(second.log.prompts[0]!, "Fine.")
    }).pipe(Effect.provide(RunStore.layerMemory)))

  it.effect("a rejection fails the step with ApprovalRejected and its note; without durability the step cannot wait", () =>
    Effect.gen(function*() {
      const calls = counted(undefined, 0)
      const alone = Workflow.approval({ name: "review", prompt: "Go?" })
      const fiber = yield* Effect.fork(Effect.provide(Orchestrator.run(alone, "Tides", { config, durable: { runId: "r" } }), calls.layer))
      yield* TestClock.adjust("1 second")
      yield* Orchestrator.approve("r", "review", { approved: false, note: "Not now." })
      yield* TestClock.adjust("1 second")
      const rejected = yield* Fiber.join(fiber)
      assert.strictEqual(rejected.failure?._tag, "ApprovalRejected")
      assert.include(rejected.error ?? "", "Not now.")
      const plain = yield* Effect.provide(Orchestrator.run(alone, "Tides", { config }), calls.layer)
      assert.strictEqual(plain.failure?._tag, "ApprovalUnavailable")
    }).pipe(Effect.provide(RunStore.layerMemory)))
})

describe("bad stores", () => {
  const scratch = () => mkdtempSync(join(tmpdir(), "durable-store-"))
  const open = (location: string) => Effect.flip(Effect.scoped(Layer.build(RunStore.layer(location))))

  it.live("a file that is not a database is a RunStoreError naming it, not a crash", () =>
    Effect.gen(function*() {
      const file = join(scratch(), "runs.db")
      writeFileSync(file, "this is not a database, just text ".repeat(200))
      const error = yield* open(file)
      assert.strictEqual(error._tag, "RunStoreError")
      assert.include(error.message, file)
      assert.include(error.message, "not a SQLite database")
    }))

  it.live("a read-only store file is a RunStoreError", () =>
    Effect.gen(function*() {
      const file = join(scratch(), "runs.db")
      yield* Effect.scoped(Layer.build(RunStore.layerSqlite({ filename: file })))
      chmodSync(file, 0o444)
      const error = yield* open(file)
      assert.strictEqual(error._tag, "RunStoreError")
      assert.include(error.message, "read-only")
    }))

  it.live("a Postgres URL with no server behind it is a RunStoreError", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() => freePort())
      const error = yield* open(`postgres://postgres:secret@127.0.0.1:${port}/runs`)
      assert.strictEqual(error._tag, "RunStoreError")
      assert.include(error.message, "no Postgres server answers")
      assert.notInclude(error.message, "secret")
    }), 30_000)

  it.live("a store written by a newer schema version is refused with RunStoreTooNew", () =>
    Effect.gen(function*() {
      const file = join(scratch(), "runs.db")
      yield* Effect.scoped(Layer.build(RunStore.layerSqlite({ filename: file })))
      yield* Effect.promise(async () => {
        const { createClient } = await import("@libsql/client")
        const client = createClient({ url: `file:${file}` })
        await client.execute("INSERT INTO orchestrate_migrations (migration_id, name) VALUES (99, 'future')")
        client.close()
      })
      const error = yield* open(file)
      assert.strictEqual(error._tag, "RunStoreTooNew")
      if (error._tag === "RunStoreTooNew") assert.deepStrictEqual([error.version, error.supported], [99, RunStore.schemaVersion])
    }))
})

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as { port: number }
      server.close(() => resolve(address.port))
    })
  })

describe("the fingerprint", () => {
  it.live("sees the values a preset was built from: a cascade with other counts is refused", () =>
    Effect.gen(function*() {
      const calls = counted()
      const { DreamCascade } = yield* Effect.promise(() => import("multi-agent-orchestration"))
      const four = DreamCascade.make({ belterCount: 4, drummerCount: 2, caminaCount: 1 })
      const three = DreamCascade.make({ belterCount: 3, drummerCount: 2, caminaCount: 1 })
      yield* Effect.provide(Orchestrator.run(four, "Tides", { config, durable: { runId: "c" } }), calls.layer)
      const error = yield* Effect.flip(Effect.provide(Orchestrator.resume(three, "c"), calls.layer))
      assert.strictEqual(error._tag, "RunMismatch")
      if (error._tag === "RunMismatch") {
        assert.deepStrictEqual(error.differences.map((d) => [d.part, d.key]), [["workflow", "dream-cascade.settings"]])
        assert.include(error.message, "\"belterCount\":4")
      }
    }).pipe(Effect.provide(RunStore.layerMemory)))
})
