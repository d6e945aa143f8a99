import { execFile, spawn } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { rm } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

const run = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))

/** Runs an example the way the README says, and returns what it printed. Each test starts one process, with its own budget. */
const example = async (name: string, ...args: Array<string>) => {
  const { stdout } = await run(process.execPath, ["--import", "tsx", `examples/${name}.ts`, ...args], {
    cwd: root,
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1" }
  })
  return stdout
}

describe("examples", () => {
  it("durable is killed mid-run, run again with the same id, and completes paying only for what was left", async () => {
    const store = join(mkdtempSync(join(tmpdir(), "durable-example-")), "runs.db")
    const child = spawn(process.execPath, ["--import", "tsx", "examples/durable.ts", "example-run", store], { cwd: root })
    await new Promise<void>((resolve, reject) => {
      let out = ""
      child.stdout.on("data", (chunk) => {
        out += chunk
        if ((out.match(/ done \(/g) ?? []).length >= 3) {
          child.kill("SIGKILL")
          resolve()
        }
      })
      child.on("close", () => reject(new Error(`the example ended before it was killed: ${out}`)))
    })
    const out = await example("durable", "example-run", store)
    assert.include(out, "completed: 9 agents")
    const [, before, after, total] = /paid before the restart \$(\S+), after it \$(\S+), total \$(\S+)/.exec(out)!
    assert.isAbove(Number(before), 0)
    assert.isAbove(Number(after), 0)
    // formatCost shows two decimals from a cent up.
    assert.closeTo(Number(before) + Number(after), Number(total), 0.006)
  }, 120_000)

  it("custom-workflow runs the README's custom orchestrator", async () => {
    const out = await example("custom-workflow")
    assert.include(out, "[workflow_start] 0.0%")
    assert.include(out, "[workflow_complete] 100.0%")
    assert.include(out, "## Summary")
    assert.match(out, /Status: completed, cost: \$0\.\d{4,}/)
  }, 60_000)

  it("error-handling shows a failed agent, a refused configuration and a retry", async () => {
    const out = await example("error-handling")
    assert.include(out, "Agent beta failed: demo demo-model: invalid request (HTTP 400): unknown entity")
    assert.include(out, "Refused: Invalid configuration: maxConcurrentAgents must be at least 1; timeoutSeconds must be positive")
    assert.include(out, "Retrying alpha in 2000 ms")
    assert.include(out, "After retrying: completed")
  }, 60_000)

  it("streaming prints every event with its progress", async () => {
    const lines = (await example("streaming")).trim().split("\n")
    assert.match(lines[0]!, /^\s*0\.0%\s+workflow_start$/)
    assert.match(lines.at(-1)!, /^100\.0%\s+workflow_complete$/)
    assert.strictEqual(lines.filter((line) => line.includes("agent_complete")).length, 3)
  }, 60_000)

  it("npm run demo runs a Dream Cascade offline: progress, the synthesis, the cost table and the reports", async () => {
    const { stdout } = await run("npm", ["run", "--silent", "demo"], { cwd: root, timeout: 60_000, env: { ...process.env, NO_COLOR: "1" } })
    for (const agent of ["belter-1", "belter-5", "drummer-1", "drummer-2", "camina-1"]) {
      assert.match(stdout, new RegExp(`${agent} done in`))
    }
    assert.include(stdout, "Quantum computing applications")
    for (const tier of ["decomposition", "belter", "drummer", "camina"]) assert.match(stdout, new RegExp(`^tier ${tier}\\s+\\d+`, "m"))
    assert.match(stdout, /^total\s+9\s/m)
    const written = [...stdout.matchAll(/^wrote (\S+) /gm)].map((m) => m[1]!)
    assert.deepStrictEqual(written.map((path) => path.split(".").at(-1)), ["md", "pdf"])
    for (const path of written) await rm(path)
    assert.match(stdout, /^completed in \d+(ms|\.\ds), \$0\.\d+$/m)
  }, 60_000)

  it("dream-cascade shows each tier's syntheses and their sources", async () => {
    const out = await example("dream-cascade")
    assert.include(out, "drummer drummer-1 ← belter-1, belter-2")
    assert.include(out, "drummer drummer-3 ← belter-5")
    assert.include(out, "camina camina-1 ← drummer-1, drummer-2, drummer-3")
    assert.match(out, /Cost: \$0\.\d+/)
  }, 60_000)

  it("dream-swarm spreads agents over the domains and groups the findings", async () => {
    const out = await example("dream-swarm")
    assert.include(out, "swarm-1 [arxiv] completed")
    assert.include(out, "swarm-4 [wikipedia] completed")
    assert.include(out, "swarm-5 [arxiv] completed")
    assert.include(out, "## Findings by domain")
  }, 60_000)

  it("sequential runs its steps in order", async () => {
    const out = await example("sequential")
    assert.match(out, /^step: outline\nstep: draft\nstep: edit$/m)
  }, 60_000)

  it("conditional takes both branches", async () => {
    const out = await example("conditional")
    assert.include(out, "complexity 0.9: branch true, 5 agents")
    assert.include(out, "complexity 0.3: branch false, 1 agents")
    assert.include(out, "rated by a model: branch ")
  }, 60_000)

  it("iterative refines until the score passes 0.9", async () => {
    const out = await example("iterative")
    assert.match(out, /iteration 1: score 0\.\d\d\n/)
    assert.match(out, /iteration \d: score 0\.9\d \(converged\)/)
    assert.match(out, /kept iteration \d, converged: true/)
  }, 60_000)

  it("composition nests a swarm and a cascade in a pipeline inside a loop", async () => {
    const out = await example("composition")
    assert.match(out, /^iterate\(swarm-then-cascade\)\n  swarm-then-cascade\n    dream-swarm\n    dream-cascade$/m)
    assert.match(out, /completed: \d+ agents, \$0\.\d{4,}/)
  }, 60_000)
})
