import { type ChildProcess, spawn } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { get } from "node:http"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import WS from "ws"

const root = fileURLToPath(new URL("..", import.meta.url))
const bin = join(root, "src/bin/orchestrate.ts")
const workflow = join(root, "test/fixtures/approval-workflow.ts")

interface Outcome {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const start = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): ChildProcess & { out: { stdout: string; stderr: string } } => {
  const child = spawn(process.execPath, ["--import", "tsx", bin, ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1", OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "", ...env }
  }) as ChildProcess & { out: { stdout: string; stderr: string } }
  child.out = { stdout: "", stderr: "" }
  child.stdout!.on("data", (chunk) => (child.out.stdout += chunk))
  child.stderr!.on("data", (chunk) => (child.out.stderr += chunk))
  return child
}

const finish = (child: ReturnType<typeof start>): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, ...child.out }))
  })

const orchestrate = (args: ReadonlyArray<string>) => finish(start(args))

/** Resolves once the child's stderr matches. */
const waitFor = (child: ReturnType<typeof start>, pattern: RegExp): Promise<RegExpMatchArray> =>
  new Promise((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(child.out.stderr)
      if (match !== null) {
        child.stderr!.off("data", check)
        resolve(match)
      }
    }
    child.stderr!.on("data", check)
    child.on("close", () => reject(new Error(`exited before ${pattern}: ${child.out.stderr}`)))
    check()
  })

const scratch = () => mkdtempSync(join(tmpdir(), "orchestrate-durable-"))
const simulated = ["--provider", "simulated"]

describe("orchestrate with durable runs", () => {
  it("an approval: the process is killed while waiting, a new process approves through the CLI and the run completes", async () => {
    const dir = scratch()
    const store = join(dir, "runs.db")
    const first = start(["run", workflow, "Write about tides", ...simulated, "--store", store, "--run-id", "tides", "--quiet"])
    await waitFor(first, /orchestrate approve tides review/)
    first.kill("SIGKILL")
    await finish(first)

    const listed = await orchestrate(["runs", "--store", store])
    assert.strictEqual(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /^tides\s+(running|stopped)\s+\d+%\s+1\s/m)

    const approved = await orchestrate(["approve", "tides", "review", "--note", "Cut the last paragraph.", "--store", store, "--json"])
    assert.strictEqual(approved.code, 0, approved.stderr)
    const result = JSON.parse(approved.stdout) as { status: string; agentResults: Array<{ agentId: string }>; metadata: { durable: { resumed: boolean } } }
    assert.strictEqual(result.status, "completed")
    assert.deepStrictEqual(result.agentResults.map((a) => a.agentId), ["draft/draft", "publish/publish"])
    assert.isTrue(result.metadata.durable.resumed)

    const after = await orchestrate(["runs", "--store", store])
    assert.match(after.stdout, /^tides\s+completed\s+100%\s+2\s/m)

    const out = join(dir, "reports")
    const shown = await orchestrate(["show", "tides", "--store", store, "--format", "md", "--out", out])
    assert.strictEqual(shown.code, 0, shown.stderr)
    const file = shown.stdout.trim().replace(/^wrote /, "")
    assert.isTrue(existsSync(file))
    assert.include(readFileSync(file, "utf8"), "Write about tides")
  }, 120_000)

  it("Ctrl-C during a durable run prints the exact resume command and exits 130; resume continues it", async () => {
    const dir = scratch()
    const store = join(dir, "runs.db")
    const first = start(["run", workflow, "Write about tides", ...simulated, "--store", store, "--run-id", "ctrl-c", "--quiet"])
    await waitFor(first, /orchestrate approve ctrl-c review/)
    first.kill("SIGINT")
    const stopped = await finish(first)
    assert.strictEqual(stopped.code, 130)
    const command = /Continue with: (orchestrate resume .*)$/m.exec(stopped.stderr)
    assert.isNotNull(command)
    assert.strictEqual(command![1], `orchestrate resume ctrl-c --store ${store}`)
    // The resumed run waits at the approval again; a decision from another process lets it finish.
    const resumed = start([...command![1]!.split(" ").slice(1), "--json"])
    await waitFor(resumed, /orchestrate approve ctrl-c review/)
    const decided = await orchestrate(["approve", "ctrl-c", "review", "--reject", "--note", "No.", "--store", store])
    assert.strictEqual(decided.code, 0, decided.stderr)
    const outcome = await finish(resumed)
    assert.strictEqual(outcome.code, 1)
    assert.include(JSON.parse(outcome.stdout).error, "rejected")
  }, 120_000)

  it("a tool that requires approval: the process is killed while the call waits, a new process approves and the tool runs once", async () => {
    const dir = scratch()
    const store = join(dir, "runs.db")
    const log = join(dir, "published.log")
    const fixture = join(root, "test/fixtures/tool-approval-workflow.ts")
    const env = { PUBLISH_LOG: log }
    const first = start(["run", fixture, "Write about tides", ...simulated, "--store", store, "--run-id", "pub", "--quiet"], env)
    const [, step] = await waitFor(first, /orchestrate approve pub (\S+)/)
    assert.match(step!, /^writer\/publish\/\w+$/)
    first.kill("SIGKILL")
    await finish(first)
    assert.isFalse(existsSync(log))

    const approved = await finish(start(["approve", "pub", step!, "--store", store, "--json"], env))
    assert.strictEqual(approved.code, 0, approved.stderr)
    const result = JSON.parse(approved.stdout) as { status: string; agentResults: Array<{ status: string; metadata: { toolCalls?: number } }> }
    assert.strictEqual(result.status, "completed")
    assert.strictEqual(result.agentResults[0]?.status, "completed")
    // Run once, by the process that continued the run after the decision.
    const published = readFileSync(log, "utf8").trim().split("\n")
    assert.strictEqual(published.length, 1)
    assert.notStrictEqual(published[0]!.split(" ")[0], String(first.pid))
  }, 120_000)

  it("bad stores exit 2 with a clear message: not a database, read-only, no Postgres server", async () => {
    const dir = scratch()
    const junk = join(dir, "junk.db")
    writeFileSync(junk, "not a database ".repeat(300))
    const notDb = await orchestrate(["cascade", "Tides", ...simulated, "--belters", "2", "--store", junk, "--quiet"])
    assert.strictEqual(notDb.code, 2)
    assert.include(notDb.stderr, "not a SQLite database")

    const readOnly = join(dir, "ro.db")
    const made = await orchestrate(["runs", "--store", readOnly])
    assert.strictEqual(made.code, 0, made.stderr)
    chmodSync(readOnly, 0o444)
    const ro = await orchestrate(["cascade", "Tides", ...simulated, "--belters", "2", "--store", readOnly, "--quiet"])
    assert.strictEqual(ro.code, 2)
    assert.include(ro.stderr, "read-only")

    const port = await freePort()
    const pg = await orchestrate(["runs", "--store", `postgres://postgres@127.0.0.1:${port}/runs`])
    assert.strictEqual(pg.code, 2)
    assert.include(pg.stderr, "no Postgres server answers")
  }, 120_000)

  it("an SSE client that reconnects with Last-Event-ID after a restart gets the events it missed, from the store", async () => {
    const dir = scratch()
    const store = join(dir, "runs.db")
    const first = start(["run", workflow, "Write about tides", ...simulated, "--store", store, "--run-id", "sse", "--quiet"])
    await waitFor(first, /orchestrate approve sse review/)
    first.kill("SIGKILL")
    await finish(first)
    const second = start(["approve", "sse", "review", "--store", store, "--quiet", "--serve", "127.0.0.1:0"])
    const [, url] = await waitFor(second, /Serving the run at (http:\/\/\S+\/) /)
    await waitFor(second, /The run is over/)
    const received = await sse(`${url}events`, "2")
    second.kill("SIGINT")
    await finish(second)
    const ids = received.map((event) => event.id)
    assert.strictEqual(ids[0], 3)
    for (let i = 1; i < ids.length; i++) assert.isAbove(ids[i]!, ids[i - 1]!)
    const types = received.map((event) => event.type)
    // Events of the first process (its agent), then the resumed run's, ending with its completion.
    assert.include(types.slice(0, 4), "agent_start")
    assert.strictEqual(types.at(-1), "workflow_complete")
  }, 120_000)
  it("a WebSocket client that reconnects with ?lastEventId= after a restart gets the events it missed, from the store", async () => {
    const dir = scratch()
    const store = join(dir, "runs.db")
    const first = start(["run", workflow, "Write about tides", ...simulated, "--store", store, "--run-id", "ws", "--quiet"])
    await waitFor(first, /orchestrate approve ws review/)
    first.kill("SIGKILL")
    await finish(first)
    const second = start(["approve", "ws", "review", "--store", store, "--quiet", "--serve", "127.0.0.1:0"])
    const [, url] = await waitFor(second, /Serving the run at (http:\/\/\S+\/) /)
    await waitFor(second, /The run is over/)
    const base = `${url!.replace("http", "ws")}ws`
    const [resumed, fromHeader, seenAll] = await Promise.all([
      wsEvents(`${base}?lastEventId=2`),
      wsEvents(base, { "last-event-id": "4" }),
      wsEvents(`${base}?lastEventId=100000`)
    ])
    second.kill("SIGINT")
    await finish(second)
    const ids = resumed.events.map((event) => event.sequence)
    assert.strictEqual(ids[0], 3)
    for (let i = 1; i < ids.length; i++) assert.strictEqual(ids[i], ids[i - 1]! + 1)
    const types = resumed.events.map((event) => event.type)
    // Events of the first process (its agent), then the resumed run's, ending with its completion; then close 1000.
    assert.include(types.slice(0, 4), "agent_start")
    assert.strictEqual(types.at(-1), "workflow_complete")
    assert.strictEqual(resumed.close, 1000)
    assert.deepStrictEqual(fromHeader.events, resumed.events.filter((event) => event.sequence > 4))
    // A client that saw the end gets nothing more.
    assert.deepStrictEqual(seenAll, { events: [], close: 1000 })
  }, 120_000)
})

/** The events a WebSocket client receives (sequence and type) until the server closes the socket, and the close code. */
const wsEvents = (
  url: string,
  headers: Record<string, string> = {}
): Promise<{ events: Array<{ sequence: number; type: string }>; close: number }> =>
  new Promise((resolve, reject) => {
    const events: Array<{ sequence: number; type: string }> = []
    const socket = new WS(url, { headers })
    socket.on("message", (data) => {
      const event = JSON.parse(data.toString()) as { sequence: number; type: string }
      events.push({ sequence: event.sequence, type: event.type })
    })
    socket.on("error", reject)
    socket.on("close", (close) => resolve({ events, close }))
  })

/** Reads SSE frames until `workflow_complete`, asking to resume after `lastEventId`. */
const sse = (url: string, lastEventId: string): Promise<Array<{ id: number; type: string }>> =>
  new Promise((resolve, reject) => {
    const events: Array<{ id: number; type: string }> = []
    const request = get(url, { headers: { "last-event-id": lastEventId, accept: "text/event-stream" } }, (response) => {
      let buffer = ""
      response.on("data", (chunk) => {
        buffer += chunk
        let end: number
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const id = /^id: ?(\d+)/m.exec(frame)
          const data = /^data: ?(.*)$/m.exec(frame)
          if (id === null || data === null) continue
          const event = JSON.parse(data[1]!) as { type: string }
          events.push({ id: Number(id[1]), type: event.type })
          if (event.type === "workflow_complete") {
            request.destroy()
            resolve(events)
          }
        }
      })
    })
    request.on("error", (error) => (events.length > 0 ? resolve(events) : reject(error)))
  })

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as { port: number }
      server.close(() => resolve(address.port))
    })
  })

describe("the live page of a durable run", () => {
  it("shows Approve and Reject for an approval step; Approve posts the decision and the run completes", async () => {
    const { launchBrowser } = await import("./browser.js")
    const dir = scratch()
    const store = join(dir, "runs.db")
    const child = start(["run", workflow, "Write about tides", ...simulated, "--store", store, "--run-id", "page", "--quiet", "--serve", "127.0.0.1:0"])
    const [, url] = await waitFor(child, /Serving the run at (http:\/\/\S+\/) /)
    await waitFor(child, /orchestrate approve page review/)
    const browser = await launchBrowser()
    try {
      const tab = await browser.newPage()
      await tab.goto(url!)
      await tab.waitForSelector(".approval button", { timeout: 30_000 })
      assert.deepStrictEqual(await tab.$$eval(".approval button", (buttons) => buttons.map((b) => b.textContent)), ["Approve", "Reject"])
      assert.include(await tab.textContent(".approval p") ?? "", "Publish the draft?")
      await tab.fill(".approval textarea", "Looks good.")
      await tab.click("text=Approve")
      await tab.waitForSelector(".approval .decided", { timeout: 30_000 })
      await tab.waitForFunction("document.getElementById('status')?.textContent === 'completed'", undefined, { timeout: 60_000 })
    } finally {
      await browser.close()
    }
    await waitFor(child, /The run is over/)
    child.kill("SIGINT")
    await finish(child)
    const listed = await orchestrate(["runs", "--store", store])
    assert.match(listed.stdout, /^page\s+completed\s+100%\s+2\s/m)
  }, 180_000)
})
