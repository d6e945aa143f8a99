/**
 * W1 with tracing: the same run under `Telemetry.layerExporter` with an in-memory span exporter, beside the
 * run without any telemetry layer, in the same process.
 */
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base"
import { Telemetry } from "multi-agent-orchestration"
import { makeSubTasks, runLibrary } from "./throughput.js"

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

// The SDK shuts its exporter down when the layer closes, and `InMemorySpanExporter` then forgets its spans:
// this one keeps them until `reset`, so that they can be counted.
class KeepingExporter extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

const exporter = new KeepingExporter()
// 100,000 agents that never wait make 200,000 spans before the event loop runs the exporter's callbacks.
const traced = Telemetry.layerExporter({ serviceName: "bench", spanExporter: exporter, maxQueueSize: 262_144 })

const timeOnce = async (run: () => Promise<unknown>): Promise<number> => {
  gc()
  const started = performance.now()
  await run()
  return performance.now() - started
}

/** After a warm-up run of each, the median of `runs` alternating runs of each: µs per agent without and with tracing, and spans exported. */
export const tracingOverhead = async (n: number, runs = 5) => {
  const subtasks = makeSubTasks(n)
  const plain: Array<number> = []
  const withTracing: Array<number> = []
  let spans = 0
  // Warm-up at the measured size, as for W1: the first runs of each are mostly the JIT's.
  await runLibrary(subtasks)
  await runLibrary(subtasks, traced)
  exporter.reset()
  for (let i = 0; i < runs; i++) {
    plain.push(await timeOnce(() => runLibrary(subtasks)))
    exporter.reset()
    withTracing.push(await timeOnce(() => runLibrary(subtasks, traced)))
    spans = exporter.getFinishedSpans().length
    exporter.reset()
  }
  const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const perAgent = (ms: number) => (ms * 1000) / n
  return { plain: perAgent(median(plain)), traced: perAgent(median(withTracing)), spans }
}
