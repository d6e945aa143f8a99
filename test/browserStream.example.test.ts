import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "vitest"
import { launchBrowser } from "./browser.js"
import { listeningUrl, sseClient } from "./servers.js"

const root = fileURLToPath(new URL("..", import.meta.url))

describe("examples/browser-stream.ts", () => {
  it("the page shows each agent's text while it is written, and ends with each agent's reply", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/browser-stream.ts"], {
      cwd: root,
      env: { ...process.env, PORT: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const browser = await launchBrowser()
    try {
      const url = await listeningUrl(child)
      const client = sseClient(`${url}/events`)
      const tab = await browser.newPage()
      await tab.goto(`${url}/`)
      // Some agent has text on the page before it is done.
      await tab.waitForFunction(
        "[...document.querySelectorAll('#agents pre')].some((pre) => pre.textContent.length > 0 && pre.style.borderLeft === '')",
        undefined,
        { timeout: 30_000 }
      )
      await client.done
      const terminal = JSON.parse(client.received.at(-1)!.data)
      assert.strictEqual(terminal.type, "workflow_complete")
      const agents: ReadonlyArray<{ agentId: string; content: string }> = terminal.data.result.agentResults
      assert.strictEqual(agents.length, 7)
      await tab.waitForFunction(`document.querySelectorAll('#agents pre[style]').length >= 7`, undefined, { timeout: 15_000 })
      const panes = await tab.$$eval("#agents h3", (headings) =>
        headings.map((h) => [h.textContent ?? "", h.nextElementSibling?.textContent ?? ""] as const))
      const shown = new Map(panes)
      for (const agent of agents) assert.strictEqual(shown.get(agent.agentId), agent.content, agent.agentId)
    } finally {
      await browser.close()
      child.kill("SIGINT")
    }
  }, 90_000)
})
