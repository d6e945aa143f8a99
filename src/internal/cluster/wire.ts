/** What a submitter sends a runner for one agent, and what the runner answers: plain Schemas, no cluster code. */
import * as Schema from "effect/Schema"
import { AgentResult } from "../../AgentResult.js"
import { OrchestratorConfig } from "../../OrchestratorConfig.js"
import { SubTask } from "../../SubTask.js"
import { Usage } from "../../Usage.js"

export const AgentRequest = Schema.Struct({
  runId: Schema.String,
  /** The name the run's workflow is registered under on the runners. */
  workflow: Schema.String,
  /** The values the workflow was built from (`Workflow.withSettings`): the built-in presets are rebuilt from them. */
  settings: Schema.Unknown,
  /** Where the agents step sits in the workflow (see `paths.ts`). */
  path: Schema.String,
  subtask: SubTask,
  agentId: Schema.String,
  model: Schema.String,
  dependencies: Schema.Array(AgentResult),
  task: Schema.String,
  context: Schema.Unknown,
  config: OrchestratorConfig,
  previous: Schema.Array(Schema.Struct({ name: Schema.String, output: Schema.String })),
  streamTokens: Schema.Boolean
})
export type AgentRequest = typeof AgentRequest.Type

/** A provider call the agent made: its model and usage, charged to the run by the submitter. */
export const Call = Schema.Tuple(Schema.String, Usage)

/** One of an agent's own events (retries, tool calls, deltas), for the submitter to emit. */
export const AgentEvent = Schema.Struct({ type: Schema.String, data: Schema.Unknown })
export type AgentEvent = typeof AgentEvent.Type

export const AgentReply = Schema.Struct({
  /** The agent's result as the runner saw it; its cost is recomputed by the submitter from `calls`. */
  result: AgentResult,
  calls: Schema.Array(Call),
  /** `host:port` of the runner that ran the agent. */
  runner: Schema.String,
  /** The agent's own events, when they were not sent as they happened. */
  events: Schema.Array(AgentEvent)
})
export type AgentReply = typeof AgentReply.Type

/**
 * What a runner streams for an agent of a run that streams tokens: its events as they happen, then the
 * reply (whose `events` is then empty). `execution` names this run of the agent on this runner: the cluster
 * may send a request again to another runner within the same stream (its first runner lost), and the
 * submitter then starts the agent's text again.
 */
export const AgentFrame = Schema.Union(
  Schema.TaggedStruct("Event", { event: AgentEvent, execution: Schema.String }),
  Schema.TaggedStruct("Reply", { reply: AgentReply })
)
export type AgentFrame = typeof AgentFrame.Type
