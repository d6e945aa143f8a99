import type * as Clock from "effect/Clock"
import type * as Schedule from "effect/Schedule"
import type * as Tracer from "effect/Tracer"
import type { AgentResult } from "../AgentResult.js"
import type * as CostTracker from "../CostTracker.js"
import type { OrchestratorConfig } from "../OrchestratorConfig.js"
import type { BudgetExceeded } from "../OrchestratorError.js"
import type { OrchestratorEvent, Of, Type } from "../OrchestratorEvent.js"
import type * as Provider from "../Provider.js"
import type { ProviderError } from "../ProviderError.js"
import type { Usage } from "../Usage.js"
import type { RemoteRun } from "./cluster/remote.js"
import type { Journal } from "./durable/journal.js"
import type { Deltas } from "./deltas.js"
import type { Pool } from "./pool.js"
import type { RunTelemetry } from "./telemetry/run.js"
import type { Watchdog } from "./watchdog.js"

/** Everything one run shares: set up once by `Orchestrator`, read by every workflow and agent of the run. */
export interface RunEnv {
  readonly taskId: string
  readonly config: OrchestratorConfig
  /** The user's provider; agents get a metered, retrying wrapper around it. */
  readonly provider: Provider.Service
  /** The run's own ledger (absent when cost tracking is off): what the result reports, and `maxTotalCost`. */
  readonly tracker: CostTracker.Service | undefined
  /** The same ledger's synchronous `record`, for the per-call hot path. */
  readonly record: ((charge: CostTracker.Charge) => CostTracker.Recorded) | undefined
  /** The `CostTracker` provided to the run, shared with other runs: it sees every charge, and its budget holds. */
  readonly session: CostTracker.Service | undefined
  readonly pool: Pool
  readonly watchdog: Watchdog
  /** Decides, for each transient failure of a provider call, whether and when it is tried again. */
  readonly retry: Schedule.Schedule<unknown, ProviderError>
  readonly clock: Clock.Clock
  readonly context: Readonly<Record<string, unknown>>
  /** Receives every event; absent when nobody listens, so that events cost nothing. */
  readonly sink: ((event: OrchestratorEvent) => void) | undefined
  /** Set when the run streams tokens: provider calls stream, and their text goes out as `agent_delta`. */
  readonly deltas?: Deltas | undefined
  /** Every agent result of the run in the order they finished, nested workflows included. */
  readonly finished: Array<AgentResult>
  /** Tokens of the whole run, counted even when cost tracking is off. */
  readonly usage: {
    inputTokens: number
    outputTokens: number
    cachedInputTokens: number
    cacheWriteInputTokens: number
  }
  sequence: number
  progress: number
  /** Set once a budget is spent: no further provider call starts. */
  budgetSpent: boolean
  /** Which budget was spent, and how much, when it stopped the run. */
  budgetStop: BudgetExceeded | undefined
  workflows: number
  /** The journal of a durable run; undefined otherwise, which is all the engine checks. */
  readonly journal?: Journal | undefined
  /** Spans and metrics; absent without a telemetry layer, so that they cost nothing. */
  readonly telemetry: RunTelemetry | undefined
  /** Set when the run's agents execute on cluster runners (`Cluster.layer`). */
  readonly remote?: RemoteRun | undefined
}

/** One workflow being interpreted: where its events go, its share of the run's progress, what it cost. */
export interface Node {
  readonly env: RunEnv
  readonly parent: Node | undefined
  readonly name: string
  readonly workflowId: string
  readonly parentId: string | undefined
  /** Prefixed to subtask ids to make agent ids unique across nested workflows. */
  readonly agentPrefix: string
  /** This workflow's share of the run's progress, in percentage points. */
  readonly weight: number
  /** The fraction of this workflow done so far, 0–1. */
  done: number
  /** When it started, in Clock milliseconds. */
  readonly started: number
  /** What its calls (nested workflows' included) cost and used so far. */
  cost: number
  inputTokens: number
  outputTokens: number
  /** This workflow's span, when telemetry is on: the parent of its agents' and nested workflows' spans. */
  span: Tracer.Span | undefined
}

export const makeNode = (
  env: RunEnv,
  parent: Node | undefined,
  name: string,
  workflowId: string,
  agentPrefix: string,
  weight: number
): Node => ({
  env,
  parent,
  name,
  workflowId,
  parentId: parent?.workflowId,
  agentPrefix,
  weight,
  done: 0,
  started: env.clock.unsafeCurrentTimeMillis(),
  cost: 0,
  inputTokens: 0,
  outputTokens: 0,
  span: undefined
})

/** Charges a call to a workflow and every workflow around it. */
export const chargeNode = (node: Node, cost: number, usage: Usage): void => {
  for (let at: Node | undefined = node; at !== undefined; at = at.parent) {
    at.cost += cost
    at.inputTokens += usage.inputTokens
    at.outputTokens += usage.outputTokens
  }
}

type DataOf<T extends Type> = Of<T>["data"]

/** Sends an event; `at` is its timestamp when the caller has already read the Clock for it. */
export const emit = <T extends Type>(node: Node, type: T, data: DataOf<T>, agentId?: string, at?: number): void => {
  const env = node.env
  if (env.sink === undefined) return
  env.sink({
    type,
    sequence: ++env.sequence,
    taskId: env.taskId,
    workflowId: node.workflowId,
    parentId: node.parentId,
    timestamp: at ?? env.clock.unsafeCurrentTimeMillis(),
    progress: Math.round(env.progress * 100) / 100,
    agentId,
    data
  } as Of<T>)
}

/** Moves this workflow's share of progress forward to `fraction`; progress never goes back. */
export const advance = (node: Node, fraction: number): void => {
  const next = Math.min(1, fraction)
  if (next <= node.done) return
  node.env.progress = Math.min(100, node.env.progress + node.weight * (next - node.done))
  node.done = next
}

/** Adds progress points that no node's fraction accounts for (work that turned out not to be needed). */
export const addProgress = (node: Node, points: number): void => {
  node.env.progress = Math.min(100, node.env.progress + points)
}

export const addUsage = (env: RunEnv, usage: Usage): void => {
  env.usage.inputTokens += usage.inputTokens
  env.usage.outputTokens += usage.outputTokens
  env.usage.cachedInputTokens += usage.cachedInputTokens ?? 0
  env.usage.cacheWriteInputTokens += usage.cacheWriteInputTokens ?? 0
}

/**
 * A nested workflow's node: a slice of the parent's share of progress. Its id extends the parent's, and its
 * agents' ids are prefixed with its label so that they stay unique across the run.
 */
export const child = (parent: Node, name: string, label: string, weight: number): Node => {
  const env = parent.env
  const number = ++env.workflows
  const slug = label.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "workflow"
  return makeNode(env, parent, name, `${parent.workflowId}/${slug}#${number}`, `${parent.agentPrefix}${slug}/`, weight)
}
