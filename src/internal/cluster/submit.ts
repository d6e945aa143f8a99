/** The submitting side of a cluster run: a client of the cluster that hosts nothing. */
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import { ClusterUnavailable, type Options } from "../../Cluster.js"
import { shardingConfig, sqlLayer } from "./connect.js"
import { AgentEntity, entityIdsPerShard } from "./entity.js"
import { makeRemoteRun, RemoteAgents, type Send, unreachable } from "./remote.js"

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
      const send: Send = (request) =>
        Effect.suspend(() => {
          const entityId = entityIds[next]!
          next = (next + 1) % entityIds.length
          return unreachable(clientFor(entityId).ExecuteAgent(request))
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
