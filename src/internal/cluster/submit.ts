/** The submitting side of a cluster run: a client of the cluster that hosts nothing. */
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import { ClusterUnavailable, type Options } from "../../Cluster.js"
import { shardingConfig, sqlLayer } from "./connect.js"
import { AgentEntity, entityIdsPerShard } from "./entity.js"
import { makeRemoteRun, RemoteAgents, RunnerUnreachable, type Send, unreachable } from "./remote.js"
import type { AgentReply } from "./wire.js"

export const layer = (options: Options) => {
  const config = shardingConfig(options, undefined)
  return Layer.effect(
    RemoteAgents,
    Effect.gen(function*() {
      const clientFor = yield* AgentEntity.client
      const sharding = yield* Sharding.Sharding
      const { shardsPerGroup } = yield* ShardingConfig.ShardingConfig
      const entityIds = entityIdsPerShard(sharding.getShardId, shardsPerGroup)
      // Each agent (each try of it) goes to the next shard in turn: from a random one, so that submitters
      // running at once do not all start on the same runner.
      let next = yield* Random.nextIntBetween(0, entityIds.length)
      const send: Send = (request, onEvent) =>
        Effect.suspend(() => {
          const entityId = entityIds[next]!
          next = (next + 1) % entityIds.length
          if (onEvent === undefined) return unreachable(clientFor(entityId).ExecuteAgent(request))
          let reply: AgentReply | undefined
          return unreachable(
            Stream.runForEach(clientFor(entityId).ExecuteAgentLive(request), (frame) =>
              Effect.sync(() => {
                if (frame._tag === "Event") onEvent(frame.event, frame.execution)
                else reply = frame.reply
              })).pipe(
                Effect.flatMap(() =>
                  reply === undefined
                    ? Effect.fail(new RunnerUnreachable({ reason: "the runner's stream ended without the agent's reply" }))
                    : Effect.succeed(reply)
                )
              )
          )
        })
      const retry = {
        retryForMillis: options.retryForMillis ?? 120_000,
        retryIntervalMillis: options.retryIntervalMillis ?? 250
      }
      return { forRun: (workflow) => makeRemoteRun(workflow, send, retry) }
    })
  ).pipe(
    Layer.provide(NodeClusterSocket.layer({ clientOnly: true, storage: "sql", shardingConfig: config })),
    // The same settings the cluster reads, for the number of shards.
    Layer.provide(ShardingConfig.layerFromEnv(config)),
    Layer.provide(sqlLayer(options.url)),
    Layer.catchAll((error) => error instanceof ClusterUnavailable ? Layer.fail(error) : Layer.die(error))
  )
}
