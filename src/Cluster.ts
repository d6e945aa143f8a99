/**
 * Runs spread over runner processes, on one machine or many, with `@effect/cluster` and Postgres as the only
 * shared service. Runners (`runner`, or `orchestrate runner`) take the agents of any run; a run submitted
 * under `layer` sends each agent to a runner and keeps everything else (the scheduler, the events, the cost
 * ledger, the budget, the durable journal) in the submitting process, so that `maxConcurrentAgents` and
 * `maxTotalCost` hold across the cluster. `@effect/cluster`, `@effect/rpc`, `@effect/sql-pg` and
 * `@effect/platform-node` are optional peer dependencies, loaded only here.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Tool from "@effect/ai/Tool"
import type * as DreamSwarm from "./DreamSwarm.js"
import type { Provider } from "./Provider.js"
import { RemoteAgents } from "./internal/cluster/remote.js"
import type * as Workflow from "./Workflow.js"

/**
 * The cluster's Postgres could not be reached, or the cluster could not be set up on it.
 *
 * @since 0.3.0
 * @category Errors
 */
export class ClusterUnavailable extends Schema.TaggedError<ClusterUnavailable>("multi-agent-orchestration/ClusterUnavailable")(
  "ClusterUnavailable",
  { url: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `Cluster store ${this.url}: ${this.reason}`
  }
}

/**
 * A runner was asked for a workflow it does not know: start the runners with `--workflows` (the `workflows`
 * option) naming a module that exports it.
 *
 * @since 0.3.0
 * @category Errors
 */
export class UnknownWorkflow extends Schema.TaggedError<UnknownWorkflow>("multi-agent-orchestration/UnknownWorkflow")(
  "UnknownWorkflow",
  { workflow: Schema.String, runner: Schema.String, known: Schema.Array(Schema.String) }
) {
  override get message(): string {
    const known = this.known.length === 0 ? "none besides the built-in presets" : this.known.join(", ")
    return `Runner ${this.runner} does not know the workflow "${this.workflow}" (it knows: ${known}); start the runners with --workflows naming a module that exports it`
  }
}

/**
 * A runner could not listen on its address: another process (another runner, often) has it.
 *
 * @since 0.3.0
 * @category Errors
 */
export class ListenAddressInUse extends Schema.TaggedError<ListenAddressInUse>("multi-agent-orchestration/ListenAddressInUse")(
  "ListenAddressInUse",
  { address: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `Runner cannot listen on ${this.address}: ${this.reason}`
  }
}

/**
 * How quickly the cluster notices a runner that is gone. The defaults suit production; tests and demos use
 * shorter ones, so that a dead runner's shards move in seconds.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Timings {
  /** How long a runner's hold on a shard lasts without renewal. Default: 35 seconds. */
  readonly shardLockExpirationMillis?: number | undefined
  /** How often a runner renews its shard locks. Default: 10 seconds (at most a third of the expiration). */
  readonly shardLockRefreshMillis?: number | undefined
  /** How often every process reads which runner has which shard. Default: 3 seconds. */
  readonly refreshAssignmentsMillis?: number | undefined
}

/**
 * Options of `layer`.
 *
 * @since 0.3.0
 * @category Models
 */
export interface Options extends Timings {
  /** The cluster's Postgres: `postgres://user:password@host:port/database`. */
  readonly url: string
  /**
   * How long an agent's call is tried again while no runner takes it (runners starting, a dead runner's
   * shards moving) before the agent fails. Default: 120 seconds.
   */
  readonly retryForMillis?: number | undefined
  /** The pause between those tries. Default: 250 ms. */
  readonly retryIntervalMillis?: number | undefined
}

/**
 * Options of `runner`.
 *
 * @since 0.3.0
 * @category Models
 */
export interface RunnerOptions extends Timings {
  /** The cluster's Postgres: `postgres://user:password@host:port/database`. */
  readonly url: string
  /** Where other processes reach this runner. */
  readonly host: string
  readonly port: number
  /** Where it listens, when that differs from `host` (`0.0.0.0` behind NAT, say). Default: `host`. */
  readonly listenHost?: string | undefined
  /** The most agents this runner runs at once. Default: 10. */
  readonly maxConcurrent?: number | undefined
  /** The workflows this runner knows, by name, besides the built-in Dream Cascade and Dream Swarm. */
  readonly workflows?: ReadonlyArray<Workflow.Workflow<never>> | undefined
  /**
   * The search tools of Dream Swarms that search (`DreamSwarm.make({ tools })`), whose tools cannot travel
   * with the run: `{ toolkit: SearchTools.toolkit, toolFor: SearchTools.toolFor }`, with the tools' layer
   * provided to `runner`.
   */
  readonly swarmTools?: DreamSwarm.SwarmTools<Record<string, Tool.Any>> | undefined
  /** Called once the runner has registered and listens. */
  readonly onReady?: ((address: string) => void) | undefined
}

const loadInternal = <A>(load: () => Promise<A>): Effect.Effect<A> =>
  Effect.tryPromise(load).pipe(
    Effect.catchAll((error) =>
      Effect.dieMessage(
        `Running on a cluster needs the packages @effect/cluster, @effect/rpc, @effect/sql-pg and @effect/platform-node: npm install @effect/cluster@0.60.2 @effect/rpc@0.76.2 @effect/sql-pg@0.53.0 @effect/platform-node@0.108.2. ${
          error.cause instanceof Error ? error.cause.message : String(error.cause)
        }`
      )
    )
  )

/**
 * Sends the agents of every run under this layer to the cluster's runners. Fails with `ClusterUnavailable`
 * when Postgres does not answer.
 *
 * @since 0.3.0
 * @category Layers
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cluster, DreamSwarm, Orchestrator, Provider } from "multi-agent-orchestration"
 *
 * const program = Orchestrator.run(DreamSwarm.make({ numAgents: 300 }), "Map the field", {
 *   config: { maxConcurrentAgents: 30 }
 * }).pipe(
 *   Effect.provide(Cluster.layer({ url: "postgres://postgres@127.0.0.1:5432/postgres" })),
 *   Effect.provide(Provider.simulated())
 * )
 * ```
 */
export const layer = (options: Options): Layer.Layer<RemoteAgents, ClusterUnavailable> =>
  Layer.unwrapScoped(
    Effect.map(loadInternal(() => import("./internal/cluster/submit.js")), (module) => module.layer(options))
  )

/**
 * Runs a runner until interrupted: it registers in the cluster, takes shards and runs the agents sent to it,
 * each on the `Provider` of its context. Interrupting it (SIGTERM in `orchestrate runner`) stops it taking
 * work, lets the agents it holds finish, and hands its shards over.
 *
 * @since 0.3.0
 * @category Running
 */
export const runner = (
  options: RunnerOptions
): Effect.Effect<never, ClusterUnavailable | ListenAddressInUse, Provider | Scope.Scope> =>
  Effect.flatMap(loadInternal(() => import("./internal/cluster/runner.js")), (module) => module.run(options))

export {
  /**
   * The service a run reads to send its agents to runners; provided by `layer`.
   *
   * @since 0.3.0
   * @category Services
   */
  RemoteAgents
}
