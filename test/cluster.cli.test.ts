/** `orchestrate runner` and `--cluster` as a user runs them: real processes, a real Postgres on 127.0.0.1. */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
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

  it("leaves on SIGTERM with exit 0", async () => {
    runner.kill("SIGTERM")
    const outcome = await runnerExit
    assert.strictEqual(outcome.code, 0)
    assert.include(outcome.stderr, `Runner ${address} left the cluster`)
  }, 60_000)
})
