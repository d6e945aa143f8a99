/** The pieces every cluster process shares: its Postgres client and its sharding settings. */
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import type * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { ClusterUnavailable, type Timings } from "../../Cluster.js"
import { redactUrl } from "../providers/redact.js"

const causeText = (error: unknown): string => {
  const cause = (error as { readonly cause?: unknown }).cause
  if (cause instanceof Error) {
    const code = (cause as { readonly code?: unknown }).code
    return `${typeof code === "string" ? `${code} ` : ""}${cause.message}`
  }
  return error instanceof Error ? error.message : String(error)
}

export const sqlLayer = (url: string) =>
  PgClient.layer({ url: Redacted.make(url), connectTimeout: Duration.seconds(5) }).pipe(
    Layer.mapError((error) => new ClusterUnavailable({ url: redactUrl(url), reason: `no Postgres server answers (${causeText(error)})` }))
  )

/**
 * The sharding settings: an explicit address (never read from `HOST`/`PORT` in the environment, which
 * `@effect/cluster` would otherwise do), and the lock timings asked for.
 */
export const shardingConfig = (
  timings: Timings,
  address: { readonly host: string; readonly port: number; readonly listenHost?: string | undefined } | undefined
): Partial<ShardingConfig.ShardingConfig["Type"]> => ({
  runnerAddress: address === undefined ? Option.none() : Option.some(RunnerAddress.make(address.host, address.port)),
  runnerListenAddress: address === undefined
    ? Option.none()
    : Option.some(RunnerAddress.make(address.listenHost ?? address.host, address.port)),
  ...(timings.shardLockExpirationMillis === undefined
    ? {}
    : { shardLockExpiration: Duration.millis(timings.shardLockExpirationMillis) }),
  ...(timings.shardLockRefreshMillis === undefined
    ? {}
    : { shardLockRefreshInterval: Duration.millis(timings.shardLockRefreshMillis) }),
  ...(timings.refreshAssignmentsMillis === undefined
    ? {}
    : { refreshAssignmentsInterval: Duration.millis(timings.refreshAssignmentsMillis) })
})
