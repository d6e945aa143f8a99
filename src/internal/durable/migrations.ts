import type * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

/** The table @effect/sql's migrator keeps its versions in. */
export const migrationsTable = "orchestrate_migrations"

/** Each migration by id; the ids are the schema versions. Written in SQL that SQLite and Postgres both take. */
export const migrations = (sql: SqlClient.SqlClient): Record<string, Effect.Effect<void, unknown>> => ({
  "1_runs": Effect.gen(function*() {
    yield* sql`CREATE TABLE orchestrate_runs (
      run_id TEXT PRIMARY KEY,
      workflow TEXT NOT NULL,
      title TEXT NOT NULL,
      task TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      identity TEXT NOT NULL,
      status TEXT NOT NULL,
      progress DOUBLE PRECISION NOT NULL DEFAULT 0,
      cost DOUBLE PRECISION NOT NULL DEFAULT 0,
      agents BIGINT NOT NULL DEFAULT 0,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      lease_holder TEXT,
      lease_expires BIGINT,
      result TEXT
    )`
    yield* sql`CREATE TABLE orchestrate_steps (
      run_id TEXT NOT NULL,
      step_key TEXT NOT NULL,
      kind TEXT NOT NULL,
      record TEXT NOT NULL,
      PRIMARY KEY (run_id, step_key)
    )`
    yield* sql`CREATE TABLE orchestrate_events (
      run_id TEXT NOT NULL,
      seq BIGINT NOT NULL,
      event TEXT NOT NULL,
      PRIMARY KEY (run_id, seq)
    )`
    yield* sql`CREATE TABLE orchestrate_approvals (
      run_id TEXT NOT NULL,
      step TEXT NOT NULL,
      prompt TEXT NOT NULL,
      requested_at BIGINT NOT NULL,
      decision TEXT,
      note TEXT,
      decided_at BIGINT,
      PRIMARY KEY (run_id, step)
    )`
  }),
  // How the run was started (the CLI's command line), so that `orchestrate resume` can start it again.
  "2_launch": Effect.asVoid(sql`ALTER TABLE orchestrate_runs ADD COLUMN launch TEXT`)
})

/** The newest schema version this library knows. */
export const schemaVersion = 2
