import { execFile, spawn } from "node:child_process"
import { mkdtemp, readdir } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import WS from "ws"
import { listeningUrl, sseClient } from "./servers.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const run = promisify(execFile)

describe("streaming and report examples", () => {
  it("live-server serves one run over SSE and WebSocket", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/live-server.ts"], {
      cwd: root,
      env: { ...process.env, PORT: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      const url = await listeningUrl(child)
      const sse = sseClient(`${url}/events`)
      const messages: Array<string> = []
      const ws = new WS(`${url.replace("http", "ws")}/ws`)
      ws.on("message", (data) => messages.push(data.toString()))
      const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)))
      await sse.done
      assert.strictEqual(await closed, 1000)
      assert.strictEqual(sse.received.at(-1)!.type, "workflow_complete")
      assert.deepStrictEqual(messages.map((m) => JSON.parse(m).sequence), sse.received.map((m) => Number(m.id)))
    } finally {
      child.kill()
    }
  }, 60_000)

  it("reports writes the Markdown and PDF reports and prints one progress line per step off a TTY", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mao-reports-"))
    const { stdout } = await run(process.execPath, ["--import", "tsx", "examples/reports.ts", dir], {
      cwd: root,
      timeout: 60_000,
      env: { ...process.env, NO_COLOR: "1" }
    })
    assert.include(stdout, "[  5%] planned 4 agents")
    const duration = /^completed in (\S+), /m.exec(stdout)![1]!
    // One measured duration, the same in the progress line and the summary.
    assert.match(stdout, new RegExp(`\\[100%\\] completed: 4/4 agents in ${duration}, \\$0\\.\\d+`))
    assert.match(stdout, /^markdown .*heat-pumps-in-northern-europe\.md \(\d+ bytes\)$/m)
    assert.match(stdout, /^pdf {6}.*heat-pumps-in-northern-europe\.pdf \(\d+ bytes\)$/m)
    assert.deepStrictEqual((await readdir(dir)).sort(), ["heat-pumps-in-northern-europe.md", "heat-pumps-in-northern-europe.pdf"])
  }, 60_000)
})
