import { assert, describe, it } from "@effect/vitest"
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { Effect, Fiber, Layer, Redacted, Schedule, TestClock } from "effect"
import { Orchestrator, Provider, ProviderError, Telemetry, Workflow } from "multi-agent-orchestration"
import { fakeServer, openAiResponse } from "./fakeServers.js"
import { assertNoFragment } from "./leaks.js"
import { fixedWorkflow, scripted, tasks } from "./helpers.js"

const unavailable = new ProviderError.Unavailable({ provider: "scripted", status: 503 })

/** The spans as an indented tree of names, children in start order (then name). */
const tree = (spans: ReadonlyArray<ReadableSpan>): string => {
  const ids = new Set(spans.map((span) => span.spanContext().spanId))
  const children = new Map<string | undefined, Array<ReadableSpan>>()
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId
    const key = parent !== undefined && ids.has(parent) ? parent : undefined
    children.set(key, [...(children.get(key) ?? []), span])
  }
  const lines: Array<string> = []
  const walk = (parent: string | undefined, depth: number) => {
    const list = [...(children.get(parent) ?? [])].sort((a, b) => a.name.localeCompare(b.name))
    for (const span of list) {
      lines.push(`${"  ".repeat(depth)}${span.name}`)
      walk(span.spanContext().spanId, depth + 1)
    }
  }
  walk(undefined, 0)
  return lines.join("\n")
}

const byName = (spans: ReadonlyArray<ReadableSpan>, name: string) => spans.filter((span) => span.name === name)

const secret = "sk-proj-T3lemetryS3cretKeyValue0123456789abcdef"

describe("Telemetry: traces", () => {
  it.effect("a run draws one tree: run → workflows → agents → one span per provider-call attempt", () => {
    const exporter = new InMemorySpanExporter()
    const attemptsOf = new Map<string, number>()
    const { layer } = scripted({
      latency: "10 millis",
      reply: (request) => {
        const prompt = request.prompt ?? ""
        const seen = (attemptsOf.get(prompt) ?? 0) + 1
        attemptsOf.set(prompt, seen)
        if (request.system?.includes("judge") === true) return Effect.succeed("{\"score\": 0.95, \"critique\": \"good\"}")
        // "do b" fails once, then works: a retry. "do c" never works on the primary model: a fallback.
        if (prompt === "do b" && seen === 1) return Effect.fail(unavailable)
        if (prompt === "do c" && request.model === "gpt-4o-mini") return Effect.fail(unavailable)
        return Effect.succeed(`answer ${prompt}`)
      }
    })
    // Two workflows side by side on one worker: the worker runs agents of both, in turn.
    const workflow = Workflow.parallel([
      fixedWorkflow(tasks("a", "b"), { name: "left", synthesize: true }),
      fixedWorkflow(tasks("c", "d"), { name: "right" })
    ])
    return Effect.gen(function*() {
      const fiber = yield* Orchestrator.run(workflow, "task", {
        config: { primaryModel: "gpt-4o-mini", fallbackModel: "gpt-4o", maxRetries: 1, maxConcurrentAgents: 1 },
        taskId: "t-1"
      }).pipe(Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      const spans = exporter.getFinishedSpans()
      const text = tree(spans)
      assert.strictEqual(
        text,
        [
          "Orchestrator.run",
          "  workflow parallel",
          "    merge parallel",
          "    workflow left",
          "      decomposition left",
          "      invoke_agent left/a",
          "        chat gpt-4o-mini",
          "      invoke_agent left/b",
          "        chat gpt-4o-mini",
          "        chat gpt-4o-mini",
          "      synthesis left",
          "        chat gpt-4o-mini",
          "    workflow right",
          "      decomposition right",
          "      invoke_agent right/c",
          "        chat gpt-4o",
          "        chat gpt-4o-mini",
          "        chat gpt-4o-mini",
          "      invoke_agent right/d",
          "        chat gpt-4o-mini",
          "      synthesis right"
        ].join("\n")
      )
      assert.strictEqual(new Set(spans.map((span) => span.spanContext().traceId)).size, 1)

      // The agent that fell back: three attempts, the first two failed, the last on the fallback model.
      const agent = byName(spans, "invoke_agent right/c")[0]!
      const attempts = spans
        .filter((span) => span.parentSpanContext?.spanId === agent.spanContext().spanId)
        .sort((a, b) => (a.attributes["orchestration.attempt"] as number) - (b.attributes["orchestration.attempt"] as number))
      assert.deepStrictEqual(
        attempts.map((span) => [
          span.attributes["orchestration.attempt"],
          span.attributes["gen_ai.request.model"],
          span.attributes["error.type"],
          span.status.code
        ]),
        [[1, "gpt-4o-mini", "Unavailable", 2], [2, "gpt-4o-mini", "Unavailable", 2], [3, "gpt-4o", undefined, 1]]
      )
      const last = attempts[2]!.attributes
      assert.strictEqual(last["gen_ai.operation.name"], "chat")
      assert.strictEqual(last["gen_ai.provider.name"], "scripted")
      assert.strictEqual(last["gen_ai.response.model"], "gpt-4o")
      assert.strictEqual(last["gen_ai.usage.input_tokens"], 100)
      assert.strictEqual(last["gen_ai.usage.output_tokens"], 50)
      assert.closeTo(last["orchestration.cost"] as number, (100 * 2.5 + 50 * 10) / 1e6, 1e-12)
      assert.strictEqual(last["orchestration.agent.id"], "right/c")
      assert.strictEqual(last["gen_ai.input.messages"], undefined, "prompts are not recorded by default")
      assert.strictEqual(attempts[2]!.kind, 2 /* CLIENT */)
      const agentResult = result.agentResults.find((r) => r.agentId === "right/c")!
      assert.strictEqual(agent.attributes["orchestration.agent.tier"], agentResult.tier)
      assert.strictEqual(agent.attributes["orchestration.attempts"], 3)
      assert.strictEqual(agent.attributes["orchestration.cost"], agentResult.cost)
      assert.strictEqual(agent.attributes["orchestration.agent.status"], "completed")
      assert.strictEqual(byName(spans, "Orchestrator.run")[0]!.attributes["orchestration.task.id"], "t-1")
    }).pipe(
      Effect.provide(Layer.merge(layer, Telemetry.layerExporter({ serviceName: "test", spanExporter: exporter, batch: false })))
    )
  })

  it.effect("the judge of iterate gets its own span, beside the iteration's workflow", () => {
    const exporter = new InMemorySpanExporter()
    const { layer } = scripted({
      reply: (request) => Effect.succeed(request.system?.includes("judge") === true ? "{\"score\": 0.95}" : "draft")
    })
    return Effect.gen(function*() {
      const result = yield* Orchestrator.run(Workflow.iterate(Workflow.agent({ name: "essay" }), { maxIterations: 2 }), "task")
      assert.strictEqual(result.status, "completed")
      const spans = exporter.getFinishedSpans()
      const judge = spans.find((span) => span.name.startsWith("judge "))!
      const parent = spans.find((span) => span.spanContext().spanId === judge.parentSpanContext?.spanId)!
      assert.strictEqual(parent.name, judge.name.replace(/^judge /, "workflow "))
      assert.deepStrictEqual(
        spans.filter((span) => span.parentSpanContext?.spanId === judge.spanContext().spanId).map((span) => span.name),
        ["chat test-model"]
      )
    }).pipe(
      Effect.provide(Layer.merge(layer, Telemetry.layerExporter({ serviceName: "test", spanExporter: exporter, batch: false })))
    )
  })

  it.scoped("prompts and completions are recorded only when asked; the API key never is", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer((_, n) =>
        n === 1
          ? { status: 503, json: { error: { message: `overloaded for key ${secret}`, type: "server_error" } } }
          : { json: openAiResponse("the answer", "gpt-4o-mini", { input: 10, output: 5 }) }
      )
      const exporter = new InMemorySpanExporter()
      const provider = Provider.openAi({ apiKey: Redacted.make(secret), apiUrl: `${server.url}/v1`, timeout: "1 hour" })
      yield* Effect.gen(function*() {
        const result = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
          config: { primaryModel: "gpt-4o-mini" },
          retry: Schedule.recurs(2)
        })
        assert.strictEqual(result.status, "completed")
        const spans = exporter.getFinishedSpans()
        const calls = spans.filter((span) => span.name === "chat gpt-4o-mini")
        assert.strictEqual(calls.length, 2)
        const ok = calls.find((span) => span.attributes["error.type"] === undefined)!
        assert.include(ok.attributes["gen_ai.input.messages"] as string, "do a")
        assert.include(ok.attributes["gen_ai.output.messages"] as string, "the answer")
        const dump = JSON.stringify(spans.map((span) => ({
          name: span.name,
          attributes: span.attributes,
          events: span.events,
          status: span.status,
          resource: span.resource.attributes
        })))
        assert.include(dump, "gen_ai.usage.input_tokens")
        assertNoFragment(dump, secret, "the exported spans")
      }).pipe(
        Effect.provide(Layer.merge(
          provider,
          Telemetry.layerExporter({ serviceName: "test", spanExporter: exporter, batch: false, recordContent: true })
        ))
      )
    }), { timeout: 30_000 })
})
