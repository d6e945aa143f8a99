import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { OrchestratorEvent, OrchestratorResult } from "multi-agent-orchestration"
import { chromium } from "playwright-core"
import WebSocketClient from "ws"

const root = fileURLToPath(new URL("..", import.meta.url))
const bin = join(root, "src/bin/orchestrate.ts")

interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI as a child process, as a user would, without a TTY. */
const orchestrate = (args: ReadonlyArray<string>): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", bin, ...args], { cwd: root, env: cleanEnv() })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

/** No provider keys from the machine: the tests choose their provider. */
const cleanEnv = () => {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" }
  for (const name of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL"]) delete env[name]
  return env
}

const scratch = () => mkdtempSync(join(tmpdir(), "orchestrate-"))
const small = ["--belters", "3", "--drummers", "1", "--provider", "simulated"]

describe("the orchestrate CLI", () => {
  it("cascade writes reports and an event log, and --json prints a result that decodes with its Schema", async () => {
    const dir = scratch()
    const out = join(dir, "reports")
    const events = join(dir, "events.jsonl")
    const run = await orchestrate(["cascade", "Research tidal energy", ...small, "--format", "md,pdf", "--out", out, "--events", events, "--json"])
    assert.strictEqual(run.code, 0, run.stderr)
    const result = Schema.decodeUnknownSync(OrchestratorResult.OrchestratorResult)(JSON.parse(run.stdout))
    assert.strictEqual(result.status, "completed")
    assert.strictEqual(result.title, "Research tidal energy")
    assert.deepStrictEqual(result.agentResults.map((r) => r.tier), ["belter", "belter", "belter", "drummer", "camina"])
    assert.deepStrictEqual(result.documents.map((d) => d.format), ["markdown", "pdf"])
    for (const document of result.documents) {
      assert.isTrue(document.path.startsWith(out))
      assert.strictEqual(statSync(document.path).size, document.sizeBytes)
    }
    assert.include(readFileSync(result.documents[0]!.path, "utf8"), "Research tidal energy")
    const lines = readFileSync(events, "utf8").trim().split("\n").map((line) => JSON.parse(line))
    const decoded = lines.map((line) => Schema.decodeUnknownSync(OrchestratorEvent.OrchestratorEvent)(line))
    assert.strictEqual(decoded[0]!.type, "workflow_start")
    assert.strictEqual(decoded.at(-1)!.type, "workflow_complete")
    assert.isTrue(decoded.some((e) => e.type === "document_generation_complete"))
    assert.deepStrictEqual(decoded.map((e) => e.sequence), decoded.map((_, i) => i + 1))
  })

  it("without --json it shows progress, the synthesis, the costs and the files written", async () => {
    const dir = scratch()
    const run = await orchestrate(["cascade", "Research tidal energy", ...small, "--format", "md", "--out", dir])
    assert.strictEqual(run.code, 0, run.stderr)
    assert.match(run.stdout, /\[\s*5%\] planned 5 agents/)
    assert.match(run.stdout, /belter-1 done in/)
    assert.include(run.stdout, "## Synthesis: Tidal energy")
    assert.match(run.stdout, /^tier camina\s+1/m)
    assert.match(run.stdout, /^wrote .*research-tidal-energy\.md/m)
    assert.match(run.stdout, /^completed in \d+s, \$0\.\d{4}$/m)
    assert.isTrue(existsSync(join(dir, "research-tidal-energy.md")))
  })

  it("swarm runs over the domains given; --quiet prints only the synthesis", async () => {
    const run = await orchestrate(["swarm", "Home batteries", "--agents", "4", "--domains", "news,technical", "--max-parallel", "2", "--provider", "simulated", "--quiet"])
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, "## Findings by domain")
    assert.match(run.stdout, /### news\n\n- swarm-1: .*\n- swarm-3: /)
    assert.notInclude(run.stdout, "calls  input tokens")
  })

  it("run loads a workflow module the user wrote", async () => {
    const run = await orchestrate(["run", "test/fixtures/greeting-workflow.ts", "Say hello", "--provider", "simulated", "--json"])
    assert.strictEqual(run.code, 0, run.stderr)
    const result = JSON.parse(run.stdout)
    assert.deepStrictEqual(result.agentResults.map((r: { agentId: string }) => r.agentId), ["only"])

    const wrong = await orchestrate(["run", "test/fixtures/not-a-workflow.mjs", "task", "--provider", "simulated"])
    assert.strictEqual(wrong.code, 2)
    assert.include(wrong.stderr, "the default export of test/fixtures/not-a-workflow.mjs is not a Workflow")
    assert.include(wrong.stderr, "export default Workflow.make")
    const absent = await orchestrate(["run", "test/fixtures/nowhere.ts", "task", "--provider", "simulated"])
    assert.strictEqual(absent.code, 2)
    assert.include(absent.stderr, "could not load test/fixtures/nowhere.ts")
  })

  it("exits 1 for a failed run", async () => {
    const run = await orchestrate(["cascade", "task", ...small, "--budget", "0.000001"])
    assert.strictEqual(run.code, 1)
    assert.match(run.stdout, /^failed in \d+s, \$0\.\d+: Budget exceeded/m)
  })

  it("exits 2 for bad usage, saying what to type instead", async () => {
    const missing = await orchestrate(["cascade"])
    assert.strictEqual(missing.code, 2)
    assert.include(missing.stderr, "Usage: orchestrate cascade \"<task>\"")
    const format = await orchestrate(["cascade", "task", "--provider", "simulated", "--format", "docx"])
    assert.strictEqual(format.code, 2)
    assert.include(format.stderr, "use --format md, --format pdf or --format md,pdf")
    const domain = await orchestrate(["swarm", "task", "--provider", "simulated", "--domains", "tiktok"])
    assert.strictEqual(domain.code, 2)
    assert.include(domain.stderr, "unknown domain \"tiktok\" (known domains: arxiv, github")
    const counts = await orchestrate(["cascade", "task", "--provider", "simulated", "--belters", "0"])
    assert.strictEqual(counts.code, 2)
    assert.include(counts.stderr, "belterCount must be an integer of at least 1, got 0")
    const key = await orchestrate(["cascade", "task", "--provider", "anthropic"])
    assert.strictEqual(key.code, 2)
    assert.include(key.stderr, "set ANTHROPIC_API_KEY, or run offline with --provider simulated")
    const serve = await orchestrate(["cascade", "task", "--provider", "simulated", "--serve", "here"])
    assert.strictEqual(serve.code, 2)
    assert.include(serve.stderr, "e.g. --serve 127.0.0.1:8080")
  })

  it("--serve shows the run on a live page (headless Chromium), over SSE and over WebSocket", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", bin, "cascade", "Research tidal energy", ...small, "--serve", "127.0.0.1:0"], {
      cwd: root,
      env: cleanEnv()
    })
    try {
      const url = await servingUrl(child)
      await waitForExitLine(child, "The run is over")

      const page = await (await fetch(url)).text()
      assert.include(page, "<title>Research tidal energy · orchestrate</title>")

      const messages = await new Promise<Array<{ type: string }>>((resolve, reject) => {
        const received: Array<{ type: string }> = []
        const socket = new WebSocketClient(`${url.replace("http", "ws")}ws`)
        socket.on("message", (data) => received.push(JSON.parse(String(data))))
        socket.on("close", () => resolve(received))
        socket.on("error", reject)
      })
      assert.strictEqual(messages[0]!.type, "workflow_start")
      assert.strictEqual(messages.at(-1)!.type, "workflow_complete")

      const browser = await chromium.launch({
        executablePath: "/usr/bin/chromium",
        args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
      })
      try {
        const tab = await browser.newPage()
        await tab.goto(url)
        await tab.waitForFunction("document.getElementById('status')?.textContent === 'completed'", undefined, {
          timeout: 15_000
        })
        assert.strictEqual(await tab.textContent("#title"), "Research tidal energy")
        assert.strictEqual(await tab.textContent("#progress"), "100.0%")
        assert.strictEqual(await tab.textContent("#agents"), "5/5")
        const tiers = await tab.$$eval("h2", (headings) => headings.map((h) => h.textContent))
        assert.deepStrictEqual(tiers, ["belter", "drummer", "camina", "Final synthesis"])
        const statuses = await tab.$$eval("td[class^=status-]", (cells) => cells.map((c) => c.textContent))
        assert.deepStrictEqual(statuses, Array(5).fill("completed"))
        assert.include(await tab.textContent("#synthesis") ?? "", "Tidal energy")
      } finally {
        await browser.close()
      }
      child.kill("SIGINT")
      const code = await new Promise((resolve) => child.on("close", resolve))
      assert.strictEqual(code, 0)
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL")
    }
  }, 60_000)
})

const servingUrl = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    let seen = ""
    child.stderr!.on("data", (chunk) => {
      seen += chunk
      const match = /Serving the run at (http:\/\/[^\s]+\/) /.exec(seen)
      if (match !== null) resolve(match[1]!)
    })
    child.on("close", () => reject(new Error(`the CLI ended before serving:\n${seen}`)))
  })

const waitForExitLine = (child: ChildProcess, line: string): Promise<void> =>
  new Promise((resolve) => {
    let seen = ""
    child.stderr!.on("data", (chunk) => {
      seen += chunk
      if (seen.includes(line)) resolve()
    })
  })
