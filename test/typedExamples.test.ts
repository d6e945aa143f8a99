import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

const run = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))

/** Runs an example the way its header says, and returns what it printed. */
const example = async (name: string) => {
  const { stdout } = await run(process.execPath, ["--import", "tsx", `examples/${name}.ts`], {
    cwd: root,
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: "1" }
  })
  return stdout
}

describe("the examples of typed output and tools", () => {
  it("typed-output prints each Belter's decoded finding, the ranked values and the repaired reply", async () => {
    const out = await example("typed-output")
    assert.match(out, /^belter-1: .+ \(confidence 0\.\d\d\)$/m)
    assert.match(out, /^belter-3: .+ \(confidence 0\.\d\d\)$/m)
    const ranked = [...out.matchAll(/^- .+ \((0\.\d\d)\)$/gm)].map((m) => Number(m[1]))
    assert.strictEqual(ranked.length, 3)
    assert.deepStrictEqual(ranked, [...ranked].sort((a, b) => b - a))
    assert.match(out, /^After 2 replies: /m)
  }, 90_000)

  it("tools shows each call and its outcome, the failing one included, and a typed answer", async () => {
    const out = await example("tools")
    assert.include(out, "tool_call get_weather {\"city\":\"Lisbon\"}\ntool_result get_weather success")
    assert.include(out, "tool_result get_weather failure: {\"reason\":\"no weather station there\"}")
    assert.include(out, "status completed, 2 model calls, 2 tool calls")
    assert.include(out, "typed: true")
  }, 90_000)

  it("swarm-sources searches each domain's source and lists what the agents cited", async () => {
    const out = await example("swarm-sources")
    for (const tool of ["search_arxiv", "search_github", "search_hacker_news", "search_wikipedia"]) {
      assert.match(out, new RegExp(`^swarm-\\d ${tool}: success`, "m"))
    }
    for (const domain of ["arxiv", "github", "news", "wikipedia"]) {
      assert.match(out, new RegExp(`^\\[${domain}\\] .+ <https://simulated\\.invalid/`, "m"))
    }
    assert.include(out, "## Sources")
  }, 90_000)
})
