/** `orchestrate runner` and `--cluster` as a user runs them: real processes, a real Postgres on 127.0.0.1. */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freePort } from "./clusterProcess.js"
import { type Postgres, startPostgres } from "./postgres.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const bin = join(root, "src/bin/orchestrate.ts")

const env = () => {
  const values: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: "1",
    ORCHESTRATE_CLUSTER_LOCK_MS: "3000",
    ORCHESTRATE_CLUSTER_REFRESH_MS: "500"
  }
  for (const name of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL"]) delete values[name]
  return values
}

interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const orchestrate = (args: ReadonlyArray<string>, onStart?: (child: ChildProcess, stderr: () => string) => void): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", bin, ...args], { cwd: root, env: env(), stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    onStart?.(child, () => stderr)
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

let pg: Postgres
let runner: ChildProcess
let runnerExit: Promise<Outcome>
let address: string

beforeAll(async () => {
  pg = await startPostgres()
  address = `127.0.0.1:${await freePort()}`
  let ready: () => void
  const started = new Promise<void>((resolve) => (ready = resolve))
  runnerExit = orchestrate(["runner", "--store", pg.url, "--listen", address, "--provider", "simulated"], (child, stderr) => {
    runner = child
    child.stderr!.on("data", () => {
      if (stderr().includes("takes work")) ready()
    })
  })
  await Promise.race([started, runnerExit.then((outcome) => Promise.reject(new Error(outcome.stderr)))])
}, 120_000)

afterAll(() => {
  runner?.kill("SIGKILL")
  pg?.stop()
}, 30_000)

describe("orchestrate on a cluster", () => {
  it("runs a swarm's agents on the runner, and names the runner in each agent_complete event", async () => {
    const events = join(mkdtempSync(join(tmpdir(), "cluster-cli-")), "events.jsonl")
    const outcome = await orchestrate([
      "swarm", "Research cluster schedulers", "--agents", "12", "--max-parallel", "12",
      "--provider", "simulated", "--cluster", pg.url, "--events", events, "--quiet"
    ])
    assert.strictEqual(outcome.code, 0, outcome.stderr)
    const completed = readFileSync(events, "utf8").trim().split("\n").map((line) => JSON.parse(line) as {
      type: string
      data: { runner?: string }
    }).filter((event) => event.type === "agent_complete")
    assert.strictEqual(completed.length, 12)
    assert.deepStrictEqual([...new Set(completed.map((event) => event.data.runner))], [address])
  }, 90_000)

  it("fails with exit 2 when no runner knows the workflow, naming it", async () => {
    const outcome = await orchestrate([
      "run", "test/fixtures/greeting-workflow.ts", "Say hello", "--provider", "simulated", "--cluster", pg.url
    ])
    assert.strictEqual(outcome.code, 2)
    assert.include(outcome.stdout + outcome.stderr, `Runner ${address} does not know the workflow "greeting"`)
  }, 90_000)

  it("exits 2 for a listen address in use and for a Postgres that does not answer", async () => {
    const nowhere = `postgres://postgres@127.0.0.1:${await freePort()}/postgres`
    const [taken, noRunnerStore, noSubmitStore] = await Promise.all([
      orchestrate(["runner", "--store", pg.url, "--listen", address]),
      orchestrate(["runner", "--store", nowhere, "--listen", `127.0.0.1:${await freePort()}`]),
      orchestrate(["cascade", "x", "--provider", "simulated", "--cluster", nowhere])
    ])
    assert.strictEqual(taken.code, 2)
    assert.include(taken.stderr, `Runner cannot listen on ${address}: EADDRINUSE`)
    assert.strictEqual(noRunnerStore.code, 2)
    assert.include(noRunnerStore.stderr, "no Postgres server answers")
    assert.strictEqual(noSubmitStore.code, 2)
    assert.include(noSubmitStore.stderr, "no Postgres server answers")
  }, 90_000)

  it("resume --cluster in another process completes a run whose submitter was killed, each subtask once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cluster-cli-"))
    const [firstEvents, resumedEvents] = [join(dir, "first.jsonl"), join(dir, "resumed.jsonl")]
    const task = "Survey cluster resumption"
    const swarm = ["--agents", "40", "--max-parallel", "4", "--provider", "simulated"]
    const completedIn = (file: string) =>
      (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter((line) => line !== "") : [])
        .map((line) => JSON.parse(line) as { type: string; agentId?: string; data: { runner?: string } })
        .filter((event) => event.type === "agent_complete")
    // Killed with SIGKILL once some agents are done on the runner and most are still to do.
    const first = orchestrate(
      ["swarm", task, ...swarm, "--cluster", pg.url, "--store", pg.url, "--run-id", "cli-resume", "--events", firstEvents, "--quiet"],
      (child) => {
        const poll = setInterval(() => {
          if (completedIn(firstEvents).length >= 6) {
            clearInterval(poll)
            child.kill("SIGKILL")
          }
        }, 20)
        child.on("close", () => clearInterval(poll))
      }
    )
    const [killed, local] = await Promise.all([first, orchestrate(["swarm", task, ...swarm, "--json"])])
    assert.isNull(killed.code, killed.stderr)
    const doneBefore = completedIn(firstEvents)
    assert.isBelow(doneBefore.length, 40)
    assert.deepStrictEqual([...new Set(doneBefore.map((event) => event.data.runner))], [address])

    const resumed = await orchestrate(["resume", "cli-resume", "--store", pg.url, "--cluster", pg.url, "--events", resumedEvents, "--json"])
    assert.strictEqual(resumed.code, 0, resumed.stderr)
    const result = JSON.parse(resumed.stdout) as {
      status: string
      agentResults: Array<{ agentId: string; status: string; content: string }>
      metadata: { durable: { resumed: boolean; replayedSteps: number } }
    }
    assert.strictEqual(result.status, "completed")
    assert.isTrue(result.metadata.durable.resumed)
    // Each subtask once: agents recorded before the kill are replayed (no runner named), the others ran on the
    // runner now.
    const completed = completedIn(resumedEvents)
    assert.strictEqual(completed.length, 40)
    assert.strictEqual(new Set(completed.map((event) => event.agentId)).size, 40)
    const ranNow = completed.filter((event) => event.data.runner !== undefined)
    assert.deepStrictEqual([...new Set(ranNow.map((event) => event.data.runner))], [address])
    const replayed = completed.filter((event) => event.data.runner === undefined).map((event) => event.agentId)
    assert.isAtLeast(replayed.length, 1)
    assert.isAtLeast(result.metadata.durable.replayedSteps, replayed.length)
    // The same agents, with the same answers, as the run in one process.
    const alone = JSON.parse(local.stdout) as { agentResults: Array<{ agentId: string; status: string; content: string }> }
    assert.deepStrictEqual(
      result.agentResults.map((agent) => [agent.agentId, agent.status, agent.content]),
      alone.agentResults.map((agent) => [agent.agentId, agent.status, agent.content])
    )
  }, 120_000)

  it("leaves on SIGTERM with exit 0", async () => {
    runner.kill("SIGTERM")
    const outcome = await runnerExit
    assert.strictEqual(outcome.code, 0)
    assert.include(outcome.stderr, `Runner ${address} left the cluster`)
  }, 60_000)
})
