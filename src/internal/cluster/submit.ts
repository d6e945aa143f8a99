/** The submitting side of a cluster run: a client of the cluster that hosts nothing. */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ClusterUnavailable, type Options } from "../../Cluster.js"
import { shardingConfig, sqlLayer } from "./connect.js"
import { AgentEntity, entityIdOf } from "./entity.js"
import { makeRemoteRun, RemoteAgents, type Send, unreachable } from "./remote.js"

export const layer = (options: Options) =>
  Layer.effect(
    RemoteAgents,
    Effect.gen(function*() {
      const clientFor = yield* AgentEntity.client
      const send: Send = (request) => unreachable(clientFor(entityIdOf(request)).ExecuteAgent(request))
      const retry = {
        retryForMillis: options.retryForMillis ?? 120_000,
        retryIntervalMillis: options.retryIntervalMillis ?? 250
      }
      return { forRun: (workflow) => makeRemoteRun(workflow, send, retry) }
    })
  ).pipe(
    Layer.provide(NodeClusterSocket.layer({
      clientOnly: true,
      storage: "sql",
      shardingConfig: shardingConfig(options, undefined)
    })),
    Layer.provide(sqlLayer(options.url)),
    Layer.catchAll((error) => error instanceof ClusterUnavailable ? Layer.fail(error) : Layer.die(error))
  )
