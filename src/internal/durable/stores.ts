/**
 * The SQL stores, loaded on first use: they import `@effect/sql` and a driver, which runs without durability
 * never load.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import type { SqlError } from "@effect/sql/SqlError"
import * as LibsqlClient from "@effect/sql-libsql/LibsqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as path from "node:path"
import { redactUrl } from "../providers/redact.js"
import { RunStoreError, type RunStoreTooNew, type Service } from "../../RunStore.js"
import * as SqlStore from "./sqlStore.js"

const causeText = (error: SqlError): string => {
  const cause = error.cause
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    return `${typeof code === "string" ? `${code} ` : ""}${cause.message}`
  }
  return cause === undefined ? error.message : String(cause)
}

const describeSqlite = (error: SqlError): string => {
  const text = causeText(error)
  if (/NOTADB|not a database|file is encrypted/i.test(text)) return `not a SQLite database (${text})`
  if (/READONLY|readonly/i.test(text)) return `the file is read-only (${text})`
  if (/CANTOPEN|unable to open/i.test(text)) return `cannot open the file (${text})`
  if (/CORRUPT|malformed/i.test(text)) return `the database is corrupt (${text})`
  return text
}

const describePostgres = (url: string) => (error: SqlError): string => {
  const text = causeText(error)
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|timeout|terminated|connect/i.test(text)) {
    return `no Postgres server answers at ${url} (${text})`
  }
  return text
}

/** The store file must be a writable file in a directory that exists (made when missing). */
const checkFile = (filename: string): Effect.Effect<void, RunStoreError> =>
  Effect.try({
    try: () => {
      fs.mkdirSync(path.dirname(path.resolve(filename)), { recursive: true })
      const stat = fs.statSync(filename, { throwIfNoEntry: false })
      if (stat === undefined) return undefined
      if (!stat.isFile()) return "it is not a file"
      // The permission bits are honoured even for root, which the file system would let write anyway.
      if ((stat.mode & 0o222) === 0) return "the file is read-only"
      return undefined
    },
    catch: (error) => new RunStoreError({ store: filename, reason: error instanceof Error ? error.message : String(error) })
  }).pipe(Effect.flatMap((problem) =>
    problem === undefined ? Effect.void : Effect.fail(new RunStoreError({ store: filename, reason: problem }))
  ))

export const sqlite = (filename: string): Effect.Effect<Service, RunStoreError | RunStoreTooNew, Scope.Scope> =>
  Effect.gen(function*() {
    yield* checkFile(filename)
    const sql = yield* LibsqlClient.make({ url: `file:${filename}`, intMode: "bigint" }).pipe(
      Effect.provide(Reactivity.layer)
    )
    const fail = (error: SqlError) => new RunStoreError({ store: filename, reason: describeSqlite(error) })
    // WAL keeps a committed write through a kill -9; NORMAL sync skips the fsync per commit that only a power
    // loss would need. The busy timeout lets two processes share the file.
    yield* Effect.mapError(sql`PRAGMA busy_timeout = 5000`, fail)
    yield* Effect.mapError(sql`PRAGMA journal_mode = WAL`, fail)
    const store = yield* SqlStore.make(sql, filename, describeSqlite)
    // Migrations ran in a transaction, after which the driver opens a fresh connection: set it up again.
    yield* Effect.mapError(sql`PRAGMA busy_timeout = 5000`, fail)
    yield* Effect.mapError(sql`PRAGMA synchronous = NORMAL`, fail)
    return store
  })

export const postgres = (url: string): Effect.Effect<Service, RunStoreError | RunStoreTooNew, Scope.Scope> =>
  Effect.gen(function*() {
    const location = redactUrl(url)
    const describe = describePostgres(location)
    const sql = yield* PgClient.make({ url: Redacted.make(url), connectTimeout: Duration.seconds(5) }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.mapError((error) => new RunStoreError({ store: location, reason: describe(error) }))
    )
    return yield* SqlStore.make(sql, location, describe)
  })
