import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Schema } from "effect"
import {
  AgentResult,
  AgentType,
  CostTracker,
  Orchestrator,
  OrchestratorError,
  OrchestratorEvent,
  OrchestratorResult,
  ProviderError,
  Retry,
  SubTask,
  SynthesisResult,
  TaskStatus
} from "multi-agent-orchestration"

const roundTrip = <A, I>(schema: Schema.Schema<A, I>, value: A): A => {
  const json = JSON.stringify(Schema.encodeSync(schema)(value))
  return Schema.decodeUnknownSync(schema)(JSON.parse(json))
}

const agentResult = new AgentResult.AgentResult({
  agentId: "agent-1",
  agentType: "analyst",
  subtaskId: "task-1",
  content: "Analysis results...",
  status: "completed",
  executionTime: 5.2,
  cost: 0.003,
  usage: { inputTokens: 1200, outputTokens: 300, cachedInputTokens: 200 },
  model: "gpt-4o",
  tier: "analyst",
  attempts: 2,
  metadata: { sources: ["a", "b"] }
})

describe("data models", () => {
  it("a subtask gets the documented defaults", () => {
    const subtask = new SubTask.SubTask({ id: "task-1", description: "Analyze data" })
    assert.strictEqual(subtask.agentType, "worker")
    assert.strictEqual(subtask.priority, 0)
    assert.deepStrictEqual(subtask.dependencies, [])
    assert.deepStrictEqual(subtask.context, {})
  })

  it("a subtask made without validation has the same fields, in the same order, as a validated one", () => {
    // An explicit `undefined`, as JavaScript callers may pass, still gets its default.
    const props = { id: "task-1", description: "Analyze data", priority: undefined, tier: "belter" } as unknown as {
      readonly id: string
      readonly description: string
    }
    const validated = new SubTask.SubTask(props)
    for (const trusted of [new SubTask.SubTask(props, true), new SubTask.SubTask(props, { disableValidation: true })]) {
      assert.strictEqual(JSON.stringify(trusted), JSON.stringify(validated))
      assert.strictEqual(trusted.priority, 0)
      assert.strictEqual(trusted.agentType, "worker")
      assert.instanceOf(trusted, SubTask.SubTask)
    }
    // The defaults still come after the fields given, as the schema lists them.
    assert.deepStrictEqual(Object.keys(validated), [
      "id",
      "description",
      "agentType",
      "priority",
      "dependencies",
      "context",
      "metadata",
      "tier"
    ])
  })

  it("every model survives a JSON round trip", () => {
    const subtask = new SubTask.SubTask({
      id: "task-1",
      description: "Analyze data",
      agentType: "analyst",
      priority: 1,
      dependencies: ["task-0"],
      context: { topic: "qubits" },
      metadata: { source: "test" },
      tier: "belter",
      model: "gpt-4o-mini",
      timeoutSeconds: 30
    })
    assert.deepStrictEqual(roundTrip(SubTask.SubTask, subtask), subtask)
    assert.deepStrictEqual(roundTrip(AgentResult.AgentResult, agentResult), agentResult)

    const synthesis = new SynthesisResult.SynthesisResult({
      synthesisId: "drummer-1",
      level: "drummer",
      content: "Summary",
      sourceAgentIds: ["belter-1", "belter-2"],
      cost: 0.01,
      model: "gpt-4o"
    })
    assert.deepStrictEqual(roundTrip(SynthesisResult.SynthesisResult, synthesis), synthesis)

    const failed = new AgentResult.AgentResult({
      agentId: "agent-2",
      agentType: "researcher",
      subtaskId: "task-2",
      content: "",
      status: "failed",
      error: "simulated: rate limited, retry after 3s",
      errorTag: "RateLimited",
      failure: new ProviderError.RateLimited({ provider: "simulated", retryAfter: Duration.seconds(3) })
    })
    const result = new OrchestratorResult.OrchestratorResult({
      taskId: "workflow-1",
      title: "Research Task",
      status: "failed",
      agentResults: [agentResult, failed],
      synthesisResults: [synthesis],
      finalSynthesis: "Summary...",
      executionTime: 45.2,
      totalCost: 0.05,
      usage: { inputTokens: 5000, outputTokens: 800 },
      costs: {
        total: { cost: 0.05, calls: 3, inputTokens: 5000, outputTokens: 800, cachedInputTokens: 0 },
        byModel: { "gpt-4o": { cost: 0.05, calls: 3, inputTokens: 5000, outputTokens: 800, cachedInputTokens: 0 } },
        byTier: { analyst: { cost: 0.05, calls: 3, inputTokens: 5000, outputTokens: 800, cachedInputTokens: 0 } },
        unpricedModels: [],
        pricesAsOf: "2025-11-01"
      },
      documents: [{ format: "markdown", path: "reports/research-task.md", sizeBytes: 1234 }],
      error: "Budget exceeded: spent $0.0500 of the $0.0400 limit",
      failure: new OrchestratorError.BudgetExceeded({ spent: 0.05, limit: 0.04 }),
      startedAt: "2026-01-01T00:00:00.000Z",
      completedAt: "2026-01-01T00:00:45.200Z",
      metadata: { workflow: "research" }
    })
    const back = roundTrip(OrchestratorResult.OrchestratorResult, result)
    assert.deepStrictEqual(back, result)
    assert.instanceOf(back.failure, OrchestratorError.BudgetExceeded)
    assert.instanceOf(back.agentResults[0], AgentResult.AgentResult)
    const failure = back.agentResults[1]!.failure
    assert.instanceOf(failure, ProviderError.RateLimited)
    assert.strictEqual(Duration.toMillis(failure.retryAfter!), 3000)
  })

  it("the public modules carry no engine internals", () => {
    const exported = (module: object) => new Set(Object.keys(module))
    for (const name of ["emptyIds", "emptyMetadata"]) assert.isFalse(exported(SubTask).has(name), `SubTask.${name}`)
    assert.isFalse(exported(CostTracker).has("unsafeRecord"))
    for (const name of ["delayFor", "backoff"]) assert.isFalse(exported(Retry).has(name), `Retry.${name}`)
    assert.deepStrictEqual([...exported(Orchestrator)].sort(), ["approve", "resume", "run", "stream"])
  })

  it.effect("the JSON codecs of the models round-trip", () =>
    Effect.gen(function*() {
      const json = yield* AgentResult.toJson(agentResult)
      assert.deepStrictEqual(yield* AgentResult.fromJson(json), agentResult)
    }))

  it.effect("decoding bad JSON fails with an error that names the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(SubTask.fromJson(`{"id":"a","description":"d","priority":"high"}`))
      assert.include(error.message, "priority")
      const missing = yield* Effect.flip(AgentResult.fromJson(`{"agentId":"a","agentType":"worker","content":"x"}`))
      assert.include(missing.message, "subtaskId")
      const badType = yield* Effect.flip(SubTask.fromJson(`{"id":"a","description":"d","agentType":"wizard"}`))
      assert.include(badType.message, "agentType")
    }))

  it("task statuses and agent types are the documented literals", () => {
    assert.deepStrictEqual(TaskStatus.TaskStatus.literals, ["pending", "running", "completed", "failed", "cancelled"])
    for (const type of ["researcher", "analyst", "worker", "synthesizer", "executive", "monitor", "specialized"]) {
      assert.isTrue(AgentType.all.includes(type as AgentType.AgentType))
    }
    assert.isTrue(TaskStatus.isFinal("cancelled"))
    assert.isFalse(TaskStatus.isFinal("running"))
  })

  it("events encode to JSON-safe values and decode back", () => {
    const event: OrchestratorEvent.OrchestratorEvent = {
      type: "agent_complete",
      sequence: 7,
      taskId: "t",
      workflowId: "t",
      timestamp: 1_700_000_000_000,
      progress: 42.5,
      agentId: "a",
      data: { subtaskId: "a", executionTime: 1.5, cost: 0.001, usage: { inputTokens: 1, outputTokens: 2 }, attempts: 1 }
    }
    const decoded = Schema.decodeUnknownSync(OrchestratorEvent.OrchestratorEvent)(JSON.parse(OrchestratorEvent.toJson(event)))
    assert.deepStrictEqual(decoded, event)
    const bad = Schema.decodeUnknownEither(OrchestratorEvent.OrchestratorEvent)({ ...event, progress: "half" })
    assert.isTrue(Either.isLeft(bad))
  })

  it("provider errors say whether they are transient, and never lose their retry hint", () => {
    const limited = new ProviderError.RateLimited({ provider: "openai", model: "gpt-4o", status: 429, retryAfter: Duration.seconds(7) })
    assert.isTrue(limited.transient)
    assert.include(limited.message, "openai gpt-4o")
    assert.include(limited.message, "HTTP 429")
    assert.include(limited.message, "7s")
    assert.isTrue(new ProviderError.Timeout({ provider: "p" }).transient)
    assert.isTrue(new ProviderError.Unavailable({ provider: "p", status: 503 }).transient)
    assert.isFalse(new ProviderError.InvalidRequest({ provider: "p", status: 400 }).transient)
    assert.isFalse(new ProviderError.Authentication({ provider: "p", status: 401 }).transient)
    assert.isFalse(new ProviderError.MalformedResponse({ provider: "p", detail: "truncated JSON" }).transient)
    assert.isTrue(ProviderError.isTransient(limited))
    assert.isFalse(ProviderError.isTransient(new Error("boom")))
    const back = roundTrip(ProviderError.ProviderError, limited)
    assert.instanceOf(back, ProviderError.RateLimited)
    assert.strictEqual(Duration.toMillis((back as ProviderError.RateLimited).retryAfter!), 7000)
  })
})
