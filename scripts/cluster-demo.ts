/**
 * `npm run cluster:demo`: a cluster on this machine. Starts a throwaway Postgres on 127.0.0.1, three
 * `orchestrate runner` processes, and a Dream Swarm of 60 agents submitted with `--cluster`; prints which
 * runner ran how many agents, then stops the runners (SIGTERM) and Postgres.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { startPostgres } from "../test/postgres.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const bin = join(root, "src/bin/orchestrate.ts")
// Short lock timings, so that a runner killed during the demo hands its agents over in seconds.
const env = { ...process.env, ORCHESTRATE_CLUSTER_LOCK_MS: "5000", ORCHESTRATE_CLUSTER_REFRESH_MS: "500" }

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const orchestrate = (args: ReadonlyArray<string>, stdio: "inherit" | "pipe" = "inherit"): ChildProcess =>
  spawn(process.execPath, ["--import", "tsx", bin, ...args], { cwd: root, env, stdio: ["ignore", stdio, stdio] })

const startRunner = async (url: string): Promise<{ child: ChildProcess; address: string }> => {
  const address = `127.0.0.1:${await freePort()}`
  const child = orchestrate(["runner", "--store", url, "--listen", address, "--max-concurrent", "10", "--provider", "simulated"], "pipe")
  await new Promise<void>((resolve, reject) => {
    let stderr = ""
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
      if (stderr.includes("takes work")) resolve()
    })
    child.on("close", (code) => reject(new Error(`the runner on ${address} exited with ${code}: ${stderr}`)))
  })
  console.log(`runner ${address} is up (pid ${child.pid})`)
  return { child, address }
}

const postgres = await startPostgres()
console.log(`Postgres on ${postgres.url}`)
const runners: Array<{ child: ChildProcess; address: string }> = []
let code = 1
try {
  for (let i = 0; i < 3; i++) runners.push(await startRunner(postgres.url))
  const events = join(mkdtempSync(join(tmpdir(), "cluster-demo-")), "events.jsonl")
  const run = orchestrate([
    "swarm", "Survey how cluster schedulers place work", "--agents", "60", "--max-parallel", "30", "--max-concurrent", "30",
    "--provider", "simulated", "--cluster", postgres.url, "--events", events, "--quiet"
  ])
  code = await new Promise<number>((resolve) => run.on("close", (exit) => resolve(exit ?? 1)))
  const perRunner = new Map<string, number>()
  for (const line of readFileSync(events, "utf8").trim().split("\n")) {
    const event = JSON.parse(line) as { type: string; data: { runner?: string } }
    if (event.type === "agent_complete" && event.data.runner !== undefined) {
      perRunner.set(event.data.runner, (perRunner.get(event.data.runner) ?? 0) + 1)
    }
  }
  console.log(`\nthe run exited ${code}; agents per runner: ${[...perRunner].map(([runner, n]) => `${runner} ${n}`).join(", ")}`)
} finally {
  await Promise.all(runners.map(({ child }) =>
    new Promise<void>((resolve) => {
      child.removeAllListeners("close")
      child.on("close", () => resolve())
      child.kill("SIGTERM")
    })
  ))
  postgres.stop()
  console.log("runners and Postgres stopped")
}
process.exit(code)
