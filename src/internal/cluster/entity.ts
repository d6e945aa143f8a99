/** The cluster's one entity: an agent, sent as one request to whichever runner holds its shard. */
import * as Entity from "@effect/cluster/Entity"
import * as EntityId from "@effect/cluster/EntityId"
import * as Rpc from "@effect/rpc/Rpc"
import * as Schema from "effect/Schema"
import { UnknownWorkflow } from "../../Cluster.js"
import { AgentFrame, AgentReply, AgentRequest } from "./wire.js"

/** A runner that is leaving (SIGTERM) takes no new agent: the submitter tries again, elsewhere once its shards move. */
export class RunnerDraining extends Schema.TaggedError<RunnerDraining>("multi-agent-orchestration/RunnerDraining")(
  "RunnerDraining",
  { runner: Schema.String }
) {}

export const ExecuteAgent = Rpc.make("ExecuteAgent", {
  // A schema without `make`: the RPC client checks a payload through its schema's `make`, which compiles the
  // whole request's validator anew on every call (about half a millisecond an agent). The request is built
  // here, typed; encoding it is check enough.
  payload: Schema.suspend(() => AgentRequest),
  success: AgentReply,
  error: Schema.Union(UnknownWorkflow, RunnerDraining)
})

/**
 * The same for a run that streams tokens: the runner streams the agent's events as they happen (deltas at
 * most one per agent per 50 ms, as in one process), then its reply.
 */
export const ExecuteAgentLive = Rpc.make("ExecuteAgentLive", {
  payload: Schema.suspend(() => AgentRequest),
  success: AgentFrame,
  error: Schema.Union(UnknownWorkflow, RunnerDraining),
  stream: true
})

export const AgentEntity = Entity.make("Agent", [ExecuteAgent, ExecuteAgentLive])

/**
 * One entity id on each shard, found once by hashing candidate ids as the cluster does. Sending agents to
 * these in turn gives every shard, and so every runner (the cluster balances shards over runners), an equal
 * share of a run's agents: hashing each agent's own id onto the shards gives one runner a tenth more than
 * another now and then, and its `--max-concurrent` then sets the run's makespan.
 */
export const entityIdsPerShard = (
  shardOf: (entityId: EntityId.EntityId, group: string) => { readonly id: number },
  shards: number
): ReadonlyArray<string> => {
  const group = AgentEntity.getShardGroup(EntityId.make("agents"))
  const found = new Map<number, string>()
  for (let candidate = 0; found.size < shards && candidate < shards * 100; candidate++) {
    const entityId = `agents-${candidate}`
    const shard = shardOf(EntityId.make(entityId), group).id
    if (!found.has(shard)) found.set(shard, entityId)
  }
  return [...found.entries()].sort(([a], [b]) => a - b).map(([, entityId]) => entityId)
}
