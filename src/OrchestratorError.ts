/**
 * Why a run could not start, or why it ended without completing. Each is a tagged error with a readable
 * `message`; those that end a run are also recorded in `OrchestratorResult.failure`, so that nothing already
 * finished is lost.
 *
 * @since 0.1.0
 */
import { InvalidOutput, MaxStepsReached } from "./AgentError.js"
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { formatCost } from "./Format.js"
import { Authentication, InvalidRequest, MalformedResponse, RateLimited, Timeout, Unavailable } from "./ProviderError.js"

// Budgets are shown to four decimals; below that, with the significant digits that tell two amounts apart.
const formatMoney = (dollars: number): string =>
  dollars === 0 || Math.abs(dollars) >= 0.0001 ? `$${dollars.toFixed(4)}` : formatCost(dollars)

/**
 * The configuration or the run options are invalid. Raised before any provider call; `problems` lists every
 * problem found, not just the first.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidConfig extends Schema.TaggedError<InvalidConfig>("multi-agent-orchestration/InvalidConfig")(
  "InvalidConfig",
  { problems: Schema.Array(Schema.String) }
) {
  override get message(): string {
    return `Invalid configuration: ${this.problems.join("; ")}`
  }
}

/**
 * @since 0.1.0
 * @category Models
 */
export const UnknownDependency = Schema.Struct({ subtaskId: Schema.String, dependency: Schema.String })

/**
 * The subtasks returned by a decomposition do not form a valid DAG. Found before any agent runs.
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidSubTaskGraph
  extends Schema.TaggedError<InvalidSubTaskGraph>("multi-agent-orchestration/InvalidSubTaskGraph")(
    "InvalidSubTaskGraph",
    {
      duplicateIds: Schema.Array(Schema.String),
      unknownDependencies: Schema.Array(UnknownDependency),
      cycle: Schema.Array(Schema.String)
    }
  )
{
  override get message(): string {
    const parts: Array<string> = []
    if (this.duplicateIds.length > 0) parts.push(`duplicate subtask ids: ${this.duplicateIds.join(", ")}`)
    for (const { dependency, subtaskId } of this.unknownDependencies) {
      parts.push(`subtask "${subtaskId}" depends on unknown subtask "${dependency}"`)
    }
    if (this.cycle.length > 0) parts.push(`dependency cycle: ${[...this.cycle, this.cycle[0]].join(" -> ")}`)
    return `Invalid subtask graph: ${parts.join("; ")}`
  }
}

/**
 * The workflow's decomposition failed; no agent ran.
 *
 * @since 0.1.0
 * @category Errors
 */
export class DecompositionFailed
  extends Schema.TaggedError<DecompositionFailed>("multi-agent-orchestration/DecompositionFailed")(
    "DecompositionFailed",
    { workflow: Schema.String, reason: Schema.String }
  )
{
  override get message(): string {
    return `Decomposition of "${this.workflow}" failed: ${this.reason}`
  }
}

/**
 * The workflow's synthesis failed; the agent results are kept.
 *
 * @since 0.1.0
 * @category Errors
 */
export class SynthesisFailed extends Schema.TaggedError<SynthesisFailed>("multi-agent-orchestration/SynthesisFailed")(
  "SynthesisFailed",
  { workflow: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `Synthesis of "${this.workflow}" failed: ${this.reason}`
  }
}

/**
 * Every agent of the workflow failed, so there was nothing to synthesise.
 *
 * @since 0.1.0
 * @category Errors
 */
export class AllAgentsFailed extends Schema.TaggedError<AllAgentsFailed>("multi-agent-orchestration/AllAgentsFailed")(
  "AllAgentsFailed",
  { workflow: Schema.String, agents: Schema.Int, firstError: Schema.String }
) {
  override get message(): string {
    return `All ${this.agents} agents of "${this.workflow}" failed; the first error was: ${this.firstError}`
  }
}

/**
 * A step of a `Workflow.sequential` pipeline failed, which stopped the pipeline.
 *
 * @since 0.1.0
 * @category Errors
 */
export class StepFailed extends Schema.TaggedError<StepFailed>("multi-agent-orchestration/StepFailed")(
  "StepFailed",
  { workflow: Schema.String, step: Schema.String, index: Schema.Int, reason: Schema.String }
) {
  override get message(): string {
    return `Step ${this.index} ("${this.step}") of "${this.workflow}" failed: ${this.reason}`
  }
}

/**
 * Every workflow of a `Workflow.parallel` failed.
 *
 * @since 0.1.0
 * @category Errors
 */
export class AllBranchesFailed
  extends Schema.TaggedError<AllBranchesFailed>("multi-agent-orchestration/AllBranchesFailed")(
    "AllBranchesFailed",
    { workflow: Schema.String, branches: Schema.Int, firstError: Schema.String }
  )
{
  override get message(): string {
    return `All ${this.branches} workflows of "${this.workflow}" failed; the first error was: ${this.firstError}`
  }
}

/**
 * A `Workflow.conditional` could not choose a branch: its condition failed, or named no branch.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ConditionFailed extends Schema.TaggedError<ConditionFailed>("multi-agent-orchestration/ConditionFailed")(
  "ConditionFailed",
  { workflow: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `The condition of "${this.workflow}" failed: ${this.reason}`
  }
}

/**
 * A `Workflow.iterate` could not score its first iteration: the scorer failed, or the judge's reply was not a
 * score from 0 to 1.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ScoringFailed extends Schema.TaggedError<ScoringFailed>("multi-agent-orchestration/ScoringFailed")(
  "ScoringFailed",
  { workflow: Schema.String, iteration: Schema.Int, reason: Schema.String }
) {
  override get message(): string {
    return `Scoring iteration ${this.iteration} of "${this.workflow}" failed: ${this.reason}`
  }
}

/**
 * A budget was reached. No provider call starts after that; what finished is kept.
 *
 * `scope` says which budget: `"run"` for the run's own `maxTotalCost`, `"session"` for the `maxTotalCost` of
 * the `CostTracker` provided to the run, shared by every run under it (then `spent` is the session's total).
 *
 * @since 0.1.0
 * @category Errors
 */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>("multi-agent-orchestration/BudgetExceeded")(
  "BudgetExceeded",
  { spent: Schema.Number, limit: Schema.Number, scope: Schema.optional(Schema.Literal("run", "session")) }
) {
  override get message(): string {
    const whose = this.scope === "session" ? "Session budget" : "Budget"
    return `${whose} exceeded: spent ${formatMoney(this.spent)} of the ${formatMoney(this.limit)} limit`
  }
}

/**
 * A step (an agent, a decomposition, a synthesis) outlived its time bound (`timeoutSeconds`, or the
 * subtask's own), retries included. Its in-flight call was interrupted.
 *
 * @since 0.1.0
 * @category Errors
 */
export class StepTimedOut extends Schema.TaggedError<StepTimedOut>("multi-agent-orchestration/StepTimedOut")(
  "StepTimedOut",
  { seconds: Schema.Number }
) {
  override get message(): string {
    return `timed out after ${Duration.format(Duration.seconds(this.seconds))}`
  }
}

/**
 * An agent could not do its work because none of the dependencies it builds on finished (say, a Drummer
 * whose Belters all failed).
 *
 * @since 0.1.0
 * @category Errors
 */
export class DependenciesFailed
  extends Schema.TaggedError<DependenciesFailed>("multi-agent-orchestration/DependenciesFailed")(
    "DependenciesFailed",
    { reason: Schema.String }
  )
{
  override get message(): string {
    return this.reason
  }
}

/**
 * The run was cancelled before it finished.
 *
 * @since 0.1.0
 * @category Errors
 */
export class WorkflowCancelled
  extends Schema.TaggedError<WorkflowCancelled>("multi-agent-orchestration/WorkflowCancelled")(
    "WorkflowCancelled",
    { reason: Schema.String }
  )
{
  override get message(): string {
    return `Workflow cancelled: ${this.reason}`
  }
}

/**
 * A person rejected an approval step (`Orchestrator.approve` with `approved: false`).
 *
 * @since 0.2.0
 * @category Errors
 */
export class ApprovalRejected extends Schema.TaggedError<ApprovalRejected>("multi-agent-orchestration/ApprovalRejected")(
  "ApprovalRejected",
  { step: Schema.String, note: Schema.optional(Schema.String) }
) {
  override get message(): string {
    return `Approval "${this.step}" was rejected${this.note === undefined ? "" : `: ${this.note}`}`
  }
}

/**
 * No decision came for an approval step within its timeout.
 *
 * @since 0.2.0
 * @category Errors
 */
export class ApprovalTimedOut extends Schema.TaggedError<ApprovalTimedOut>("multi-agent-orchestration/ApprovalTimedOut")(
  "ApprovalTimedOut",
  { step: Schema.String, seconds: Schema.Number }
) {
  override get message(): string {
    return `Approval "${this.step}" got no decision within ${this.seconds} s`
  }
}

/**
 * An approval step could not wait: it needs a durable run (the `durable` option and a `RunStore`), or the store
 * failed.
 *
 * @since 0.2.0
 * @category Errors
 */
export class ApprovalUnavailable
  extends Schema.TaggedError<ApprovalUnavailable>("multi-agent-orchestration/ApprovalUnavailable")(
    "ApprovalUnavailable",
    { step: Schema.String, reason: Schema.String }
  )
{
  override get message(): string {
    return `Approval "${this.step}" cannot wait: ${this.reason}`
  }
}

/**
 * A durable run stopped to wait for a decision (with `onApproval: "suspend"`); the result's status is
 * `pending`. Approve or reject the step, then resume the run.
 *
 * @since 0.2.0
 * @category Errors
 */
export class AwaitingApproval extends Schema.TaggedError<AwaitingApproval>("multi-agent-orchestration/AwaitingApproval")(
  "AwaitingApproval",
  { runId: Schema.String, step: Schema.String, prompt: Schema.String }
) {
  override get message(): string {
    return `Run "${this.runId}" waits for approval "${this.step}": ${this.prompt}`
  }
}

/**
 * Why a run ended without completing, as recorded in `OrchestratorResult.failure`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const RunFailure = Schema.Union(
  InvalidSubTaskGraph,
  DecompositionFailed,
  SynthesisFailed,
  AllAgentsFailed,
  StepFailed,
  AllBranchesFailed,
  ConditionFailed,
  ScoringFailed,
  BudgetExceeded,
  WorkflowCancelled,
  ApprovalRejected,
  ApprovalTimedOut,
  ApprovalUnavailable,
  AwaitingApproval
)

/**
 * @since 0.1.0
 * @category Models
 */
export type RunFailure = typeof RunFailure.Type

/**
 * Why an agent failed or was cancelled, as recorded in `AgentResult.failure` when it is one of the library's
 * own errors: a reply that never matched the agent's output Schema, a tool loop out of steps, a provider error
 * (after its retries), a timeout, the budget, or dependencies that did not finish. Any other failure (an error of the workflow's own code, a defect) is named by `errorTag` only.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const AgentFailure = Schema.Union(
  InvalidOutput,
  MaxStepsReached,
  RateLimited,
  Timeout,
  Unavailable,
  InvalidRequest,
  Authentication,
  MalformedResponse,
  StepTimedOut,
  BudgetExceeded,
  DependenciesFailed
)

/**
 * @since 0.1.0
 * @category Models
 */
export type AgentFailure = typeof AgentFailure.Type

/**
 * The errors `Orchestrator.run` can fail with. Anything that happens once a run has started ends in a result
 * with status `failed` instead, so that finished work and its cost are never lost.
 *
 * @since 0.1.0
 * @category Models
 */
export type OrchestratorError = InvalidConfig
