/**
 * S1: streamed tokens at scale. 1,000 agents at once, each streaming a reply of 200 words (200 deltas) over
 * two seconds on the simulated provider, with `streamTokens` on: the `agent_delta` events a consumer gets,
 * their spacing per agent on the run's clock, and the live heap (after a full collection, four times a
 * second) while it runs, beside the same run without streaming.
 */
import { Effect } from "effect"
import { Orchestrator, Provider, SubTask, Workflow } from "multi-agent-orchestration"

export const agents = 1000
export const deltasPerAgent = 200
export const writingMillis = 2000

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const heapMb = () => process.memoryUsage().heapUsed / 1024 / 1024

/** A reply of 1,600 characters in `pieces` words. */
const replyIn = (pieces: number): string => {
  const size = Math.max(1, Math.floor(1600 / pieces) - 1)
  return Array.from({ length: pieces }, (_, i) => String(i).padStart(size, "x")).join(" ")
}

export interface StreamingFigures {
  readonly seconds: number
  readonly deltaEvents: number
  /** The most `agent_delta` events of one agent within any 50 ms. */
  readonly maxPerAgentPer50ms: number
  /** The least time between two `agent_delta` events of one agent, in milliseconds. */
  readonly minGapMillis: number
  /** Agents whose deltas joined differ from their reply (text lost or doubled). */
  readonly mismatched: number
  readonly heapBeforeMb: number
  /** The largest live heap sampled during the run. */
  readonly heapPeakMb: number
  readonly heapAfterMb: number
}

export const runStreaming = async (streamTokens: boolean, pieces = deltasPerAgent): Promise<StreamingFigures> => {
  const reply = replyIn(pieces)
  const subtasks = Array.from({ length: agents }, (_, i) =>
    new SubTask.SubTask({ id: `s${i}`, description: `Write about item ${i}` }, true))
  const workflow = Workflow.make({
    name: "streaming",
    decompose: () => Effect.succeed(subtasks),
    execute: (subtask) => Effect.map(Provider.complete({ prompt: subtask.description }), (c) => c.content),
    synthesize: (results) => Effect.succeed(`${results.length} results`)
  })
  // Per agent: the times of its last deltas (to count any 50 ms window) and the text so far.
  const recent = new Map<string, Array<number>>()
  const texts = new Map<string, string>()
  let deltaEvents = 0
  let maxPerAgentPer50ms = 0
  let minGapMillis = Infinity
  gc()
  const heapBeforeMb = heapMb()
  let heapPeakMb = heapBeforeMb
  // The live heap: what is left after a full collection, a few times a second while the run goes.
  const sampler = setInterval(() => {
    gc()
    heapPeakMb = Math.max(heapPeakMb, heapMb())
  }, 250)
  const started = performance.now()
  const result = await Effect.runPromise(
    Orchestrator.run(workflow, "streaming", {
      streamTokens,
      config: { maxConcurrentAgents: agents, timeoutSeconds: 600, enableCostTracking: false },
      onEvent: (event) => {
        if (event.type !== "agent_delta") return
        deltaEvents++
        const agent = event.agentId!
        const times = recent.get(agent) ?? []
        const last = times.at(-1)
        if (last !== undefined) minGapMillis = Math.min(minGapMillis, event.timestamp - last)
        times.push(event.timestamp)
        while (times.length > 0 && times[0]! <= event.timestamp - 50) times.shift()
        maxPerAgentPer50ms = Math.max(maxPerAgentPer50ms, times.length)
        recent.set(agent, times)
        texts.set(agent, (event.data.restart === true ? "" : texts.get(agent) ?? "") + event.data.text)
      }
    }).pipe(Effect.provide(Provider.simulated({ latency: `${writingMillis} millis`, respond: () => reply })))
  )
  const seconds = (performance.now() - started) / 1000
  clearInterval(sampler)
  if (result.status !== "completed" || result.agentResults.length !== agents) throw new Error(`run ${result.status}`)
  const mismatched = streamTokens ? result.agentResults.filter((r) => texts.get(r.agentId) !== r.content).length : 0
  recent.clear()
  texts.clear()
  gc()
  return {
    seconds,
    deltaEvents,
    maxPerAgentPer50ms,
    minGapMillis,
    mismatched,
    heapBeforeMb,
    heapPeakMb,
    heapAfterMb: heapMb()
  }
}
