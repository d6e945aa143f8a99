/**
 * W3 with each hook on: the cascade traced (spans exported to memory) and durable (recorded on the embedded
 * SQLite store), each beside the same cascade with nothing on, alternating in one process.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base"
import { RunStore, Telemetry } from "multi-agent-orchestration"
import { type Hooked, w3With } from "./latency.js"

/** W3 traced: every agent and provider call a span, exported to memory. */
export const w3Traced = (): Promise<Hooked> =>
  w3With(Telemetry.layerExporter({ serviceName: "bench", spanExporter: new InMemorySpanExporter() }))

/** W3 durable: each run recorded in an SQLite file under its own run id. */
export const w3Durable = async (): Promise<Hooked> => {
  const dir = mkdtempSync(join(tmpdir(), "bench-w3-"))
  let runs = 0
  try {
    return await w3With(RunStore.layerSqlite({ filename: join(dir, "runs.db") }), () => ({
      durable: { runId: `w3-${process.pid}-${++runs}` }
    }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** One line of the bench's report. */
export const hookedLine = (label: string, m: Hooked): string =>
  `W3 ${label}, median of 21 | ${m.hooked.toFixed(1)} ms, ratio ${(m.hooked / m.ideal).toFixed(3)} | ` +
  `the same cascade with nothing on ${m.plain.toFixed(1)} ms, ratio ${(m.plain / m.ideal).toFixed(3)} | ` +
  `${(m.hooked - m.plain).toFixed(1)} ms more`
