/**
 * Kill tests: a seeded simulated Dream Cascade runs durably in a child process, is killed with SIGKILL at a
 * seeded random moment, and the run is continued on the same run id in another process (the test's, running
 * the same bundled code, which spares a second process start per kill). The final result must equal an
 * uninterrupted run's, and the resume must call the provider exactly for the steps the store did not have: a
 * finished, recorded step is never paid twice.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { bundleFixture, type Finished, importFixture, limited, runFixture, seeded } from "./durableProcess.js"
import { freshDatabase, type Postgres, startPostgres } from "./postgres.js"

const comparable = (result: Finished | undefined) =>
  result === undefined
    ? undefined
    : { status: result.status, finalSynthesis: result.finalSynthesis, agents: result.agents, usage: result.usage }

let bundled: Promise<string> | undefined
const fixture = () => (bundled ??= bundleFixture())

export interface KillReport {
  readonly kills: number
  /** Calls made twice: answered or in flight in the killed process, but not recorded. */
  readonly excess: ReadonlyArray<number>
  /** Calls each run had started when its process was killed (0: not started yet; the total: already finished). */
  readonly cuts: ReadonlyArray<number>
}

/**
 * `kills` runs of kill-then-resume. Each killed process runs `perProcess` of them at once, with distinct run ids,
 * each started a seeded random number of calls after the one before; the SIGKILL comes once the last has
 * started and the first has made a seeded random number of calls (and a few random milliseconds), so that it
 * cuts each run at its own point; `storeFor(p)`
 * gives process p's store. Asserts, for every run, the uninterrupted result and the calls of the resume.
 */
export const killAndResume = async (options: {
  readonly kills: number
  readonly perProcess: number
  readonly seed: number
  readonly parallel: number
  /** Stretches the provider's latency, so that each run starts (past its store's setup) well before the first ends. */
  readonly slow: number
  readonly storeFor: (process: number) => string
}): Promise<KillReport> => {
  const bundle = await fixture()
  const inProcess = await importFixture(bundle)
  const dir = mkdtempSync(join(tmpdir(), "durable-kill-"))
  const [baseline] = await inProcess.runAll({ store: join(dir, "baseline.db"), runs: [{ runId: "baseline" }], seed: options.seed, plain: true })
  const expected = comparable(baseline)!
  assert.strictEqual(expected.status, "completed")
  const total = baseline!.calls
  const random = seeded(options.seed * 1000 + options.kills)
  const plans = Array.from({ length: Math.ceil(options.kills / options.perProcess) }, (_, p) => {
    let after = 0
    const runs = Array.from({ length: Math.min(options.perProcess, options.kills - p * options.perProcess) }, (_, j) => ({
      runId: `kill-${p * options.perProcess + j}`,
      after: j === 0 ? 0 : (after += 1 + random(2))
    }))
    return { p, runs, firstAfter: 1 + random(total - 1), delay: random(15) }
  })
  const perRun = await limited(plans, options.parallel, async ({ delay, firstAfter, p, runs }) => {
    const store = options.storeFor(p)
    const spec = runs.map((run) => `${run.runId}@${run.after}`).join(",")
    const first = runs[0]!.runId
    const last = runs.at(-1)!.runId
    // The process kills itself at the point asked, so that a busy test process reading its output late does
    // not move the kill.
    const killed = await runFixture(bundle, [store, spec, String(options.seed)], {
      env: { KILL_WHEN: `${first}:${firstAfter},${last}:1`, KILL_DELAY: String(delay), SLOW: String(options.slow) }
    })
    assert.strictEqual(killed.signal, "SIGKILL", `process ${p}: ${killed.stderr}`)
    const recorded: Array<number> = []
    for (const { runId } of runs) recorded.push(await inProcess.recordedCalls(store, runId))
    const resumed = await inProcess.runAll({ store, runs: runs.map(({ runId }) => ({ runId })), seed: options.seed })
    return runs.map(({ runId }, j) => {
      const before = killed.callsOf.get(runId) ?? 0
      const what = `${runId}, killed after ${before} of its calls`
      assert.deepStrictEqual(comparable(resumed[j]), expected, what)
      // Exactly the steps missing from the store ran again (none when the run had ended before the kill landed).
      assert.strictEqual(resumed[j]!.calls, total - recorded[j]!, `${what}: calls after the restart`)
      if (resumed[j]!.calls > 0) assert.strictEqual(resumed[j]!.durable?.resumedCost !== undefined, true)
      // The calls paid twice: started in the killed process (in flight, or answered but not yet written).
      return { excess: before + resumed[j]!.calls - total, cut: before }
    })
  })
  const all = perRun.flat()
  return { kills: options.kills, excess: all.map((r) => r.excess), cuts: all.map((r) => r.cut) }
}

const summary = (name: string, report: KillReport) => {
  const max = Math.max(...report.excess)
  const mean = report.excess.reduce((a, b) => a + b, 0) / report.kills
  console.log(`${name} kill tests: calls paid twice per kill: max ${max}, mean ${mean.toFixed(2)} (${report.excess.join(" ")}); calls started before each kill: ${report.cuts.join(" ")}`)
}

describe("durable runs survive SIGKILL", () => {
  it("SQLite: 20 kills at random moments, each resumed to the uninterrupted result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "durable-sqlite-"))
    const report = await killAndResume({ kills: 20, perProcess: 4, seed: 7, parallel: 2, slow: 2, storeFor: (p) => join(dir, `runs-${p}.db`) })
    summary("SQLite", report)
  }, 300_000)
})

describe("durable runs on Postgres", () => {
  let postgres: Postgres
  beforeAll(async () => {
    postgres = await startPostgres()
  }, 120_000)
  afterAll(() => postgres?.stop())

  it("Postgres: 20 kills at random moments, each resumed to the uninterrupted result", async () => {
    const url = freshDatabase(postgres, "kills")
    const report = await killAndResume({ kills: 20, perProcess: 4, seed: 11, parallel: 2, slow: 4, storeFor: () => url })
    summary("Postgres", report)
  }, 300_000)

  it("two processes resuming one run: one runs it, the other is told who holds it", async () => {
    const url = freshDatabase(postgres, "race")
    const bundle = await fixture()
    const slow = { env: { SLOW: "40" } }
    const args = [url, "raced", "3"]
    const [a, b] = await Promise.all([runFixture(bundle, args, slow), runFixture(bundle, args, slow)])
    const winner = a.code === 0 ? a : b
    const loser = a.code === 0 ? b : a
    assert.strictEqual(winner.code, 0, winner.stderr)
    assert.strictEqual(winner.result?.status, "completed")
    assert.strictEqual(loser.code, 2, loser.stdout)
    assert.match(loser.stderr, /RunHeld|is held by/)
    assert.strictEqual(loser.calls, 0)
  }, 120_000)
})
