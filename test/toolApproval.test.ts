/**
 * Tools that require approval: the call waits for a decision through the run's store, as an approval step does;
 * approved it runs, rejected (with a note) or timed out the model is told so and the run goes on.
 */
import { Tool, Toolkit } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Schema, TestClock } from "effect"
import { Agent, Orchestrator, type OrchestratorEvent, Provider, RunStore, Workflow } from "multi-agent-orchestration"

const Publish = Tool.make("publish", {
  description: "Publish a post",
  parameters: { title: Schema.String },
  success: Schema.String
}).annotate(Agent.RequiresApproval, { timeout: "1 hour", prompt: (params) => `Publish ${JSON.stringify(params)}?` })
const Lookup = Tool.make("lookup", {
  description: "Look a term up",
  parameters: { term: Schema.String },
  success: Schema.String
})
const tools = Toolkit.make(Publish, Lookup)

/** The handlers, recording the posts published. */
const handlers = () => {
  const published: Array<string> = []
  const layer = tools.toLayer({
    publish: ({ title }) => Effect.sync(() => (published.push(title), `published "${title}"`)),
    lookup: ({ term }) => Effect.succeed(`${term}: the rise and fall of the sea`)
  })
  return { published, layer }
}

/** The simulated provider: it asks to publish (and to look a term up) once, then answers; every request is kept. */
const scripted = () => {
  const requests: Array<Provider.CompletionRequest> = []
  const layer = Provider.simulated({
    toolCalls: (request) => {
      requests.push(request)
      return requests.length === 1
        ? [{ name: "publish", params: { title: "Tides" } }, { name: "lookup", params: { term: "tide" } }]
        : []
    }
  })
  return { requests, layer }
}

const toolMessages = (request: Provider.CompletionRequest | undefined) =>
  Provider.messagesOf(request!).filter((message): message is Provider.ToolMessage => message.role === "tool")

const writer = Workflow.agent({ name: "writer", tools, maxSteps: 4 })
const config = { primaryModel: "gpt-4o", maxRetries: 0, timeoutSeconds: 60 }

/** Runs the writer durably as run "w", handing each `approval_requested` to `requested`. */
const runWriter = (durable: { readonly onApproval?: "wait" | "suspend"; readonly pollSeconds?: number } = {}) =>
  Effect.gen(function*() {
    const requested = yield* Deferred.make<OrchestratorEvent.Of<"approval_requested">>()
    const events: Array<OrchestratorEvent.OrchestratorEvent> = []
    const fiber = yield* Effect.fork(Orchestrator.run(writer, "Write about tides", {
      config,
      durable: { runId: "w", ...durable },
      onEvent: (event) =>
        Effect.sync(() => {
          events.push(event)
          if (event.type === "approval_requested") Deferred.unsafeDone(requested, Effect.succeed(event))
        })
    }))
    return { requested, events, fiber }
  })

describe("a tool that requires approval", () => {
  it.effect("waits for approval_requested to be approved, then runs; other tools do not wait", () => {
    const model = scripted()
    const tool = handlers()
    return Effect.gen(function*() {
      const { events, fiber, requested } = yield* runWriter()
      const request = yield* Deferred.await(requested)
      assert.strictEqual(request.data.prompt, `Publish {"title":"Tides"}?`)
      assert.strictEqual(request.data.expiresAt, request.data.requestedAt + 3_600_000)
      assert.match(request.data.step, /^writer\/publish\/\w+$/)
      assert.strictEqual(request.agentId, "writer")
      // Nothing published yet; the other tool of the step ran.
      assert.deepStrictEqual(tool.published, [])
      assert.strictEqual(events.filter((e) => e.type === "tool_result").length, 1)
      yield* Orchestrator.approve("w", request.data.step, { approved: true })
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      assert.deepStrictEqual(tool.published, ["Tides"])
      const results = toolMessages(model.requests[1])
      assert.deepStrictEqual(results.map((m) => [m.name, m.isError ?? false]), [["publish", false], ["lookup", false]])
      assert.include(results[0]!.content, `published \\"Tides\\"`)
    }).pipe(Effect.provide(Layer.mergeAll(model.layer, tool.layer, RunStore.layerMemory)))
  })

  it.effect("rejected with a note: the tool does not run, the model gets the note as the tool's error, the run completes", () => {
    const model = scripted()
    const tool = handlers()
    return Effect.gen(function*() {
      const { events, fiber, requested } = yield* runWriter()
      const request = yield* Deferred.await(requested)
      yield* Orchestrator.approve("w", request.data.step, { approved: false, note: "Not before the editor reads it." })
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.agentResults[0]!.status, "completed")
      assert.deepStrictEqual(tool.published, [])
      const publish = toolMessages(model.requests[1]).find((m) => m.name === "publish")!
      assert.isTrue(publish.isError)
      assert.include(publish.content, "Not before the editor reads it.")
      const outcome = events.find((e): e is OrchestratorEvent.Of<"tool_result"> => e.type === "tool_result" && e.data.tool === "publish")
      assert.strictEqual(outcome?.data.outcome, "failure")
    }).pipe(Effect.provide(Layer.mergeAll(model.layer, tool.layer, RunStore.layerMemory)))
  })

  it.effect("no decision within the timeout: the model is told, the agent (whose own time bound is paused) completes", () => {
    const model = scripted()
    const tool = handlers()
    return Effect.gen(function*() {
      const { fiber, requested } = yield* runWriter({ pollSeconds: 30 })
      yield* Deferred.await(requested)
      // An hour of waiting, far past the agent's 60 s timeoutSeconds: the wait does not count against it.
      for (let i = 0; i < 61; i++) yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.agentResults[0]!.status, "completed")
      assert.deepStrictEqual(tool.published, [])
      const publish = toolMessages(model.requests[1]).find((m) => m.name === "publish")!
      assert.isTrue(publish.isError)
      assert.include(publish.content, "got no decision within 3600 s")
    }).pipe(Effect.provide(Layer.mergeAll(model.layer, tool.layer, RunStore.layerMemory)))
  })

  it.effect("suspended: the run ends waiting with nothing held; approved, a resume runs the tool and completes", () => {
    const tool = handlers()
    return Effect.gen(function*() {
      const first = scripted()
      const { fiber, requested } = yield* Effect.provide(runWriter({ onApproval: "suspend" }), first.layer)
      const request = yield* Deferred.await(requested)
      const waiting = yield* Fiber.join(fiber)
      assert.strictEqual(waiting.status, "pending")
      assert.deepStrictEqual(tool.published, [])
      const store = yield* RunStore.RunStore
      const approvals = yield* store.approvals("w")
      assert.deepStrictEqual(approvals.map((a) => [a.step, a.decision]), [[request.data.step, undefined]])
      yield* Orchestrator.approve("w", request.data.step, { approved: true })
      const second = scripted()
      const done = yield* Effect.provide(Orchestrator.resume(writer, "w"), second.layer)
      assert.strictEqual(done.status, "completed")
      assert.deepStrictEqual(tool.published, ["Tides"])
    }).pipe(Effect.provide(Layer.mergeAll(tool.layer, RunStore.layerMemory)))
  })

  it.effect("without a durable run the call cannot wait: the model is told so, and the tool does not run", () => {
    const model = scripted()
    const tool = handlers()
    return Effect.gen(function*() {
      const result = yield* Orchestrator.run(writer, "Write about tides", { config })
      assert.strictEqual(result.status, "completed")
      assert.deepStrictEqual(tool.published, [])
      const publish = toolMessages(model.requests[1]).find((m) => m.name === "publish")!
      assert.isTrue(publish.isError)
      assert.include(publish.content, "needs a durable run")
    }).pipe(Effect.provide(Layer.mergeAll(model.layer, tool.layer)))
  })
})
