import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import {
  type Approval,
  ApprovalNotFound,
  type Batch,
  nobody,
  type NewRun,
  RunHeld,
  type RunInfo,
  type RunStatus,
  RunStoreError,
  RunStoreTooNew,
  type Service,
  type StepRecord,
  type StoredEvent,
  type StoredRun
} from "../../RunStore.js"
import { migrations, migrationsTable, schemaVersion } from "./migrations.js"

type Row = Record<string, unknown>

// SQLite (libsql with intMode "bigint") gives integers as bigint, Postgres gives BIGINT as strings.
const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value))
const optNum = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : Number(value))
const optStr = (value: unknown): string | undefined => (value === null || value === undefined ? undefined : String(value))

const toRun = (row: Row): StoredRun => ({
  runId: String(row.run_id),
  workflow: String(row.workflow),
  title: String(row.title),
  task: String(row.task),
  fingerprint: String(row.fingerprint),
  identity: String(row.identity),
  status: String(row.status) as RunStatus,
  progress: num(row.progress),
  cost: num(row.cost),
  agents: num(row.agents),
  createdAt: num(row.created_at),
  updatedAt: num(row.updated_at),
  leaseHolder: optStr(row.lease_holder),
  leaseExpiresAt: optNum(row.lease_expires),
  result: optStr(row.result),
  launch: optStr(row.launch)
})

const toApproval = (row: Row): Approval => ({
  step: String(row.step),
  prompt: String(row.prompt),
  requestedAt: num(row.requested_at),
  decision: row.decision === "approved" || row.decision === "rejected" ? row.decision : undefined,
  note: optStr(row.note),
  decidedAt: optNum(row.decided_at)
})

/** Rows per INSERT: well under SQLite's and Postgres's limits on bound parameters. */
const chunkSize = 500

const chunks = <A>(items: ReadonlyArray<A>): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += chunkSize) out.push(items.slice(i, i + chunkSize))
  return out
}

/** Turns a driver error into a typed one; `describe` gives the reason in words a user can act on. */
export type Describe = (error: SqlError) => string

/**
 * A run store on any `@effect/sql` client. Runs the migrations (refusing a store of a newer schema), then
 * offers the store's operations; every statement is portable between SQLite and Postgres.
 */
export const make = (sql: SqlClient.SqlClient, location: string, describe: Describe): Effect.Effect<
  Service,
  RunStoreError | RunStoreTooNew
> =>
  Effect.gen(function*() {
    const fail = (error: SqlError) => new RunStoreError({ store: location, reason: describe(error) })
    const guard = <A>(effect: Effect.Effect<A, SqlError>): Effect.Effect<A, RunStoreError> =>
      Effect.mapError(effect, fail)

    // A store of a newer schema is refused before anything touches it.
    const existing = yield* guard(
      Effect.catchAll(
        sql<Row>`SELECT MAX(migration_id) AS version FROM ${sql(migrationsTable)}`,
        (error) => (/no such table|does not exist/i.test(String(error.cause ?? error.message)) ? Effect.succeed([]) : Effect.fail(error))
      )
    )
    const version = num(existing[0]?.version)
    if (version > schemaVersion) return yield* new RunStoreTooNew({ store: location, version, supported: schemaVersion })
    yield* Migrator.make({})({ loader: Migrator.fromRecord(migrations(sql)), table: migrationsTable }).pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      // Another process may be creating the same fresh store: its migration wins, ours then finds it done.
      Effect.retry({ times: 5, schedule: Schedule.spaced(Duration.millis(200)) }),
      Effect.mapError((error) =>
        new RunStoreError({
          store: location,
          reason: error._tag === "SqlError" ? describe(error) : `migration failed: ${error.message}`
        })
      )
    )

    const getRun = (runId: string) =>
      Effect.map(
        guard(sql<Row>`SELECT * FROM orchestrate_runs WHERE run_id = ${runId}`),
        (rows) => Option.map(Option.fromNullable(rows[0]), toRun)
      )

    // Who holds the run's lease, as the error of one who does not.
    const heldBy = (runId: string, whenNone: string) =>
      Effect.flatMap(getRun(runId), (run) =>
        new RunHeld({
          runId,
          holder: Option.match(run, { onNone: () => "(unknown)", onSome: (r) => r.leaseHolder ?? whenNone }),
          expiresAt: Option.match(run, { onNone: () => 0, onSome: (r) => r.leaseExpiresAt ?? 0 })
        }))

    const service: Service = {
      location,
      create: (run: NewRun) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          yield* guard(sql`INSERT INTO orchestrate_runs ${
            sql.insert({
              run_id: run.runId,
              workflow: run.workflow,
              title: run.title,
              task: run.task,
              fingerprint: run.fingerprint,
              identity: run.identity,
              launch: run.launch ?? null,
              status: "running",
              created_at: now,
              updated_at: now
            })
          } ON CONFLICT (run_id) DO NOTHING`)
          return Option.getOrThrow(yield* getRun(run.runId))
        }),
      get: getRun,
      list: Effect.map(
        guard(sql<Row>`SELECT run_id, workflow, title, task, fingerprint, '' AS identity, status, progress, cost, agents,
          created_at, updated_at, lease_holder, lease_expires, NULL AS result, NULL AS launch
          FROM orchestrate_runs ORDER BY updated_at DESC, run_id`),
        (rows) => rows.map((row): RunInfo => toRun(row))
      ),
      acquire: (runId, holder, ttlMillis, takeOverFrom) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const taken = yield* guard(sql<Row>`UPDATE orchestrate_runs
            SET lease_holder = ${holder}, lease_expires = ${now + ttlMillis}
            WHERE run_id = ${runId}
              AND (lease_holder IS NULL OR lease_holder = ${holder} OR lease_holder = ${takeOverFrom ?? holder}
                OR lease_expires < ${now})
            RETURNING run_id`)
          if (taken.length > 0) return
          return yield* heldBy(runId, "(unknown)")
        }),
      renew: (runId, holder, ttlMillis) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const renewed = yield* guard(sql<Row>`UPDATE orchestrate_runs SET lease_expires = ${now + ttlMillis}
            WHERE run_id = ${runId} AND lease_holder = ${holder} RETURNING run_id`)
          if (renewed.length === 0) return yield* heldBy(runId, nobody)
        }),
      release: (runId, holder) =>
        guard(sql`UPDATE orchestrate_runs SET lease_holder = NULL, lease_expires = NULL
          WHERE run_id = ${runId} AND lease_holder = ${holder}`).pipe(Effect.asVoid),
      steps: (runId) =>
        Effect.map(
          guard(sql<Row>`SELECT step_key, kind, record FROM orchestrate_steps WHERE run_id = ${runId}`),
          (rows) => rows.map((row): StepRecord => ({ key: String(row.step_key), kind: String(row.kind), record: String(row.record) }))
        ),
      append: (runId, batch: Batch) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          // The lease is checked first, so that a process that lost it writes nothing more. (Not one transaction:
          // a takeover needs the lease expired, which a write of a few milliseconds does not outlast.)
          const updated = yield* guard(
            batch.holder === undefined
              ? sql<Row>`UPDATE orchestrate_runs SET progress = ${batch.progress}, cost = ${batch.cost},
                agents = ${batch.agents}, updated_at = ${now} WHERE run_id = ${runId} RETURNING run_id`
              : sql<Row>`UPDATE orchestrate_runs SET progress = ${batch.progress}, cost = ${batch.cost},
                agents = ${batch.agents}, updated_at = ${now} WHERE run_id = ${runId} AND lease_holder = ${batch.holder}
                RETURNING run_id`
          )
          if (batch.holder !== undefined && updated.length === 0) return yield* heldBy(runId, nobody)
          for (const part of chunks(batch.steps)) {
            yield* guard(sql`INSERT INTO orchestrate_steps ${
              sql.insert(part.map((step) => ({ run_id: runId, step_key: step.key, kind: step.kind, record: step.record })))
            } ON CONFLICT DO NOTHING`)
          }
          for (const part of chunks(batch.events)) {
            yield* guard(sql`INSERT INTO orchestrate_events ${
              sql.insert(part.map((event) => ({ run_id: runId, seq: event.sequence, event: event.json })))
            } ON CONFLICT DO NOTHING`)
          }
        }),
      setStatus: (runId, status, result) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          guard(
            result === undefined
              ? sql`UPDATE orchestrate_runs SET status = ${status}, updated_at = ${now} WHERE run_id = ${runId}`
              : sql`UPDATE orchestrate_runs SET status = ${status}, result = ${result}, updated_at = ${now}
                WHERE run_id = ${runId}`
          )).pipe(Effect.asVoid),
      events: (runId, afterSequence) =>
        Effect.map(
          guard(sql<Row>`SELECT seq, event FROM orchestrate_events WHERE run_id = ${runId} AND seq > ${afterSequence}
            ORDER BY seq`),
          (rows) => rows.map((row): StoredEvent => ({ sequence: num(row.seq), json: String(row.event) }))
        ),
      lastSequence: (runId) =>
        Effect.map(
          guard(sql<Row>`SELECT MAX(seq) AS seq FROM orchestrate_events WHERE run_id = ${runId}`),
          (rows) => num(rows[0]?.seq)
        ),
      requestApproval: (runId, step, prompt) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          yield* guard(sql`INSERT INTO orchestrate_approvals ${
            sql.insert({ run_id: runId, step, prompt, requested_at: now })
          } ON CONFLICT DO NOTHING`)
          const rows = yield* guard(sql<Row>`SELECT * FROM orchestrate_approvals WHERE run_id = ${runId} AND step = ${step}`)
          return toApproval(rows[0]!)
        }),
      approval: (runId, step) =>
        Effect.map(
          guard(sql<Row>`SELECT * FROM orchestrate_approvals WHERE run_id = ${runId} AND step = ${step}`),
          (rows) => Option.map(Option.fromNullable(rows[0]), toApproval)
        ),
      approvals: (runId) =>
        Effect.map(
          guard(sql<Row>`SELECT * FROM orchestrate_approvals WHERE run_id = ${runId} ORDER BY requested_at, step`),
          (rows) => rows.map(toApproval)
        ),
      decide: (runId, step, decision) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const updated = yield* guard(sql<Row>`UPDATE orchestrate_approvals
            SET decision = ${decision.approved ? "approved" : "rejected"}, note = ${decision.note ?? null},
              decided_at = ${now}
            WHERE run_id = ${runId} AND step = ${step} AND decision IS NULL
            RETURNING step`)
          if (updated.length > 0) return
          const waiting = yield* guard(sql<Row>`SELECT step FROM orchestrate_approvals
            WHERE run_id = ${runId} AND decision IS NULL ORDER BY step`)
          return yield* new ApprovalNotFound({ runId, step, waiting: waiting.map((row) => String(row.step)) })
        })
    }
    return service
  })
