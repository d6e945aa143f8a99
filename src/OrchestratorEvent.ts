/**
 * The progress events of a run, as a Schema union discriminated by `type`. Events are plain objects built
 * without validation on the hot path; encode them with `encode`/`toJson` at the edge (SSE, WebSocket, files).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { AgentResult } from "./AgentResult.js"
import { AgentType } from "./AgentType.js"
import { OrchestratorResult } from "./OrchestratorResult.js"
import { SubTask } from "./SubTask.js"
import { TaskStatus } from "./TaskStatus.js"
import { Usage } from "./Usage.js"

const base = {
  /** Position of the event in its run, from 1; SSE uses it as the event id. */
  sequence: Schema.Int,
  /** The run. */
  taskId: Schema.String,
  /** The workflow (or nested workflow) the event is about. */
  workflowId: Schema.String,
  /** The enclosing workflow, for nested workflows. */
  parentId: Schema.optional(Schema.String),
  /** Milliseconds since the Unix epoch, from Effect's `Clock`. */
  timestamp: Schema.Number,
  /** The run's progress, 0–100; it never decreases. */
  progress: Schema.Number,
  /** The agent the event is about, for agent events. */
  agentId: Schema.optional(Schema.String)
}

const event = <const T extends string, const D extends Schema.Struct.Fields>(type: T, data: D) =>
  Schema.Struct({ type: Schema.Literal(type), ...base, data: Schema.Struct(data) }).annotations({
    identifier: type
  })

/** @since 0.1.0 @category Schemas */
export const WorkflowStart = event("workflow_start", {
  task: Schema.String,
  title: Schema.String,
  workflow: Schema.String
})
/** @since 0.1.0 @category Schemas */
export const DecompositionStart = event("decomposition_start", {})
/** @since 0.1.0 @category Schemas */
export const DecompositionComplete = event("decomposition_complete", {
  subtaskCount: Schema.Int,
  subtasks: Schema.Array(SubTask),
  /** Set when the workflow could not use the decomposition it got and fell back to defaults. */
  fallbackReason: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category Schemas */
export const AgentStart = event("agent_start", {
  subtaskId: Schema.String,
  description: Schema.String,
  agentType: AgentType,
  tier: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category Schemas */
export const AgentRetry = event("agent_retry", {
  subtaskId: Schema.String,
  /** The attempt that failed, from 1. */
  attempt: Schema.Int,
  /** The error's tag, e.g. "RateLimited". */
  errorTag: Schema.String,
  /** Why the attempt failed. */
  reason: Schema.String,
  model: Schema.String,
  /** The model of the next attempt; differs from `model` when switching to the fallback model. */
  nextModel: Schema.String,
  /** How long until the next attempt. */
  delayMillis: Schema.Number
})
/**
 * Text an agent's model wrote since the agent's last `agent_delta`, when the run streams tokens
 * (`streamTokens: true`). At most one per agent per 50 ms (on the Clock): text that arrives in between is
 * merged into the next one, none is lost. The deltas of an attempt, joined, are its reply; `restart` marks
 * the first delta of a new attempt (a retry, the fallback model, or the agent's next call): the text shown
 * for the agent so far is void, and it starts again with this one.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const AgentDelta = event("agent_delta", {
  subtaskId: Schema.String,
  /** The new text. */
  text: Schema.String,
  /** The agent's attempt the text belongs to, from 1, counting every call, retry and fallback (as `attempts`). */
  attempt: Schema.Int,
  /** The model writing it. */
  model: Schema.String,
  /** Set on the first delta of an attempt after the agent's first: start the agent's text again. */
  restart: Schema.optional(Schema.Boolean)
})
/** @since 0.1.0 @category Schemas */
export const AgentComplete = event("agent_complete", {
  subtaskId: Schema.String,
  executionTime: Schema.Number,
  cost: Schema.Number,
  usage: Usage,
  model: Schema.optional(Schema.String),
  attempts: Schema.Int,
  /** The cluster runner (`host:port`) that ran the agent, in a cluster run. */
  runner: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category Schemas */
export const AgentError = event("agent_error", {
  subtaskId: Schema.String,
  error: Schema.String,
  status: TaskStatus,
  executionTime: Schema.Number,
  cost: Schema.Number,
  attempts: Schema.Int
})
/** @since 0.1.0 @category Schemas */
export const ToolCall = event("tool_call", {
  subtaskId: Schema.String,
  /** The provider's id of the call. */
  toolCallId: Schema.String,
  tool: Schema.String,
  /** The model step that asked for the call, from 1. */
  step: Schema.Int,
  /** The parameters as the model sent them, before they are checked against the tool's Schema. */
  params: Schema.Unknown
})
/** @since 0.1.0 @category Schemas */
export const ToolResult = event("tool_result", {
  subtaskId: Schema.String,
  toolCallId: Schema.String,
  tool: Schema.String,
  step: Schema.Int,
  /** `failure` covers parameters that do not decode, an unknown tool, a failing handler and a time-out. */
  outcome: Schema.Literal("success", "failure"),
  durationMillis: Schema.Number,
  /** What went wrong, as the model is told it. */
  error: Schema.optional(Schema.String)
})
/** @since 0.1.0 @category Schemas */
export const BranchSelected = event("branch_selected", {
  /** The branch that runs. */
  branch: Schema.String,
  /** What the condition or selector returned (differs from `branch` when the default was taken). */
  selected: Schema.String,
  /** The name of the chosen workflow. */
  workflow: Schema.String
})
/** @since 0.1.0 @category Schemas */
export const IterationStart = event("iteration_start", { iteration: Schema.Int })
/** @since 0.1.0 @category Schemas */
export const IterationComplete = event("iteration_complete", {
  iteration: Schema.Int,
  score: Schema.optional(Schema.Number),
  converged: Schema.Boolean
})
/** @since 0.1.0 @category Schemas */
export const SynthesisStart = event("synthesis_start", { level: Schema.String, inputCount: Schema.Int })
/** @since 0.1.0 @category Schemas */
export const SynthesisComplete = event("synthesis_complete", {
  level: Schema.String,
  synthesisLength: Schema.Int
})
/** @since 0.1.0 @category Schemas */
export const BudgetWarning = event("budget_warning", {
  spent: Schema.Number,
  limit: Schema.Number,
  threshold: Schema.Number
})
/**
 * A durable run's approval step waits for a person's decision (`Orchestrator.approve` or
 * `orchestrate approve RUN STEP`).
 *
 * @since 0.2.0
 * @category Schemas
 */
export const ApprovalRequested = event("approval_requested", {
  /** The approval step's name: what `approve` takes. */
  step: Schema.String,
  /** What to show the person who decides. */
  prompt: Schema.String,
  /** When it was first requested, in milliseconds since the epoch. */
  requestedAt: Schema.Number,
  /** When the step fails for want of a decision, if it has a timeout. */
  expiresAt: Schema.optional(Schema.Number)
})
/** @since 0.1.0 @category Schemas */
export const WorkflowComplete = event("workflow_complete", {
  status: TaskStatus,
  executionTime: Schema.Number,
  totalCost: Schema.Number,
  usage: Usage,
  result: Schema.optional(OrchestratorResult)
})
/** @since 0.1.0 @category Schemas */
export const WorkflowError = event("workflow_error", {
  error: Schema.String,
  /** The tag of the typed failure, e.g. "BudgetExceeded". */
  reason: Schema.String,
  executionTime: Schema.Number,
  totalCost: Schema.Number,
  result: Schema.optional(OrchestratorResult)
})
/** @since 0.1.0 @category Schemas */
export const WorkflowCancelled = event("workflow_cancelled", {
  reason: Schema.String,
  completedAgents: Schema.Int,
  agentResults: Schema.Array(AgentResult),
  totalCost: Schema.Number,
  result: Schema.optional(OrchestratorResult)
})

/**
 * Every event a run emits.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const OrchestratorEvent = Schema.Union(
  WorkflowStart,
  DecompositionStart,
  DecompositionComplete,
  AgentStart,
  AgentRetry,
  AgentDelta,
  AgentComplete,
  AgentError,
  ToolCall,
  ToolResult,
  BranchSelected,
  IterationStart,
  IterationComplete,
  SynthesisStart,
  SynthesisComplete,
  BudgetWarning,
  ApprovalRequested,
  WorkflowComplete,
  WorkflowError,
  WorkflowCancelled
)

/**
 * @since 0.1.0
 * @category Models
 */
export type OrchestratorEvent = typeof OrchestratorEvent.Type

/**
 * @since 0.1.0
 * @category Models
 */
export type Type = OrchestratorEvent["type"]

/**
 * The event of a given type.
 *
 * @since 0.1.0
 * @category Models
 */
export type Of<T extends Type> = Extract<OrchestratorEvent, { readonly type: T }>

/**
 * The JSON-safe form of an event.
 *
 * @since 0.1.0
 * @category Models
 */
export type Encoded = typeof OrchestratorEvent.Encoded

/**
 * The event types that end a run (when emitted by the top-level workflow).
 *
 * @since 0.1.0
 * @category Constants
 */
export const terminalTypes: ReadonlySet<Type> = new Set(["workflow_complete", "workflow_error", "workflow_cancelled"])

/**
 * Whether this event is the last of its run: a `workflow_complete`, `workflow_error` or `workflow_cancelled`
 * of the top-level workflow (nested workflows have a `parentId`).
 *
 * @since 0.1.0
 * @category Guards
 */
export const isTerminal = (event: OrchestratorEvent): boolean =>
  event.parentId === undefined && terminalTypes.has(event.type)

/**
 * Narrows an event to one type.
 *
 * @since 0.1.0
 * @category Guards
 */
export const is = <T extends Type>(type: T) => (event: OrchestratorEvent): event is Of<T> => event.type === type

/**
 * The JSON-safe form of an event, validated against the schema.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const encode: (event: OrchestratorEvent) => Encoded = Schema.encodeSync(OrchestratorEvent)

/**
 * An event as one line of JSON.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const toJson = (event: OrchestratorEvent): string => JSON.stringify(encode(event))

/**
 * Decodes an event from its JSON-safe form, e.g. on the client side of an SSE stream.
 *
 * @since 0.1.0
 * @category Codecs
 */
export const decode = Schema.decodeUnknown(OrchestratorEvent)
