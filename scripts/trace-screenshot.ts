/**
 * Runs a small cascade on the simulated provider (with a flaky call, so that a retry shows) under
 * `Telemetry.layerExporter` with an in-memory exporter, exports its trace to docs/trace-sample.json (the
 * finished spans the exporter gets), draws the span tree as a waterfall in docs/trace-sample.html, and
 * screenshots it to docs/trace-sample.png with Debian's /usr/bin/chromium (never a downloaded browser).
 *
 *   npx tsx scripts/trace-screenshot.ts [output.png]
 */
import { writeFileSync } from "node:fs"
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { DreamCascade, Orchestrator, Provider, Telemetry } from "multi-agent-orchestration"
import { chromium } from "playwright-core"

const output = process.argv[2] ?? "docs/trace-sample.png"
const base = output.replace(/\.png$/, "")

interface Row {
  readonly name: string
  readonly depth: number
  readonly start: number
  readonly end: number
  readonly error: boolean
  readonly detail: string
}

const millis = (time: readonly [number, number]) => time[0] * 1000 + time[1] / 1e6

/** The spans in tree order (depth first, siblings by start time). */
const rows = (spans: ReadonlyArray<ReadableSpan>): Array<Row> => {
  const ids = new Set(spans.map((span) => span.spanContext().spanId))
  const children = new Map<string | undefined, Array<ReadableSpan>>()
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId
    const key = parent !== undefined && ids.has(parent) ? parent : undefined
    children.set(key, [...(children.get(key) ?? []), span])
  }
  const out: Array<Row> = []
  const walk = (parent: string | undefined, depth: number) => {
    const list = [...(children.get(parent) ?? [])].sort((a, b) => millis(a.startTime) - millis(b.startTime))
    for (const span of list) {
      const a = span.attributes
      const detail = [
        a["gen_ai.usage.input_tokens"] !== undefined ? `${a["gen_ai.usage.input_tokens"]}→${a["gen_ai.usage.output_tokens"]} tok` : "",
        typeof a["orchestration.cost"] === "number" ? `$${(a["orchestration.cost"] as number).toFixed(5)}` : "",
        a["error.type"] !== undefined ? `${a["error.type"]}` : ""
      ].filter((part) => part !== "").join(" · ")
      out.push({
        name: span.name,
        depth,
        start: millis(span.startTime),
        end: millis(span.endTime),
        error: span.status.code === 2,
        detail
      })
      walk(span.spanContext().spanId, depth + 1)
    }
  }
  walk(undefined, 0)
  return out
}

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)

const html = (list: ReadonlyArray<Row>): string => {
  const t0 = Math.min(...list.map((row) => row.start))
  const t1 = Math.max(...list.map((row) => row.end))
  const scale = (t: number) => ((t - t0) / (t1 - t0)) * 100
  const body = list.map((row) =>
    `<div class="row"><div class="name" style="padding-left:${row.depth * 16 + 8}px">${escape(row.name)}` +
    `<span class="detail">${escape(row.detail)}</span></div><div class="lane"><div class="bar${row.error ? " error" : ""}" ` +
    `style="left:${scale(row.start).toFixed(2)}%;width:${Math.max(0.4, scale(row.end) - scale(row.start)).toFixed(2)}%">` +
    `</div><span class="ms" style="${scale(row.end) > 90 ? `right:${(100 - scale(row.start) + 0.5).toFixed(2)}%` : `left:${(scale(row.end) + 0.5).toFixed(2)}%`}">${(row.end - row.start).toFixed(0)} ms</span></div></div>`
  ).join("\n")
  return `<!doctype html><meta charset="utf-8"><title>Trace of a DreamCascade run</title><style>
body{font:13px system-ui,sans-serif;margin:16px;color:#1f2328;background:#fff}
h1{font-size:16px;margin:0 0 10px}
.row{display:flex;align-items:center;height:22px;border-bottom:1px solid #eef0f2}
.name{width:460px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-family:ui-monospace,monospace;font-size:12px}
.detail{color:#6e7781;margin-left:8px}
.lane{position:relative;flex:1;height:100%}
.bar{position:absolute;top:5px;height:12px;background:#4c8bf5;border-radius:2px}
.bar.error{background:#d1242f}
.ms{position:absolute;top:4px;font-size:11px;color:#6e7781;white-space:nowrap}
</style><h1>Trace of a DreamCascade run (3 belters, 1 drummer, 1 camina; simulated provider, one call refused then retried)</h1>
${body}`
}

const exporter = new InMemorySpanExporter()

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(DreamCascade.make({ belterCount: 3, drummerCount: 1, caminaCount: 1 }), "Research tidal energy", {
    config: { primaryModel: "gpt-4o-mini", retryBaseDelaySeconds: 0.2, retryMaxDelaySeconds: 0.2 }
  })
  const spans = exporter.getFinishedSpans()
  const list = rows(spans)
  writeFileSync(`${base}.json`, JSON.stringify(spans.map((span) => ({
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    kind: span.kind,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status,
    attributes: span.attributes
  })), null, 2))
  writeFileSync(`${base}.html`, html(list))
  const browser = yield* Effect.promise(() =>
    chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] })
  )
  yield* Effect.promise(async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 60 + list.length * 23 } })
    await page.setContent(html(list))
    await page.screenshot({ path: output, fullPage: true })
    await browser.close()
  })
  yield* Console.log(`${output}: ${spans.length} spans of a ${result.status} run (${base}.json, ${base}.html)`)
})

program.pipe(
  Effect.provide(Layer.merge(
    Provider.simulated({ latency: (request) => `${200 + (request.prompt?.length ?? 0) % 300} millis`, failures: { calls: [3] } }),
    Telemetry.layerExporter({ serviceName: "trace-sample", spanExporter: exporter, batch: false })
  )),
  NodeRuntime.runMain
)
