/**
 * Durable overhead: the W1 workload (zero-latency simulated agents, concurrency 100) run durably on the
 * embedded SQLite store and on Postgres on loopback, beside the same run without durability; the difference
 * per agent is what recording the run costs.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir, userInfo } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Layer, Scope } from "effect"
import { Orchestrator, Provider, RunStore, type SubTask, Workflow } from "multi-agent-orchestration"
import { makeSubTasks } from "./throughput.js"

const workflowOf = (subtasks: ReadonlyArray<SubTask.SubTask>) =>
  Workflow.make({
    name: "throughput",
    decompose: () => Effect.succeed(subtasks),
    execute: (subtask) =>
      Effect.map(Provider.complete({ prompt: subtask.description, maxTokens: 50 }), (completion) => completion.content),
    synthesize: (results) => Effect.succeed(`${results.length} results`)
  })

const config = { maxConcurrentAgents: 100, primaryModel: "gpt-4o-mini", maxRetries: 2, timeoutSeconds: 300 }

let runs = 0

/** Milliseconds for one run of `n` agents; durable when a store layer is given (the store opened beforehand). */
const timeRun = async (n: number, store: Layer.Layer<RunStore.RunStore> | undefined): Promise<number> => {
  const workflow = workflowOf(makeSubTasks(n))
  let events = 0
  const onEvent = () => {
    events++
  }
  const runId = `bench-${process.pid}-${++runs}`
  const program = store === undefined
    ? Effect.flatMap(Effect.sync(() => performance.now()), (started) =>
      Effect.map(Orchestrator.run(workflow, "throughput", { config, onEvent }), () => performance.now() - started))
    : Effect.flatMap(Effect.sync(() => performance.now()), (started) =>
      Effect.map(Orchestrator.run(workflow, "throughput", { config, onEvent, durable: { runId } }), () => performance.now() - started))
  return Effect.runPromise(
    Effect.provide(program, store === undefined ? Provider.simulated() : Layer.merge(Provider.simulated(), store)) as Effect.Effect<number>
  )
}

const median = (values: Array<number>) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** Runs with and without the store, alternating, and reports the median difference per agent. */
const overhead = async (label: string, store: Layer.Layer<RunStore.RunStore>, n: number, samples: number) => {
  const plain: Array<number> = []
  const durable: Array<number> = []
  for (let i = 0; i < samples; i++) {
    plain.push(await timeRun(n, undefined))
    durable.push(await timeRun(n, store))
  }
  const perAgent = (median(durable) - median(plain)) / n
  console.log(
    `durable ${label.padEnd(8)} ${String(n).padStart(6)} agents | plain ${median(plain).toFixed(0)} ms | durable ${
      median(durable).toFixed(0)
    } ms | overhead ${perAgent.toFixed(3)} ms/agent`
  )
  return perAgent
}

/** A throwaway Postgres on loopback from Debian's binaries, if they are installed. */
export const startPostgres = (): { url: string; stop: () => void } | undefined => {
  const bin = existsSync("/usr/lib/postgresql")
    ? readdirSync("/usr/lib/postgresql").sort().reverse().map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) =>
      existsSync(join(d, "initdb"))
    )
    : undefined
  if (bin === undefined) return undefined
  const dir = mkdtempSync(join(tmpdir(), "bench-pg-"))
  const root = userInfo().uid === 0
  if (root) {
    chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString()), Number(execFileSync("id", ["-g", "postgres"]).toString()))
  }
  const run = (command: string, args: Array<string>) => {
    const result = root
      ? spawnSync("runuser", ["-u", "postgres", "--", join(bin, command), ...args], { encoding: "utf8" })
      : spawnSync(join(bin, command), args, { encoding: "utf8" })
    if (result.status !== 0) throw new Error(`${command}: ${result.stderr}`)
  }
  const port = 20000 + (process.pid % 20000)
  run("initdb", ["-D", join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync"])
  run("pg_ctl", ["-D", join(dir, "data"), "-l", join(dir, "log"), "-w", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, "start"])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      run("pg_ctl", ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"])
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export const runDurableBench = async () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-sqlite-"))
  const sqlite = await openStoreKeep(RunStore.layerSqlite({ filename: join(dir, "runs.db") }))
  await timeRun(1000, sqlite.layer) // warm-up
  const results: Record<string, number> = {}
  results["sqlite 1000"] = await overhead("SQLite", sqlite.layer, 1000, 5)
  results["sqlite 10000"] = await overhead("SQLite", sqlite.layer, 10_000, 3)
  await sqlite.close()
  rmSync(dir, { recursive: true, force: true })
  const postgres = startPostgres()
  if (postgres === undefined) {
    console.log("durable Postgres: skipped, no PostgreSQL binaries on this machine")
  } else {
    try {
      const pg = await openStoreKeep(RunStore.layerPostgres({ url: postgres.url }))
      await timeRun(1000, pg.layer)
      results["postgres 1000"] = await overhead("Postgres", pg.layer, 1000, 5)
      results["postgres 10000"] = await overhead("Postgres", pg.layer, 10_000, 3)
      await pg.close()
    } finally {
      postgres.stop()
    }
  }
  return results
}

/** Opens a store and keeps it open until `close`. */
const openStoreKeep = async (layer: Layer.Layer<RunStore.RunStore, unknown>) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(layer, scope))
  return {
    layer: Layer.succeedContext(context),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

