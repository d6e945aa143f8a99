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

/** How many entities a run's agents are spread over: enough to use every shard, few enough to reuse them. */
const slots = 256

/**
 * Agents spread over the shards by run and agent id, through one of `slots` entities per run: an entity
 * serves many agents at once, so that most agents find theirs running instead of starting one.
 */
export const entityIdOf = (request: AgentRequest): string => {
  let hash = 0
  for (let i = 0; i < request.agentId.length; i++) hash = (Math.imul(hash, 31) + request.agentId.charCodeAt(i)) | 0
  return `${request.runId}/${(hash >>> 0) % slots}`
}
