/**
 * `npm run bench`: the library's overhead beside a plain Promise baseline, in one process, as ratios.
 */
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { runClusterBench } from "./cluster.js"
import { type Makespan, w2, w3, w4 } from "./latency.js"
import { runDurableBench } from "./durable.js"
import { hookedLine, w3Durable, w3Traced } from "./hooks.js"
import { tracingOverhead } from "./telemetry.js"
import { startup } from "./startup.js"
import { agents, deltasPerAgent, runStreaming, writingMillis } from "./streaming.js"
import { makeSubTasks, runBareEffect, runBaseline, runLibrary } from "./throughput.js"

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

const time = async (run: () => Promise<unknown>): Promise<number> => {
  gc()
  const started = performance.now()
  await run()
  return performance.now() - started
}

/**
 * W1 at `n` subtasks: `warmUps` runs of each first (the library's code needs a few runs of this size before the
 * JIT has compiled it all), then the median of `runs` alternating runs of each: the library, p-limit and bare
 * Effect.
 */
const throughput = async (n: number, warmUps: number, runs: number) => {
  const subtasks = makeSubTasks(n)
  const engines = [runLibrary, runBaseline, runBareEffect]
  for (let i = 0; i < warmUps; i++) for (const engine of engines) await engine(subtasks)
  const times = engines.map((): Array<number> => [])
  for (let i = 0; i < runs; i++) {
    for (const [e, engine] of engines.entries()) times[e]!.push(await time(() => engine(subtasks)))
  }
  const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const [library, baseline, bareEffect] = times.map((xs) => (median(xs) * 1000) / n) as [number, number, number]
  const ratio = library / baseline
  console.log(
    `W1 ${String(n).padStart(7)} subtasks, median of ${runs} | library ${library.toFixed(2)} µs/agent | ` +
      `p-limit ${baseline.toFixed(2)} µs/agent | ratio ${ratio.toFixed(2)} | bare Effect.forEach ${bareEffect.toFixed(2)} µs/agent`
  )
  return ratio
}

/** Peak RSS of one 100,000-subtask run of the library or of the baseline, in a fresh process. */
const peakRssOfOneRun = (n: number, engine: "library" | "baseline"): number => {
  const script = fileURLToPath(new URL("./rss.js", import.meta.url))
  return Number(execFileSync(process.execPath, [script, String(n), engine], { encoding: "utf8" }).trim())
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
  const peaks: Array<readonly [number, number]> = []
  for (const pieces of [1, deltasPerAgent, 4 * deltasPerAgent]) {
    peaks.push([pieces, (await runStreaming(true, pieces)).heapPeakMb])
  }
  console.log(
    `S1 peak live heap by deltas per agent (the same 1,600 characters): ${
      peaks.map(([pieces, mb]) => `${pieces} → ${mb.toFixed(0)} MB`).join(", ")
    }`
  )
  return { ...streamed, growth: peaks[2]![1] / peaks[0]![1] }
}

// `npm run bench -- w1 w3 …` runs only the sections named; with none, all of them.
const only = new Set(process.argv.slice(2))
const wanted = (section: string) => only.size === 0 || only.has(section)
const ratios = (m: Makespan) =>
  `library ${m.library.toFixed(1)} ms, ratio ${(m.library / m.ideal).toFixed(3)} | ` +
  `Promise baseline ${m.baseline.toFixed(1)} ms, ratio ${(m.baseline / m.ideal).toFixed(3)} | ` +
  `bare Effect ${m.bareEffect.toFixed(1)} ms, ratio ${(m.bareEffect / m.ideal).toFixed(3)} | ideal ${m.ideal} ms`
const targets: Array<string> = []

// First, while nothing else runs in this process: the CLI's start-up, from dist/.
if (wanted("startup")) {
  const cli = startup()
  console.log(
    `CLI orchestrate --help ${cli.help.toFixed(0)} ms (median of 10, dist/) | node -e 0 ${cli.node.toFixed(0)} ms | ` +
      `target < 600 ms`
  )
}

// W3 while the heap is small: one warm-up, then the median of 21 cascades of each kind.
if (wanted("w3")) {
  const m = await w3()
  console.log(`W3 cascade 50 → 10 → 1, 20 ms a call, median of 21 | ${ratios(m)}`)
  targets.push(`W3 ≤ 1.05 (got ${(m.library / m.ideal).toFixed(3)})`)
}
if (wanted("w2")) {
  const m = await w2()
  console.log(`W2 2,000 agents × 25 ms at concurrency 100, median of 5 | ${ratios(m)}`)
  targets.push(`W2 ≤ 1.05 (got ${(m.library / m.ideal).toFixed(3)})`)
}
if (wanted("w4")) {
  const m = await w4()
  console.log(
    `W4 20,000 agents × 1 s all in flight, median of 3 | ${ratios(m)} | live heap per in-flight agent: ` +
      `library ${m.libraryKb.toFixed(2)} KB, Promise baseline ${m.baselineKb.toFixed(2)} KB`
  )
  console.log(
    `W4 the least a fiber per agent costs: 20,000 fibers started at once (Runtime.runFork), each waiting on a ` +
      `setTimeout of its own, then writing the same reply, nothing else | ` +
      `${m.fibersOnly.toFixed(1)} ms, ratio ${(m.fibersOnly / m.ideal).toFixed(3)}`
  )
  targets.push(`W4 ≤ 1.20 (got ${(m.library / m.ideal).toFixed(3)}) at ≤ 4 KB per agent (got ${m.libraryKb.toFixed(2)})`)
}

if (wanted("w1")) {
  const at10k = await throughput(10_000, 3, 5)
  const at100k = await throughput(100_000, 1, 3)
  const rss = peakRssOfOneRun(100_000, "library")
  const baselineRss = peakRssOfOneRun(100_000, "baseline")
  console.log(
    `W1 100,000 subtasks in one run of a fresh process | peak RSS: library ${rss.toFixed(0)} MB, ` +
      `p-limit ${baselineRss.toFixed(0)} MB (each process imports both)`
  )
  targets.push(
    `W1 ≤ 1.5 × p-limit at 10,000 (got ${at10k.toFixed(2)}), ≤ 1.3 × at 100,000 (got ${at100k.toFixed(2)}), ` +
      `peak RSS < 200 MB (got ${rss.toFixed(0)})`
  )
}

if (wanted("streaming")) {
  const streamed = await streaming()
  targets.push(
    `S1 at most 1 agent_delta per agent per 50 ms (got ${streamed.maxPerAgentPer50ms}), no text lost (got ${streamed.mismatched}), ` +
      `flat memory: peak at ${4 * deltasPerAgent} deltas ÷ at 1 ≤ 1.15 (got ${streamed.growth.toFixed(2)})`
  )
}

// Tracing: every agent and provider call becomes a span, exported to memory.
if (wanted("tracing")) {
  let tracingRatio = 0
  for (const n of [10_000, 100_000]) {
    const { plain, spans, traced } = await tracingOverhead(n, n > 10_000 ? 3 : 5)
    tracingRatio = traced / plain
    console.log(
      `W1 ${String(n).padStart(7)} subtasks with tracing (in-memory exporter) | ${traced.toFixed(2)} µs/agent | ` +
        `without ${plain.toFixed(2)} µs/agent | ratio ${tracingRatio.toFixed(2)} | ${spans} spans exported`
    )
  }
  targets.push(`W1 with tracing ≤ 2.00 × W1 without (got ${tracingRatio.toFixed(2)})`)
  console.log(hookedLine("traced (in-memory exporter)", await w3Traced()))
}

if (targets.length > 0) console.log(`targets: ${targets.join("; ")}`)

// Durable runs: what recording a run costs per agent, on the embedded store and on Postgres on loopback.
if (wanted("durable")) {
  console.log(hookedLine("durable (SQLite)", await w3Durable()))
  const durable = await runDurableBench()
  const fmt = (key: string) => (durable[key] === undefined ? "n/a" : durable[key]!.toFixed(3))
  console.log(
    `targets: durable overhead ≤ 0.5 ms/agent on SQLite (got ${fmt("sqlite 1000")} at 1,000, ${fmt("sqlite 10000")} at 10,000); ` +
      `≤ 1 ms/agent on Postgres (got ${fmt("postgres 1000")}, ${fmt("postgres 10000")})`
  )
}

// Cluster runs: runner child processes on a throwaway Postgres.
if (wanted("cluster")) await runClusterBench()

// A closed cluster client can leave reconnect timers behind once runners it sent to have left, which would
// keep this process alive: the bench is over.
process.exit(0)
