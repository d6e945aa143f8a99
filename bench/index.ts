/**
 * `npm run bench`: the library's overhead beside a plain Promise baseline, in one process, as ratios.
 */
import { dispose, idealMillis, runCascade } from "./cascade.js"
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

console.log(
  `targets: W1 ratio at 100,000 ≤ 2.00 (got ${ratio.toFixed(2)}); peak RSS < 300 MB; ` +
    `W3 ratio ≤ 1.10 (got ${(median / idealMillis).toFixed(3)}); ` +
    `S1 at most 1 agent_delta per agent per 50 ms (got ${streamed.maxPerAgentPer50ms}), no text lost (got ${streamed.mismatched})`
)
