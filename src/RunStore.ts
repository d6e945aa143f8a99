/**
 * Where durable runs are recorded: the run's identity (configuration, task and a fingerprint of the
 * workflow), every finished step with its result and cost, the events, the lease of the process that runs it,
 * and approval decisions. `Orchestrator.run(workflow, task, { durable: { runId } })` records to the store in
 * context, and `Orchestrator.resume` continues from it.
 *
 * Stores: an embedded SQLite file (`layerSqlite`, through `@effect/sql-libsql`), Postgres for several
 * processes or machines (`layerPostgres`, through `@effect/sql-pg`), and a store in memory for tests
 * (`layerMemory`). The SQL packages are optional peer dependencies, loaded only when a store is built.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as MemoryStore from "./internal/durable/memoryStore.js"

/**
 * The store could not be opened, read or written: not a database, read-only, unreachable. `store` names it.
 *
 * @since 0.2.0
 * @category Errors
 */
export class RunStoreError extends Schema.TaggedError<RunStoreError>("multi-agent-orchestration/RunStoreError")(
  "RunStoreError",
  { store: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `Run store ${this.store}: ${this.reason}`
  }
}

/**
 * The store was written by a newer version of this library, whose schema this version does not know.
 *
 * @since 0.2.0
 * @category Errors
 */
export class RunStoreTooNew extends Schema.TaggedError<RunStoreTooNew>("multi-agent-orchestration/RunStoreTooNew")(
  "RunStoreTooNew",
  { store: Schema.String, version: Schema.Number, supported: Schema.Number }
) {
  override get message(): string {
    return `Run store ${this.store} has schema version ${this.version}, newer than this library supports (${this.supported}); upgrade the library`
  }
}

/**
 * No run with this id is in the store.
 *
 * @since 0.2.0
 * @category Errors
 */
export class RunNotFound extends Schema.TaggedError<RunNotFound>("multi-agent-orchestration/RunNotFound")(
  "RunNotFound",
  { runId: Schema.String }
) {
  override get message(): string {
    return `No run "${this.runId}" in the store`
  }
}

/**
 * Another process holds the run's lease. It expires at `expiresAt` (milliseconds since the epoch) unless its
 * holder renews it; a crashed holder stops renewing, so its lease can then be taken over. A running process
 * whose lease was taken over (it stalled past the lease) fails with it too, having stopped writing.
 *
 * @since 0.2.0
 * @category Errors
 */
export class RunHeld extends Schema.TaggedError<RunHeld>("multi-agent-orchestration/RunHeld")(
  "RunHeld",
  { runId: Schema.String, holder: Schema.String, expiresAt: Schema.Number }
) {
  override get message(): string {
    return `Run "${this.runId}" is held by ${this.holder} until ${new Date(this.expiresAt).toISOString()}`
  }
}

/**
 * The holder a `RunHeld` names when the lease a process lost was since released by the process that took it.
 *
 * @since 0.2.0
 * @category Constants
 */
export const nobody = "nobody (taken over, then released)"

/**
 * One way a resumed run differs from the stored one.
 *
 * @since 0.2.0
 * @category Models
 */
export const Difference = Schema.Struct({
  part: Schema.Literal("workflow", "task", "config", "context"),
  /** For config and context: the key; for the workflow: the part of it (`name.execute`, `name:kind`). */
  key: Schema.optional(Schema.String),
  stored: Schema.optional(Schema.String),
  given: Schema.optional(Schema.String)
})

/**
 * @since 0.2.0
 * @category Models
 */
export interface Difference extends Schema.Schema.Type<typeof Difference> {}

/**
 * The workflow, task, configuration or context given to resume a run differ from the ones it was started
 * with. Nothing ran: a run never mixes results of two different workflows.
 *
 * @since 0.2.0
 * @category Errors
 */
export class RunMismatch extends Schema.TaggedError<RunMismatch>("multi-agent-orchestration/RunMismatch")(
  "RunMismatch",
  { runId: Schema.String, differences: Schema.Array(Difference) }
) {
  override get message(): string {
    const parts = this.differences.map((d) =>
      d.key === undefined
        ? `${d.part} differs${d.stored === undefined ? "" : `: stored ${d.stored}, given ${d.given}`}`
        : `${d.part} ${d.key}: stored ${d.stored ?? "(none)"}, given ${d.given ?? "(none)"}`
    )
    return `Run "${this.runId}" was started with something else: ${parts.join("; ")}`
  }
}

/**
 * No approval step of this name is waiting in the run.
 *
 * @since 0.2.0
 * @category Errors
 */
export class ApprovalNotFound extends Schema.TaggedError<ApprovalNotFound>("multi-agent-orchestration/ApprovalNotFound")(
  "ApprovalNotFound",
  { runId: Schema.String, step: Schema.String, waiting: Schema.Array(Schema.String) }
) {
  override get message(): string {
    return `Run "${this.runId}" has no approval "${this.step}" waiting${
      this.waiting.length === 0 ? "" : ` (waiting: ${this.waiting.join(", ")})`
    }`
  }
}

/**
 * The errors of a durable run that prevent it from starting.
 *
 * @since 0.2.0
 * @category Errors
 */
export type DurableError = RunStoreError | RunStoreTooNew | RunNotFound | RunHeld | RunMismatch

/**
 * What a store knows of a run.
 *
 * - `running`: a process holds it, or held it until it stopped without a word (see `leaseExpiresAt`);
 * - `interrupted`: stopped by Ctrl-C or an interruption, resumable;
 * - `waiting`: suspended on an approval;
 * - `completed`, `failed`, `cancelled`: finished; resuming returns the stored result.
 *
 * @since 0.2.0
 * @category Models
 */
export interface RunInfo {
  readonly runId: string
  readonly workflow: string
  readonly title: string
  readonly task: string
  readonly status: RunStatus
  readonly progress: number
  readonly cost: number
  /** Agents finished so far. */
  readonly agents: number
  readonly createdAt: number
  readonly updatedAt: number
  readonly leaseHolder: string | undefined
  readonly leaseExpiresAt: number | undefined
  /** The final result as JSON, once the run has finished. */
  readonly result: string | undefined
}

/**
 * @since 0.2.0
 * @category Models
 */
export type RunStatus = "running" | "interrupted" | "waiting" | "completed" | "failed" | "cancelled"

/**
 * A run as it is first recorded.
 *
 * @since 0.2.0
 * @category Models
 */
export interface NewRun {
  readonly runId: string
  readonly workflow: string
  readonly title: string
  readonly task: string
  readonly fingerprint: string
  /** JSON of what the fingerprint covers, to tell what differs on a mismatch. */
  readonly identity: string
  /** How the run was started, e.g. the CLI's command line as JSON. */
  readonly launch?: string | undefined
}

/**
 * A finished step of a run: its key, its kind, and its record as JSON.
 *
 * @since 0.2.0
 * @category Models
 */
export interface StepRecord {
  readonly key: string
  readonly kind: string
  readonly record: string
}

/**
 * An event as stored: its sequence number and its JSON.
 *
 * @since 0.2.0
 * @category Models
 */
export interface StoredEvent {
  readonly sequence: number
  readonly json: string
}

/**
 * What a process writes in one transaction.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Batch {
  /**
   * The lease holder writing: the batch is written only while it still holds the run's lease, else the write
   * fails with `RunHeld` and writes nothing (a process whose lease was taken over never mixes its results in).
   */
  readonly holder?: string | undefined
  readonly steps: ReadonlyArray<StepRecord>
  readonly events: ReadonlyArray<StoredEvent>
  readonly progress: number
  readonly cost: number
  readonly agents: number
}

/**
 * An approval step of a run.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Approval {
  readonly step: string
  readonly prompt: string
  readonly requestedAt: number
  readonly decision: "approved" | "rejected" | undefined
  readonly note: string | undefined
  readonly decidedAt: number | undefined
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface Service {
  /** Where the store is, for messages: a file name or a Postgres URL without its password. */
  readonly location: string
  /** Records a new run; does nothing when a run with this id exists. Returns the run as stored. */
  readonly create: (run: NewRun) => Effect.Effect<StoredRun, RunStoreError>
  readonly get: (runId: string) => Effect.Effect<Option.Option<StoredRun>, RunStoreError>
  /** Every run, the most recently updated first. */
  readonly list: Effect.Effect<ReadonlyArray<RunInfo>, RunStoreError>
  /**
   * Takes the run's lease for `ttlMillis`, or renews it; fails with `RunHeld` when another holder has it,
   * unless that holder is `takeOverFrom` (one known to be dead).
   */
  readonly acquire: (
    runId: string,
    holder: string,
    ttlMillis: number,
    takeOverFrom?: string
  ) => Effect.Effect<void, RunHeld | RunStoreError>
  /**
   * Extends the lease `holder` has for `ttlMillis`; fails with `RunHeld` when it no longer has it (it expired and
   * another process took the run over, or released it), and then takes nothing.
   */
  readonly renew: (runId: string, holder: string, ttlMillis: number) => Effect.Effect<void, RunHeld | RunStoreError>
  readonly release: (runId: string, holder: string) => Effect.Effect<void, RunStoreError>
  readonly steps: (runId: string) => Effect.Effect<ReadonlyArray<StepRecord>, RunStoreError>
  readonly append: (runId: string, batch: Batch) => Effect.Effect<void, RunHeld | RunStoreError>
  readonly setStatus: (runId: string, status: RunStatus, result?: string) => Effect.Effect<void, RunStoreError>
  /** The run's events after `afterSequence`, in order. */
  readonly events: (runId: string, afterSequence: number) => Effect.Effect<ReadonlyArray<StoredEvent>, RunStoreError>
  readonly lastSequence: (runId: string) => Effect.Effect<number, RunStoreError>
  /** Records that a step waits for a decision; keeps an earlier request (and its time) as it is. */
  readonly requestApproval: (runId: string, step: string, prompt: string) => Effect.Effect<Approval, RunStoreError>
  readonly approval: (runId: string, step: string) => Effect.Effect<Option.Option<Approval>, RunStoreError>
  readonly approvals: (runId: string) => Effect.Effect<ReadonlyArray<Approval>, RunStoreError>
  readonly decide: (
    runId: string,
    step: string,
    decision: { readonly approved: boolean; readonly note?: string | undefined }
  ) => Effect.Effect<void, RunStoreError | ApprovalNotFound>
}

/**
 * A run as stored, with what it was started with.
 *
 * @since 0.2.0
 * @category Models
 */
export interface StoredRun extends RunInfo {
  readonly fingerprint: string
  readonly identity: string
  readonly launch: string | undefined
}

/**
 * @since 0.2.0
 * @category Context
 */
export class RunStore extends Context.Tag("multi-agent-orchestration/RunStore")<RunStore, Service>() {}

/**
 * The store's file when none is given: `.orchestrate/runs.db` in the working directory.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultFilename = ".orchestrate/runs.db"

/**
 * The schema version this library writes and reads.
 *
 * @since 0.2.0
 * @category Constants
 */
export { schemaVersion } from "./internal/durable/migrations.js"

// One import for the process: concurrent first uses share it.
let storesModule: Promise<typeof import("./internal/durable/stores.js")> | undefined

const loadStores = Effect.tryPromise(() => (storesModule ??= import("./internal/durable/stores.js"))).pipe(
  Effect.catchAll((error) =>
    Effect.dieMessage(
      `Durable runs need the packages @effect/sql, @effect/sql-libsql (SQLite) and @effect/sql-pg (Postgres): npm install @effect/sql @effect/sql-libsql @effect/sql-pg. ${
        error.cause instanceof Error ? error.cause.message : String(error.cause)
      }`
    )
  )
)

/**
 * A store in a SQLite file (created with its directory when missing), e.g. `.orchestrate/runs.db`.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeSqlite = (options: { readonly filename: string }): Effect.Effect<
  Service,
  RunStoreError | RunStoreTooNew,
  Scope.Scope
> => Effect.flatMap(loadStores, (stores) => stores.sqlite(options.filename))

/**
 * A store in Postgres, e.g. `postgres://user:password@127.0.0.1:5432/db`.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makePostgres = (options: { readonly url: string }): Effect.Effect<
  Service,
  RunStoreError | RunStoreTooNew,
  Scope.Scope
> => Effect.flatMap(loadStores, (stores) => stores.postgres(options.url))

/**
 * @since 0.2.0
 * @category Layers
 */
export const layerSqlite = (options: { readonly filename: string }): Layer.Layer<
  RunStore,
  RunStoreError | RunStoreTooNew
> => Layer.scoped(RunStore, makeSqlite(options))

/**
 * @since 0.2.0
 * @category Layers
 */
export const layerPostgres = (options: { readonly url: string }): Layer.Layer<
  RunStore,
  RunStoreError | RunStoreTooNew
> => Layer.scoped(RunStore, makePostgres(options))

/**
 * A store in plain memory, gone with the layer; for tests. It needs none of the SQL packages.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerMemory: Layer.Layer<RunStore> = Layer.sync(RunStore, () => MemoryStore.make())

/**
 * A store from a location as the CLI takes it: a `postgres://` or `postgresql://` URL, else a SQLite file name.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer = (location: string = defaultFilename): Layer.Layer<RunStore, RunStoreError | RunStoreTooNew> =>
  /^postgres(ql)?:\/\//.test(location) ? layerPostgres({ url: location }) : layerSqlite({ filename: location })

/**
 * Every run in the store, the most recently updated first.
 *
 * @since 0.2.0
 * @category Accessors
 */
export const list: Effect.Effect<ReadonlyArray<RunInfo>, RunStoreError, RunStore> = Effect.flatMap(
  RunStore,
  (store) => store.list
)
