/**
 * The orchestrate executable as a real process, for what only a process shows: its exit codes, its answer to
 * SIGINT, its help without a terminal, and the live page of --serve in a headless browser. Each test starts
 * one or two processes and has its own budget; everything else is tested in-process (test/cli.test.ts).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { OrchestratorEvent, OrchestratorResult } from "multi-agent-orchestration"
import WebSocketClient from "ws"
import { launchBrowser } from "./browser.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const bin = join(root, "src/bin/orchestrate.ts")

interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** No provider keys and no colour settings from the machine: the tests choose. */
const cleanEnv = () => {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const name of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "NO_COLOR", "FORCE_COLOR"]) delete env[name]
  return env
}

const start = (args: ReadonlyArray<string>) =>
  spawn(process.execPath, ["--import", "tsx", bin, ...args], { cwd: root, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] })

/** Runs the CLI as a user would, with stdout and stderr piped (not a terminal). */
const orchestrate = (args: ReadonlyArray<string>, onStart?: (child: ChildProcess) => void): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const child = start(args)
    onStart?.(child)
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

const small = ["--belters", "3", "--drummers", "1", "--provider", "simulated"]

describe("the orchestrate process", () => {
  it("--help needs no terminal: plain text, exit 0; no command at all is bad usage, exit 2", async () => {
    const help = await orchestrate(["--help"])
    assert.strictEqual(help.code, 0)
    assert.include(help.stdout, "orchestrate cascade <task> [options]")
    assert.notMatch(help.stdout, /\x1b\[/)
    const nothing = await orchestrate([])
    assert.strictEqual(nothing.code, 2)
    assert.include(nothing.stderr, "Exit codes:")
  }, 60_000)

  it("exits 1 for a failed run", async () => {
    const run = await orchestrate(["cascade", "task", ...small, "--budget", "0.000001"])
    assert.strictEqual(run.code, 1)
    assert.match(run.stdout, /^failed in .*Budget exceeded/m)
    assert.notMatch(run.stdout + run.stderr, /\x1b\[/)
  }, 60_000)

  it("exits 2 for bad usage", async () => {
    const run = await orchestrate(["cascade", "task", "--provider", "simulated", "--format", ""])
    assert.strictEqual(run.code, 2)
    assert.strictEqual(run.stderr, "orchestrate: --format needs at least one report format. Use --format md, --format pdf or --format md,pdf\n")
  }, 60_000)

  it("SIGINT stops the run: exit 130, the partial result on stdout, the event log ends with workflow_cancelled", async () => {
    const dir = mkdtempSync(join(tmpdir(), "orchestrate-"))
    const log = join(dir, "events.jsonl")
    let sent = false
    const logged = () => {
      try {
        return readFileSync(log, "utf8")
      } catch {
        return ""
      }
    }
    const poll = setInterval(() => {
      if (!sent && logged().includes("\"agent_complete\"")) {
        sent = true
        child?.kill("SIGINT")
      }
    }, 25)
    let child: ChildProcess | undefined
    const run = await orchestrate(
      ["cascade", "Tidal", "--belters", "6", "--drummers", "2", "--provider", "simulated", "--max-concurrent", "1", "--json", "--events", log],
      (started) => void (child = started)
    ).finally(() => clearInterval(poll))
    assert.isTrue(sent, `the run ended before it could be interrupted: ${run.stderr}`)
    assert.strictEqual(run.code, 130, run.stderr)
    const result = Schema.decodeUnknownSync(OrchestratorResult.OrchestratorResult)(JSON.parse(run.stdout))
    assert.strictEqual(result.status, "cancelled")
    assert.isAtLeast(result.agentResults.filter((agent) => agent.status === "completed").length, 1)
    assert.match(run.stderr, /^orchestrate: interrupted after \S+: \d+ of \d+ agents completed, \$0\.\d+ spent$/m)
    const last = JSON.parse(logged().trim().split("\n").at(-1)!)
    assert.strictEqual(Schema.decodeUnknownSync(OrchestratorEvent.OrchestratorEvent)(last).type, "workflow_cancelled")
  }, 90_000)

  it("--serve shows the run on a live page (headless Chromium), over SSE and over WebSocket; Ctrl-C then exits with the run's code", async () => {
    const child = start(["cascade", "Research tidal energy", ...small, "--serve", "127.0.0.1:0"])
    try {
      const url = await servingUrl(child)
      await waitForLine(child, "The run is over")

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

      const browser = await launchBrowser()
      try {
        const tab = await browser.newPage()
        await tab.goto(url)
        await tab.waitForFunction("document.getElementById('status')?.textContent === 'completed'", undefined, {
          timeout: 30_000
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
      const closed = new Promise((resolve) => child.on("close", resolve))
      child.kill("SIGINT")
      assert.strictEqual(await closed, 0)
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL")
    }
  }, 120_000)
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

const waitForLine = (child: ChildProcess, line: string): Promise<void> =>
  new Promise((resolve) => {
    let seen = ""
    child.stderr!.on("data", (chunk) => {
      seen += chunk
      if (seen.includes(line)) resolve()
    })
  })
