/**
 * Runs spread over runner processes: a real Postgres on 127.0.0.1, three runner child processes, and
 * submitters in child processes too, so that SIGKILL and SIGTERM hit real processes.
 */
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { bundleClusterFixture, freePort, type Runner, startRunner, submit, type Submitted } from "./clusterProcess.js"
import { type Postgres, startPostgres } from "./postgres.js"

let pg: Postgres
let bundle: string
const runners: Array<Runner> = []
const latency = 200

/** Starts runners until `count` are alive. */
const keepRunners = async (count: number) => {
  for (let i = runners.length - 1; i >= 0; i--) if (runners[i]!.child.exitCode !== null || runners[i]!.child.signalCode !== null) runners.splice(i, 1)
  while (runners.length < count) runners.push(await startRunner(bundle, pg.url, await freePort(), { maxConcurrent: 10, latency }))
}

/** Every subtask has exactly one result, completed, and was reported complete once. */
const assertEachOnce = (result: Submitted, n: number) => {
  assert.strictEqual(result.status, "completed", result.error)
  assert.strictEqual(result.agents.length, n)
  assert.deepStrictEqual(new Set(result.agents.map((a) => a.agentId)).size, n)
  assert.deepStrictEqual(result.agents.filter((a) => a.status !== "completed").map((a) => `${a.agentId}: ${a.errorTag}`), [])
  assert.deepStrictEqual(Object.values(result.completions).filter((times) => times !== 1), [])
  assert.strictEqual(Object.keys(result.completions).length, n)
}

const stopAll = async () => {
  for (const runner of runners) runner.child.kill("SIGKILL")
  await Promise.all(runners.map((runner) => runner.exited))
  runners.length = 0
}

beforeAll(async () => {
  ;[pg, bundle] = await Promise.all([startPostgres(), bundleClusterFixture()])
  await keepRunners(3)
}, 120_000)

afterAll(async () => {
  await stopAll()
  pg?.stop()
}, 60_000)

describe("a run on three runners", () => {
  it("gives the local run's result, with every runner doing part of the work", async () => {
    const [cluster, local] = await Promise.all([
      submit(bundle, pg.url, [300, latency, 7, 300]),
      submit(bundle, pg.url, [300, 0, 7, 300, "local-run", "local"])
    ])
    assert.isDefined(cluster.result, cluster.stderr)
    assert.isDefined(local.result, local.stderr)
    assertEachOnce(cluster.result!, 300)
    assert.deepStrictEqual(cluster.result!.agents, local.result!.agents)
    assert.strictEqual(cluster.result!.finalSynthesis, local.result!.finalSynthesis)
    assert.deepStrictEqual(cluster.result!.usage, local.result!.usage)
    const perRunner = new Map<string, number>()
    for (const runner of Object.values(cluster.result!.runners)) perRunner.set(runner, (perRunner.get(runner) ?? 0) + 1)
    assert.deepStrictEqual([...perRunner.keys()].sort(), runners.map((r) => r.address).sort())
    // Evenly: no runner holds the run up with more than its share.
    assert.isAtMost(Math.max(...perRunner.values()) - Math.min(...perRunner.values()), 3)
    assert.strictEqual(Object.keys(cluster.result!.runners).length, 300)
  }, 120_000)

  it("streams each agent's tokens from its runner as they are written, none lost", async () => {
    await keepRunners(3)
    const before = runners.map((runner) => runner.calls().length)
    // Calls of a second: the runners write each reply a word at a time over it.
    const outcome = await submit(bundle, pg.url, [3, 1000, 23, 3], undefined, { STREAM: "1" })
    assert.isDefined(outcome.result, outcome.stderr)
    const result = outcome.result!
    assertEachOnce(result, 3)
    // The first call of the run to end on any runner ended after every agent's first delta had reached the
    // submitter: the deltas came while the calls were being written, not with the replies.
    const ends = runners.flatMap((runner, i) => runner.calls().slice(before[i]).filter(([, change]) => change === -1).map(([at]) => at))
    assert.strictEqual(ends.length, 3)
    const firstEnd = ends.reduce((a, b) => (a < b ? a : b))
    for (const agent of result.agents) {
      const deltas = result.deltas[agent.agentId]
      assert.isDefined(deltas, agent.agentId)
      assert.isAbove(deltas!.count, 1)
      assert.isBelow(Number(BigInt(deltas!.first) - firstEnd), 0, `${agent.agentId}'s first delta came after a call ended`)
      // Joined, the deltas are the agent's answer.
      assert.strictEqual(deltas!.text, agent.content)
      assert.strictEqual(deltas!.restarts, 0)
    }
  }, 60_000)

  it("starts an agent's streamed text again when its runner is killed mid-answer, losing and doubling nothing", async () => {
    await keepRunners(3)
    const before = runners.map((runner) => runner.calls().length)
    // Calls of 2 s on the runners, each written a word at a time.
    const run = submit(bundle, pg.url, [3, 0, 29, 3], undefined, { STREAM: "1", SLOW: "1" })
    // Killed a little after one of its calls of this run started, while that call is writing.
    const victim = await new Promise<Runner>((resolve) => {
      const poll = setInterval(() => {
        const busy = runners.find((runner, i) => runner.calls().length > before[i]!)
        if (busy !== undefined) {
          clearInterval(poll)
          setTimeout(() => resolve(busy), 500)
        }
      }, 20)
    })
    victim.child.kill("SIGKILL")
    const outcome = await run
    assert.isDefined(outcome.result, outcome.stderr)
    const result = outcome.result!
    assertEachOnce(result, 3)
    for (const agent of result.agents) assert.strictEqual(result.deltas[agent.agentId]?.text, agent.content, agent.agentId)
    // The agents the victim held started again elsewhere, and said so.
    const restarted = result.agents.filter((agent) => result.deltas[agent.agentId]!.restarts > 0)
    assert.isAbove(restarted.length, 0)
    for (const agent of restarted) assert.notStrictEqual(result.runners[agent.agentId], victim.address)
    await keepRunners(3)
  }, 60_000)

  it("completes every subtask once when a runner is killed with SIGKILL mid-run, in each of five runs", async () => {
    // Five runs, each killing a runner at another moment after its first agent of the run started.
    for (const [i, delay] of [100, 300, 500, 700, 900].entries()) {
      await keepRunners(3)
      const victim = runners[i % 3]!
      const run = submit(bundle, pg.url, [150, latency, i + 1, 300])
      // Killed once it has started agents of this run, at a different moment each time.
      const before = victim.agents()
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (victim.agents() > before) {
            clearInterval(poll)
            setTimeout(resolve, delay)
          }
        }, 20)
      })
      victim.child.kill("SIGKILL")
      const outcome = await run
      assert.isDefined(outcome.result, outcome.stderr)
      assertEachOnce(outcome.result!, 150)
      assert.notInclude(Object.values(outcome.result!.runners).slice(-10), victim.address)
    }
    await keepRunners(3)
  }, 120_000)

  it("loses no agent when a runner leaves on SIGTERM mid-run", async () => {
    await keepRunners(3)
    const leaving = runners[0]!
    const run = submit(bundle, pg.url, [150, latency, 11, 300])
    const before = leaving.agents()
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (leaving.agents() > before + 5) {
          clearInterval(poll)
          resolve()
        }
      }, 20)
    })
    leaving.child.kill("SIGTERM")
    const [outcome, code] = await Promise.all([run, leaving.exited])
    assert.strictEqual(code, 0)
    assert.isDefined(outcome.result, outcome.stderr)
    assertEachOnce(outcome.result!, 150)
    await keepRunners(3)
  }, 120_000)

  it("is resumed by another process when the submitter is killed", async () => {
    await keepRunners(3)
    const runId = "cluster-resume-1"
    // Killed once agents of the run have finished (and are journaled), while most are still to do.
    const first = submit(bundle, pg.url, [200, latency, 13, 20, runId], (child) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("first agent done")) setTimeout(() => child.kill("SIGKILL"), 600)
      })
    })
    const killed = await first
    assert.strictEqual(killed.signal, "SIGKILL")
    assert.isUndefined(killed.result)
    // Another process continues the run once the dead one's lease expires.
    const resumed = await submit(bundle, pg.url, [200, latency, 13, 20, runId, "resume"])
    assert.isDefined(resumed.result, resumed.stderr)
    assertEachOnce(resumed.result!, 200)
    // It continued the run: what finished before the kill was replayed, not run again.
    const replayed = resumed.result!.durable?.replayedSteps ?? 0
    assert.isTrue(resumed.result!.durable?.resumed)
    assert.isAbove(replayed, 1)
    assert.isBelow(replayed, 200)
    const local = await submit(bundle, pg.url, [200, 0, 13, 20, "local-resume", "local"])
    assert.deepStrictEqual(resumed.result!.agents, local.result!.agents)
  }, 120_000)
})

describe("limits across the cluster", () => {
  it("maxConcurrentAgents is one limit across all runners: 4 calls at most in flight on 3 runners that take 10 each", async () => {
    await keepRunners(3)
    const before = runners.map((runner) => runner.calls().length)
    const outcome = await submit(bundle, pg.url, [40, latency, 17, 4])
    assert.isDefined(outcome.result, outcome.stderr)
    assertEachOnce(outcome.result!, 40)
    // The runners' own record of when each call started and ended, merged on the machine's monotonic clock; an
    // end and a start at the same instant count the end first.
    const changes = runners.flatMap((runner, i) => runner.calls().slice(before[i]))
      .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x - y))
    assert.strictEqual(changes.filter(([, change]) => change === 1).length, 40)
    let inFlight = 0
    let most = 0
    for (const [, change] of changes) most = Math.max(most, (inFlight += change))
    assert.strictEqual(inFlight, 0)
    assert.strictEqual(most, 4)
    // And the four were spread over the runners, not held by one.
    assert.isAbove(new Set(Object.values(outcome.result!.runners)).size, 1)
  }, 60_000)

  it("maxTotalCost holds for the whole run: agents after the budget is spent do not start", async () => {
    await keepRunners(3)
    // Each swarm agent's call costs about $0.005 on gpt-4o here; 300 of them would cost about $1.50.
    const outcome = await submit(bundle, pg.url, [300, latency, 5, 30], undefined, { BUDGET: "0.2" })
    assert.isDefined(outcome.result, outcome.stderr)
    const result = outcome.result!
    assert.strictEqual(result.failureTag, "BudgetExceeded")
    const completed = result.agents.filter((a) => a.status === "completed").length
    const cancelled = result.agents.filter((a) => a.status === "cancelled").length
    assert.isAbove(completed, 0)
    assert.isAbove(cancelled, 100)
    // An overshoot of at most the calls in flight (30 at once) beyond the budget.
    const perAgent = result.totalCost / Math.max(1, completed)
    assert.isAtMost(result.totalCost, 0.2 + 30 * perAgent)
    assert.isAbove(result.totalCost, 0.2 - perAgent)
  }, 60_000)
})

describe("bad input", () => {
  it("fails fast with UnknownWorkflow when no runner knows the workflow", async () => {
    await keepRunners(1)
    const before = runners.reduce((sum, r) => sum + r.agents(), 0)
    const outcome = await submit(bundle, pg.url, [40, latency, 1, 5], undefined, { WORKFLOW: "own" })
    assert.isDefined(outcome.result, outcome.stderr)
    assert.strictEqual(outcome.result!.status, "failed")
    assert.include(outcome.result!.error, "does not know the workflow \"own-workflow\"")
    assert.deepStrictEqual(new Set(outcome.result!.agents.map((a) => a.errorTag)), new Set(["UnknownWorkflow"]))
    // No runner ran any of its agents.
    assert.strictEqual(runners.reduce((sum, r) => sum + r.agents(), 0), before)
  }, 60_000)

  it("a runner refuses an address another runner listens on", async () => {
    await keepRunners(1)
    const taken = Number(runners[0]!.address.split(":")[1])
    const error = await startRunner(bundle, pg.url, taken).then(() => undefined, (e: Error) => e.message)
    assert.include(error, "ListenAddressInUse")
    assert.include(error, `127.0.0.1:${taken}`)
    assert.include(error, "EADDRINUSE")
  }, 60_000)

  it("a runner and a submitter name the Postgres that does not answer", async () => {
    const nowhere = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`
    const error = await startRunner(bundle, nowhere, await freePort()).then(() => undefined, (e: Error) => e.message)
    assert.include(error, "ClusterUnavailable")
    assert.include(error, "no Postgres server answers")
    const outcome = await submit(bundle, nowhere, [3, 0, 1, 5])
    assert.strictEqual(outcome.code, 2)
    assert.include(outcome.stderr, "no Postgres server answers")
  }, 60_000)
})
