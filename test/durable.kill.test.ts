/**
 * Kill tests: a seeded simulated Dream Cascade runs durably in a child process, is killed with SIGKILL at a
 * seeded random moment, and is run again on the same run id, which resumes it. The final result must equal
 * an uninterrupted run's, and the resumed process must call the provider exactly for the steps the store did
 * not have: a finished, recorded step is never paid twice.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { RunStore } from "multi-agent-orchestration"
import { bundleFixture, type Finished, limited, runFixture, seeded } from "./durableProcess.js"
import { freshDatabase, type Postgres, startPostgres } from "./postgres.js"

/** Provider calls recorded in the store for a run: the calls a resume will not make again. */
const recordedCalls = (location: string, runId: string) =>
  Effect.gen(function*() {
    const store = yield* RunStore.RunStore
    const steps = yield* store.steps(runId)
    return steps.reduce((sum, step) => sum + (JSON.parse(step.record) as { calls: Array<unknown> }).calls.length, 0)
  }).pipe(Effect.provide(RunStore.layer(location)), Effect.scoped, Effect.runPromise)

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
}

/** `kills` runs of kill-then-resume against the stores `storeFor(i)` gives; asserts and reports. */
export const killAndResume = async (
  options: { readonly kills: number; readonly seed: number; readonly parallel: number; readonly storeFor: (i: number) => string }
): Promise<KillReport> => {
  const bundle = await fixture()
  const dir = mkdtempSync(join(tmpdir(), "durable-kill-"))
  const baseline = await runFixture(bundle, [join(dir, "baseline.db"), "baseline", String(options.seed), "--plain"])
  assert.strictEqual(baseline.code, 0, baseline.stderr)
  const expected = comparable(baseline.result)!
  assert.strictEqual(expected.status, "completed")
  const total = baseline.result!.calls
  const random = seeded(options.seed * 1000 + options.kills)
  const plans = Array.from({ length: options.kills }, (_, i) => ({ i, killAfter: 1 + random(total - 1) }))
  const excess = await limited(plans, options.parallel, async ({ i, killAfter }) => {
    const store = options.storeFor(i)
    const runId = `kill-${i}`
    const args = [store, runId, String(options.seed)]
    const killed = await runFixture(bundle, args, { killAfterCalls: killAfter })
    const recorded = await recordedCalls(store, runId)
    const resumed = await runFixture(bundle, args)
    assert.strictEqual(resumed.code, 0, `kill ${i}: ${resumed.stderr}`)
    assert.deepStrictEqual(comparable(resumed.result), expected, `kill ${i} after ${killAfter} calls`)
    if (killed.signal === "SIGKILL") {
      // Exactly the steps missing from the store ran again.
      assert.strictEqual(resumed.result!.calls, total - recorded, `kill ${i}: calls after the restart`)
      assert.strictEqual(resumed.result!.durable?.resumedCost !== undefined, true)
    }
    // The calls paid twice: started in the killed process (in flight, or answered but not yet written).
    return killed.calls + resumed.result!.calls - total
  })
  return { kills: options.kills, excess }
}

describe("durable runs survive SIGKILL", () => {
  it("SQLite: 20 kills at random moments, each resumed to the uninterrupted result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "durable-sqlite-"))
    const report = await killAndResume({ kills: 20, seed: 7, parallel: 4, storeFor: (i) => join(dir, `runs-${i}.db`) })
    const max = Math.max(...report.excess)
    const sum = report.excess.reduce((a, b) => a + b, 0)
    console.log(`SQLite kill tests: calls paid twice per kill: max ${max}, mean ${(sum / report.kills).toFixed(2)} (${report.excess.join(" ")})`)
  }, 300_000)
})

describe("durable runs on Postgres", () => {
  let postgres: Postgres
  beforeAll(async () => {
    postgres = await startPostgres()
  }, 120_000)
  afterAll(() => postgres?.stop())

  it("Postgres: 8 kills at random moments, each resumed to the uninterrupted result", async () => {
    const url = freshDatabase(postgres, "kills")
    const report = await killAndResume({ kills: 8, seed: 11, parallel: 4, storeFor: () => url })
    const max = Math.max(...report.excess)
    const sum = report.excess.reduce((a, b) => a + b, 0)
    console.log(`Postgres kill tests: calls paid twice per kill: max ${max}, mean ${(sum / report.kills).toFixed(2)} (${report.excess.join(" ")})`)
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
