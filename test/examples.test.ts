import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

const run = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))

/** Runs an example the way the README says, and returns what it printed. */
const example = async (name: string, ...args: Array<string>) => {
  const { stdout } = await run(process.execPath, ["--import", "tsx", `examples/${name}.ts`, ...args], {
    cwd: root,
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1" }
  })
  return stdout
}

describe("examples", () => {
  it("custom-workflow runs the README's custom orchestrator", async () => {
    const out = await example("custom-workflow")
    assert.include(out, "[workflow_start] 0.0%")
    assert.include(out, "[workflow_complete] 100.0%")
    assert.include(out, "## Summary")
    assert.match(out, /Status: completed, cost: \$0\.\d{4}/)
  })

  it("error-handling shows a failed agent, a refused configuration and a retry", async () => {
    const out = await example("error-handling")
    assert.include(out, "Agent beta failed: demo demo-model: invalid request (HTTP 400): unknown entity")
    assert.include(out, "Refused: Invalid configuration: maxConcurrentAgents must be at least 1; timeoutSeconds must be positive")
    assert.include(out, "Retrying alpha in 2000 ms")
    assert.include(out, "After retrying: completed")
  })

  it("streaming prints every event with its progress", async () => {
    const lines = (await example("streaming")).trim().split("\n")
    assert.match(lines[0]!, /^\s*0\.0%\s+workflow_start$/)
    assert.match(lines.at(-1)!, /^100\.0%\s+workflow_complete$/)
    assert.strictEqual(lines.filter((line) => line.includes("agent_complete")).length, 3)
  })

  it("the demo runs offline and prints progress, the synthesis and the cost table", async () => {
    const out = await example("demo", "Research solid-state batteries")
    assert.include(out, "workflow_complete")
    assert.include(out, "## Synthesis: Solid-state batteries")
    assert.match(out, /^total\s+\d+/m)
    assert.match(out, /completed in \d+s, \$0\.\d{4}/)
  })
})
