import { spawn } from "node:child_process"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"

const root = fileURLToPath(new URL("..", import.meta.url))
const bin = join(root, "src/bin/orchestrate.ts")

// The OTLP/HTTP JSON encoding (opentelemetry-proto's JSON mapping), as much of it as the test reads.
const AnyValue = Schema.Struct({
  stringValue: Schema.optional(Schema.String),
  intValue: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  doubleValue: Schema.optional(Schema.Number),
  boolValue: Schema.optional(Schema.Boolean)
})
const KeyValue = Schema.Struct({ key: Schema.String, value: AnyValue })
const Resource = Schema.Struct({ attributes: Schema.Array(KeyValue) })
const Span = Schema.Struct({
  traceId: Schema.String,
  spanId: Schema.String,
  parentSpanId: Schema.optional(Schema.String),
  name: Schema.String,
  kind: Schema.Number,
  startTimeUnixNano: Schema.String,
  endTimeUnixNano: Schema.String,
  attributes: Schema.Array(KeyValue),
  status: Schema.Struct({ code: Schema.Number })
})
const TracesRequest = Schema.Struct({
  resourceSpans: Schema.Array(Schema.Struct({
    resource: Resource,
    scopeSpans: Schema.Array(Schema.Struct({ spans: Schema.Array(Span) }))
  }))
})
const NumberDataPoint = Schema.Struct({
  attributes: Schema.Array(KeyValue),
  asDouble: Schema.optional(Schema.Number),
  asInt: Schema.optional(Schema.Union(Schema.String, Schema.Number))
})
const MetricsRequest = Schema.Struct({
  resourceMetrics: Schema.Array(Schema.Struct({
    resource: Resource,
    scopeMetrics: Schema.Array(Schema.Struct({
      metrics: Schema.Array(Schema.Struct({
        name: Schema.String,
        sum: Schema.optional(Schema.Struct({ dataPoints: Schema.Array(NumberDataPoint) })),
        gauge: Schema.optional(Schema.Struct({ dataPoints: Schema.Array(NumberDataPoint) })),
        histogram: Schema.optional(Schema.Struct({ dataPoints: Schema.Array(Schema.Struct({ count: Schema.Union(Schema.String, Schema.Number) })) }))
      }))
    }))
  }))
})

const valueOf = (attributes: ReadonlyArray<typeof KeyValue.Type>, key: string) => {
  const value = attributes.find((attribute) => attribute.key === key)?.value
  if (value === undefined) return undefined
  return value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ??
    value.boolValue
}

interface Received {
  readonly path: string
  readonly contentType: string
  readonly body: string
}

/** A collector on 127.0.0.1 that records every OTLP/HTTP export and answers 200. */
const collector = () =>
  new Promise<{ url: string; received: Array<Received>; close: () => void }>((resolve) => {
    const received: Array<Received> = []
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        received.push({
          path: req.url ?? "",
          contentType: req.headers["content-type"] ?? "",
          body: Buffer.concat(chunks).toString("utf8")
        })
        res.writeHead(200, { "content-type": "application/json" })
        res.end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({ url: `http://127.0.0.1:${port}`, received, close: () => server.close() })
    })
  })

const orchestrate = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" }
    for (const name of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL"]) delete env[name]
    const child = spawn(process.execPath, ["--import", "tsx", bin, ...args], { cwd: root, env })
    let stderr = ""
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.stdout.resume()
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stderr }))
  })

describe("orchestrate --otlp", () => {
  it("exports the run's spans and metrics over OTLP/HTTP to a collector", async () => {
    const server = await collector()
    try {
      const run = await orchestrate([
        "cascade",
        "Research tidal energy",
        "--belters",
        "3",
        "--drummers",
        "1",
        "--provider",
        "simulated",
        "--quiet",
        "--otlp",
        server.url
      ])
      assert.strictEqual(run.code, 0, run.stderr)

      const traces = server.received.filter((r) => r.path === "/v1/traces")
      assert.isAbove(traces.length, 0, "traces were exported")
      for (const r of traces) assert.strictEqual(r.contentType, "application/json")
      const decoded = traces.map((r) => Schema.decodeUnknownSync(TracesRequest)(JSON.parse(r.body)))
      const resource = decoded[0]!.resourceSpans[0]!.resource
      assert.strictEqual(valueOf(resource.attributes, "service.name"), "orchestrate")
      const spans = decoded.flatMap((d) => d.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)))
      const byId = new Map(spans.map((span) => [span.spanId, span]))
      const parentName = (span: typeof Span.Type) =>
        span.parentSpanId === undefined ? undefined : byId.get(span.parentSpanId)?.name

      assert.strictEqual(new Set(spans.map((span) => span.traceId)).size, 1)
      const runSpan = spans.find((span) => span.name === "Orchestrator.run")!
      assert.strictEqual(byId.get(runSpan.parentSpanId ?? "")?.name, undefined)
      const workflow = spans.find((span) => span.name.startsWith("workflow "))!
      assert.strictEqual(workflow.parentSpanId, runSpan.spanId)
      const agents = spans.filter((span) => span.name.startsWith("invoke_agent "))
      assert.strictEqual(agents.length, 3 + 1 + 1, "3 belters, 1 drummer, 1 camina")
      for (const agent of agents) assert.strictEqual(agent.parentSpanId, workflow.spanId)
      const calls = spans.filter((span) => valueOf(span.attributes, "gen_ai.operation.name") === "chat" && span.kind === 3)
      assert.isAtLeast(calls.length, agents.length)
      for (const call of calls) {
        assert.oneOf(parentName(call)?.split(" ")[0], ["invoke_agent", "decomposition", "synthesis"])
        assert.strictEqual(valueOf(call.attributes, "gen_ai.provider.name"), "simulated")
        assert.isAbove(valueOf(call.attributes, "gen_ai.usage.input_tokens") as number, 0)
        assert.isString(valueOf(call.attributes, "gen_ai.response.model"))
        assert.isTrue(BigInt(call.endTimeUnixNano) >= BigInt(call.startTimeUnixNano))
      }

      const metrics = server.received.filter((r) => r.path === "/v1/metrics")
      assert.isAbove(metrics.length, 0, "metrics were exported")
      const last = Schema.decodeUnknownSync(MetricsRequest)(JSON.parse(metrics.at(-1)!.body))
      const all = last.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
      const tokens = all.find((metric) => metric.name === "orchestration.tokens")!
      const input = tokens.sum!.dataPoints.filter((point) => valueOf(point.attributes, "gen_ai.token.type") === "input")
      const inputTokens = input.reduce((sum, point) => sum + Number(point.asInt ?? point.asDouble ?? 0), 0)
      const spanInputTokens = calls.reduce((sum, call) => sum + (valueOf(call.attributes, "gen_ai.usage.input_tokens") as number), 0)
      assert.strictEqual(inputTokens, spanInputTokens, "the token counter agrees with the spans")
      const durations = all.find((metric) => metric.name === "gen_ai.client.operation.duration")!
      const timed = durations.histogram!.dataPoints.reduce((sum, point) => sum + Number(point.count), 0)
      assert.strictEqual(timed, calls.length)
    } finally {
      server.close()
    }
  }, 120_000)
})
