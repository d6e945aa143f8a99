/**
 * Agent and provider-call spans end however their agent ends (a deadline, an interrupted run), nest what the
 * user's code and the provider make, and reach a batching exporter whole.
 */
import { assert, describe, it } from "@effect/vitest"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Fiber, Layer, Logger, TestClock, Tracer } from "effect"
import { Orchestrator, Provider, Telemetry, Workflow } from "multi-agent-orchestration"
import { fixedWorkflow, scripted, tasks } from "./helpers.js"

const parentOf = (spans: ReadonlyArray<ReadableSpan>, span: ReadableSpan) =>
  spans.find((other) => other.spanContext().spanId === span.parentSpanContext?.spanId)

const named = (spans: ReadonlyArray<ReadableSpan>, name: string) => {
  const span = spans.find((candidate) => candidate.name === name)
  assert.isDefined(span, `no span named ${name} among ${spans.map((s) => s.name).join(", ")}`)
  return span!
}

/** `InMemorySpanExporter` forgets its spans when shut down, as the layer does when it closes: this one keeps them. */
class KeepingExporter extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

// Effect's default tracer, whose spans go nowhere: the recording tracer below hands its spans over to it.
const defaultTracer = Effect.runSync(Effect.tracer)

const immediate = (exporter: InMemorySpanExporter) =>
  Telemetry.layerExporter({ serviceName: "test", spanExporter: exporter, batch: false })

describe("Telemetry: how agent and call spans end", () => {
  it.effect("an agent stopped at its deadline ends its span, and its call's, as timed out", () => {
    const exporter = new InMemorySpanExporter()
    const { layer } = scripted({ latency: (request) => (request.prompt === "do slow" ? "1 hour" : "1 second") })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Orchestrator.run(fixedWorkflow(tasks("slow", "quick")), "task", {
        config: { timeoutSeconds: 30, maxRetries: 0 }
      }))
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(result.agentResults.map((r) => [r.subtaskId, r.status]), [["slow", "failed"], ["quick", "completed"]])
      const spans = exporter.getFinishedSpans()
      const slow = named(spans, "invoke_agent slow")
      assert.strictEqual(slow.attributes["orchestration.agent.status"], "timed_out")
      assert.strictEqual(slow.attributes["error.type"], "StepTimedOut")
      assert.strictEqual(slow.status.code, 2 /* ERROR */)
      // It ended at its deadline, 30 s after it started, not when the run ended.
      assert.strictEqual(slow.endTime[0] - slow.startTime[0], 30)
      const call = spans.find((span) => span.parentSpanContext?.spanId === slow.spanContext().spanId)!
      assert.strictEqual(call.name, "chat test-model")
      assert.isTrue(call.ended)
      assert.strictEqual(named(spans, "invoke_agent quick").attributes["orchestration.agent.status"], "completed")
    }).pipe(Effect.provide(Layer.merge(layer, immediate(exporter))))
  })

  it.effect("interrupting a run ends the spans of the agents it stops, as interrupted", () => {
    const exporter = new InMemorySpanExporter()
    const { layer } = scripted({ latency: "1 hour" })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task"))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const spans = exporter.getFinishedSpans()
      for (const name of ["invoke_agent a", "invoke_agent b"]) {
        const agent = named(spans, name)
        assert.strictEqual(agent.attributes["orchestration.agent.status"], "interrupted")
        assert.strictEqual(agent.attributes["status.interrupted"], true)
        const calls = spans.filter((span) => span.parentSpanContext?.spanId === agent.spanContext().spanId)
        assert.deepStrictEqual(calls.map((span) => span.name), ["chat test-model"])
      }
    }).pipe(Effect.provide(Layer.merge(layer, immediate(exporter))))
  })
})

describe("Telemetry: what nests under agent and call spans", () => {
  it.effect("the user's spans nest under their agent, and a provider's own spans under the call's attempt", () => {
    const exporter = new InMemorySpanExporter()
    // A provider that makes a span of its own for each request, as an HTTP client does.
    const provider = Provider.make(
      (request) =>
        Effect.succeed({ content: `answer ${request.prompt}`, model: "m", usage: { inputTokens: 1, outputTokens: 1 } }).pipe(
          Effect.withSpan("http.client POST")
        ),
      { name: "own-spans", defaultModel: "m" }
    )
    const workflow = Workflow.make({
      name: "nested",
      decompose: () => Effect.succeed(tasks("a", "b")),
      execute: (subtask) =>
        Effect.gen(function*() {
          const first = yield* Provider.complete({ prompt: subtask.description })
          return yield* Effect.withSpan(Effect.succeed(first.content), `tool ${subtask.id}`)
        })
    })
    return Effect.gen(function*() {
      const result = yield* Orchestrator.run(workflow, "task", { config: { maxConcurrentAgents: 1 } })
      assert.strictEqual(result.status, "completed")
      const spans = exporter.getFinishedSpans()
      for (const id of ["a", "b"]) {
        assert.strictEqual(parentOf(spans, named(spans, `tool ${id}`))?.name, `invoke_agent ${id}`)
      }
      const https = spans.filter((span) => span.name === "http.client POST")
      assert.strictEqual(https.length, 2)
      for (const http of https) {
        const call = parentOf(spans, http)!
        assert.strictEqual(call.name, "chat m")
        assert.match(parentOf(spans, call)!.name, /^invoke_agent [ab]$/)
      }
    }).pipe(Effect.provide(Layer.merge(provider, immediate(exporter))))
  })

  it.effect("a fiber an agent forked keeps that agent as its parent after the worker has moved on", () => {
    const exporter = new InMemorySpanExporter()
    const { layer } = scripted({ latency: "1 second" })
    const workflow = Workflow.make({
      name: "forks",
      decompose: () => Effect.succeed(tasks("a", "b")),
      execute: (subtask) =>
        Effect.gen(function*() {
          // A daemon that outlives its agent: it makes its span once the worker runs the next agent.
          if (subtask.id === "a") {
            yield* Effect.forkDaemon(Effect.zipRight(Effect.sleep("1500 millis"), Effect.withSpan(Effect.void, "late work of a")))
          }
          return (yield* Provider.complete({ prompt: subtask.description })).content
        })
    })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(Orchestrator.run(workflow, "task", { config: { maxConcurrentAgents: 1 } }))
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* Fiber.join(fiber)).status, "completed")
      const spans = exporter.getFinishedSpans()
      assert.strictEqual(parentOf(spans, named(spans, "late work of a"))?.name, "invoke_agent a")
    }).pipe(Effect.provide(Layer.merge(layer, immediate(exporter))))
  })

  it.effect("the simulated provider's calls are spans under their agents, with usage", () => {
    const exporter = new InMemorySpanExporter()
    return Effect.gen(function*() {
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b", "c")), "task")
      assert.strictEqual(result.status, "completed")
      const spans = exporter.getFinishedSpans()
      for (const agent of result.agentResults) {
        const span = named(spans, `invoke_agent ${agent.agentId}`)
        const calls = spans.filter((other) => other.parentSpanContext?.spanId === span.spanContext().spanId)
        assert.strictEqual(calls.length, 1)
        assert.strictEqual(calls[0]!.attributes["gen_ai.usage.output_tokens"], agent.usage.outputTokens)
        assert.strictEqual(span.attributes["orchestration.cost"], agent.cost)
      }
    }).pipe(Effect.provide(Layer.merge(Provider.simulated(), immediate(exporter))))
  })
})

describe("Telemetry.instrument under the program's own tracer", () => {
  it.effect("the OpenTelemetry SDK's tracer gets the same tree: agents under their workflow, calls under agents", () => {
    const exporter = new InMemorySpanExporter()
    const sdk = NodeSdk.layer(() => ({
      resource: { serviceName: "own-sdk" },
      spanProcessor: new SimpleSpanProcessor(exporter)
    }))
    return Effect.gen(function*() {
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b"), { name: "own" }), "task").pipe(
        Effect.withSpan("request")
      )
      assert.strictEqual(result.status, "completed")
      const spans = exporter.getFinishedSpans()
      for (const id of ["a", "b"]) {
        const agent = named(spans, `invoke_agent ${id}`)
        assert.strictEqual(parentOf(spans, agent)?.name, "workflow own")
        const calls = spans.filter((span) => span.parentSpanContext?.spanId === agent.spanContext().spanId)
        assert.deepStrictEqual(calls.map((span) => span.name), ["chat test-model"])
        assert.strictEqual(calls[0]!.attributes["gen_ai.usage.input_tokens"], 100)
      }
      assert.strictEqual(parentOf(spans, named(spans, "Orchestrator.run"))?.name, "request")
      assert.strictEqual(new Set(spans.map((span) => span.spanContext().traceId)).size, 1)
    }).pipe(Effect.provide(Layer.mergeAll(scripted().layer, Telemetry.instrument(), sdk)))
  })
})

describe("The run's own span", () => {
  // The name of the span current inside each agent.
  const spanSeenByAgents = (seen: Array<string>) =>
    Workflow.make({
      name: "seen",
      decompose: () => Effect.succeed(tasks("a")),
      execute: () =>
        Effect.map(Effect.option(Effect.currentSpan), (span) => {
          seen.push(span._tag === "Some" ? span.value.name : "(none)")
          return "done"
        }),
      synthesize: (results) => Effect.succeed(`${results.length}`)
    })

  it.effect("is made under a tracer the program provides, without the Telemetry layers", () => {
    const seen: Array<string> = []
    const started: Array<string> = []
    const tracer = Tracer.make({
      span: (name, parent, context, links, startTime, kind) => {
        started.push(name)
        return defaultTracer.span(name, parent, context, links, startTime, kind)
      },
      context: (f) => f()
    })
    return Effect.gen(function*() {
      yield* Orchestrator.run(spanSeenByAgents(seen), "task").pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(started, ["Orchestrator.run"])
      assert.deepStrictEqual(seen, ["Orchestrator.run"])
    }).pipe(Effect.provide(Provider.simulated()))
  })

  it.effect("is not made under Effect's default tracer, which keeps spans nowhere: agents see the caller's span", () => {
    const seen: Array<string> = []
    return Effect.gen(function*() {
      yield* Orchestrator.run(spanSeenByAgents(seen), "task").pipe(Effect.withSpan("request"))
      assert.deepStrictEqual(seen, ["request"])
    }).pipe(Effect.provide(Provider.simulated()))
  })
})

describe("Telemetry: batched export", () => {
  it.effect("every span of a run reaches the exporter when the layer closes, in batches", () => {
    const exporter = new KeepingExporter()
    const batches: Array<number> = []
    const original = exporter.export.bind(exporter)
    exporter.export = (spans, done) => {
      batches.push(spans.length)
      original(spans, done)
    }
    const subtasks = Array.from({ length: 3000 }, (_, i) => `t${i}`)
    return Effect.gen(function*() {
      const result = yield* Orchestrator.run(fixedWorkflow(tasks(...subtasks)), "task", {
        config: { maxConcurrentAgents: 100 }
      }).pipe(
        Effect.provide(Layer.merge(
          Provider.simulated(),
          Telemetry.layerExporter({ serviceName: "test", spanExporter: exporter })
        ))
      )
      assert.strictEqual(result.agentResults.length, 3000)
      const spans = exporter.getFinishedSpans()
      // Two spans an agent, plus the run's, its workflow's, the decomposition's and the synthesis's.
      assert.strictEqual(spans.filter((span) => span.name.startsWith("invoke_agent ")).length, 3000)
      assert.strictEqual(spans.filter((span) => span.name.startsWith("chat ")).length, 3000)
      assert.strictEqual(new Set(spans.map((span) => span.spanContext().spanId)).size, spans.length)
      assert.isTrue(batches.every((size) => size <= 2048), `batches of ${batches.join(", ")}`)
    })
  })

  it.effect("spans past maxQueueSize are dropped and said to be, not lost in silence", () => {
    const exporter = new KeepingExporter()
    const warnings: Array<string> = []
    const logger = Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") warnings.push(String(message))
      })
    )
    return Effect.gen(function*() {
      yield* Orchestrator.run(fixedWorkflow(tasks("a", "b", "c", "d", "e", "f")), "task").pipe(
        Effect.provide(Layer.merge(
          Provider.simulated(),
          Telemetry.layerExporter({ serviceName: "test", spanExporter: exporter, maxQueueSize: 5 })
        ))
      )
      const exported = exporter.getFinishedSpans().length
      assert.strictEqual(exported, 5)
      const warning = warnings.find((text) => text.includes("spans dropped"))
      assert.isDefined(warning, warnings.join("\n"))
      assert.include(warning!, "more than 5 waited for export")
    }).pipe(Effect.provide(logger))
  })
})
