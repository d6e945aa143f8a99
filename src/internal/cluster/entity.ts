/** The cluster's one entity: an agent, sent as one request to whichever runner holds its shard. */
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import * as Schema from "effect/Schema"
import { UnknownWorkflow } from "../../Cluster.js"
import { AgentReply, AgentRequest } from "./wire.js"

/** A runner that is leaving (SIGTERM) takes no new agent: the submitter tries again, elsewhere once its shards move. */
export class RunnerDraining extends Schema.TaggedError<RunnerDraining>("multi-agent-orchestration/RunnerDraining")(
  "RunnerDraining",
  { runner: Schema.String }
) {}

export const ExecuteAgent = Rpc.make("ExecuteAgent", {
  payload: AgentRequest,
  success: AgentReply,
  error: Schema.Union(UnknownWorkflow, RunnerDraining)
})

export const AgentEntity = Entity.make("Agent", [ExecuteAgent])

/** Agents spread over the shards by run and agent id: one entity per agent. */
export const entityIdOf = (request: AgentRequest): string => `${request.runId}/${request.agentId}`
