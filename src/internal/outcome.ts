import * as Effect from "effect/Effect"
import type { AgentResult } from "../AgentResult.js"
import { BudgetExceeded, type RunFailure } from "../OrchestratorError.js"
import type { SynthesisResult } from "../SynthesisResult.js"
import type { TaskStatus } from "../TaskStatus.js"
import type * as Workflow from "../Workflow.js"
import type { Node } from "./env.js"

/** What a workflow (at any nesting level) produced. */
export interface Outcome {
  readonly status: TaskStatus
  readonly agentResults: ReadonlyArray<AgentResult>
  readonly synthesisResults: ReadonlyArray<SynthesisResult>
  readonly finalSynthesis: string | undefined
  readonly failure: RunFailure | undefined
  readonly metadata: Readonly<Record<string, unknown>>
}

/** What a workflow is asked to do. */
export interface Input {
  readonly task: string
  readonly context: Readonly<Record<string, unknown>>
  /** Outputs of earlier pipeline steps. */
  readonly previous: ReadonlyArray<Workflow.StepOutput>
}

export const failedOutcome = (
  failure: RunFailure,
  agentResults: ReadonlyArray<AgentResult>,
  metadata: Readonly<Record<string, unknown>>,
  synthesisResults: ReadonlyArray<SynthesisResult> = []
): Outcome => ({ status: "failed", agentResults, synthesisResults, finalSynthesis: undefined, failure, metadata })

/** A nested workflow's outcome, with what it cost and how long it took. */
export interface ChildOutcome extends Outcome {
  readonly workflowId: string
  readonly executionTime: number
  readonly cost: number
  readonly inputTokens: number
  readonly outputTokens: number
}

/** The run's failure once a budget stopped it: which budget, and what was spent by the end. */
export const budgetFailure = (node: Node): Effect.Effect<BudgetExceeded> => {
  const env = node.env
  const stop = env.budgetStop
  if (stop === undefined) return Effect.succeed(new BudgetExceeded({ spent: 0, limit: env.config.maxTotalCost ?? 0 }))
  const ledger = stop.scope === "session" ? env.session : env.tracker
  return ledger === undefined
    ? Effect.succeed(stop)
    : Effect.map(ledger.total, (spent) => new BudgetExceeded({ spent, limit: stop.limit, scope: stop.scope }))
}
