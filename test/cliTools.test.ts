import { spawn } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = fileURLToPath(new URL("..", import.meta.url))
const bin = join(root, "src/bin/orchestrate.ts")

/** Runs the CLI as a child process without a TTY, with no provider keys or GitHub token from the machine. */
const orchestrate = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" }
    for (const name of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "GITHUB_TOKEN"]) delete env[name]
    const child = spawn(process.execPath, ["--import", "tsx", bin, ...args], { cwd: root, env })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

describe("orchestrate swarm --tools", () => {
  it("searches with the simulated tools by default: the agents cite what they found, and the synthesis lists it", async () => {
    const run = await orchestrate(["swarm", "Home batteries", "--agents", "2", "--domains", "arxiv,wikipedia", "--provider", "simulated", "--json"])
    assert.strictEqual(run.code, 0, run.stderr)
    const result = JSON.parse(run.stdout)
    assert.deepStrictEqual(result.agentResults.map((r: any) => r.metadata.toolCalls), [1, 1])
    const cited = result.agentResults.flatMap((r: any) => r.metadata.sources.map((s: any) => s.url))
    assert.isTrue(cited.some((url: string) => url.startsWith("https://simulated.invalid/arxiv/")))
    assert.isTrue(cited.some((url: string) => url.startsWith("https://simulated.invalid/wikipedia/")))
    const sources = result.finalSynthesis.slice(result.finalSynthesis.indexOf("## Sources"))
    for (const url of cited) assert.include(sources, `(${url})`)
  }, 120_000)

  it("refuses a value other than real or simulated", async () => {
    const run = await orchestrate(["swarm", "Home batteries", "--provider", "simulated", "--tools", "web"])
    assert.strictEqual(run.code, 2)
    assert.include(run.stderr, "simulated")
  }, 120_000)
})
