/**
 * `npm run bench`: the library's overhead beside a plain Promise baseline, in one process, as ratios.
 */
import { dispose, idealMillis, runCascade } from "./cascade.js"
import { runClusterBench } from "./cluster.js"
import { runDurableBench } from "./durable.js"
import { tracingOverhead } from "./telemetry.js"
import { startup } from "./startup.js"
import { agents, deltasPerAgent, runStreaming, writingMillis } from "./streaming.js"
import { makeSubTasks, runBaseline, runLibrary } from "./throughput.js"

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const peakRssMb = () => process.resourceUsage().maxRSS / 1024

const time = async (run: () => Promise<unknown>): Promise<number> => {
  gc()
  const started = performance.now()
  await run()
  return performance.now() - started
}

const throughput = async (n: number) => {
  const subtasks = makeSubTasks(n)
  const library = await time(() => runLibrary(subtasks))
  const libraryPeak = peakRssMb()
  const baseline = await time(() => runBaseline(subtasks))
  const perAgent = (ms: number) => (ms * 1000) / n
  console.log(
    `W1 ${String(n).padStart(7)} subtasks | library ${perAgent(library).toFixed(2)} µs/agent | ` +
      `p-limit ${perAgent(baseline).toFixed(2)} µs/agent | ratio ${(library / baseline).toFixed(2)} | ` +
      `peak RSS after the library run ${libraryPeak.toFixed(0)} MB`
  )
  return library / baseline
}

console.log(`multi-agent-orchestration bench (node ${process.version}); ratios are library ÷ baseline`)

/** S1: streamed tokens, beside the same run without streaming. */
const streaming = async () => {
  await runStreaming(true) // warm-up
  const plain = await runStreaming(false)
  const streamed = await runStreaming(true)
  console.log(
    `S1 ${agents} agents × ${deltasPerAgent} deltas over ${writingMillis} ms | ${streamed.deltaEvents} agent_delta events ` +
      `(${(streamed.deltaEvents / agents).toFixed(1)} per agent) | at most ${streamed.maxPerAgentPer50ms} per agent per 50 ms, ` +
      `closest two ${streamed.minGapMillis} ms apart | text lost or doubled: ${streamed.mismatched} agents | ` +
      `${streamed.seconds.toFixed(2)} s (${plain.seconds.toFixed(2)} s without streaming)`
  )
  console.log(
    `S1 live heap: streaming ${streamed.heapBeforeMb.toFixed(0)} → peak ${streamed.heapPeakMb.toFixed(0)} → ` +
      `${streamed.heapAfterMb.toFixed(0)} MB after GC; without streaming ${plain.heapBeforeMb.toFixed(0)} → peak ` +
      `${plain.heapPeakMb.toFixed(0)} → ${plain.heapAfterMb.toFixed(0)} MB`
  )
  // Flat memory: the live heap does not grow with the number of deltas a reply is cut into.
  const peaks: Array<string> = []
  for (const pieces of [1, deltasPerAgent, 4 * deltasPerAgent]) {
    peaks.push(`${pieces} → ${(await runStreaming(true, pieces)).heapPeakMb.toFixed(0)} MB`)
  }
  console.log(`S1 peak live heap by deltas per agent (the same 1,600 characters): ${peaks.join(", ")}`)
  return streamed
}

if (process.argv[2] === "streaming") {
  await streaming()
  process.exit(0)
}

// First, while nothing else runs in this process: the CLI's start-up, from dist/.
const cli = startup()
console.log(
  `CLI orchestrate --help ${cli.help.toFixed(0)} ms (median of 10, dist/) | node -e 0 ${cli.node.toFixed(0)} ms | ` +
    `target < 600 ms`
)

// W3 first, while the heap is small: the median of 21 cascades, after five to warm up.
for (let i = 0; i < 5; i++) await runCascade()
const makespans: Array<number> = []
for (let i = 0; i < 21; i++) makespans.push(await runCascade())
const median = makespans.sort((a, b) => a - b)[10]!
await dispose()
console.log(
  `W3 cascade 50 → 10 → 1, 20 ms a call | makespan ${median.toFixed(1)} ms (median of 21) | ideal ${idealMillis} ms | ` +
    `ratio ${(median / idealMillis).toFixed(3)}`
)

// Warm both paths up, so that neither pays for JIT compilation in the measured runs.
await runLibrary(makeSubTasks(2000))
await runBaseline(makeSubTasks(2000))
await throughput(10_000)
const ratio = await throughput(100_000)
const streamed = await streaming()

// Tracing: every agent and provider call becomes a span, exported to memory.
let tracingRatio = 0
for (const n of [10_000, 100_000]) {
  const { plain, spans, traced } = await tracingOverhead(n, n > 10_000 ? 3 : 5)
  tracingRatio = traced / plain
  console.log(
    `W1 ${String(n).padStart(7)} subtasks with tracing (in-memory exporter) | ${traced.toFixed(2)} µs/agent | ` +
      `without ${plain.toFixed(2)} µs/agent | ratio ${tracingRatio.toFixed(2)} | ${spans} spans exported`
  )
}

console.log(
  `targets: W1 with tracing ≤ 2.00 × W1 without (got ${tracingRatio.toFixed(2)}); W1 ratio at 100,000 ≤ 2.00 (got ${ratio.toFixed(2)}); peak RSS < 300 MB; ` +
    `W3 ratio ≤ 1.10 (got ${(median / idealMillis).toFixed(3)}); ` +
    `S1 at most 1 agent_delta per agent per 50 ms (got ${streamed.maxPerAgentPer50ms}), no text lost (got ${streamed.mismatched})`
)

// Durable runs: what recording a run costs per agent, on the embedded store and on Postgres on loopback.
const durable = await runDurableBench()
const fmt = (key: string) => (durable[key] === undefined ? "n/a" : durable[key]!.toFixed(3))
console.log(
  `targets: durable overhead ≤ 0.5 ms/agent on SQLite (got ${fmt("sqlite 1000")} at 1,000, ${fmt("sqlite 10000")} at 10,000); ` +
    `≤ 1 ms/agent on Postgres (got ${fmt("postgres 1000")}, ${fmt("postgres 10000")})`
)

// Cluster runs: runner child processes on a throwaway Postgres.
await runClusterBench()
