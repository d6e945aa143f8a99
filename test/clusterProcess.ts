/** Child processes for the cluster tests: runners and submitters of test/fixtures/cluster-process.ts, bundled once. */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

const root = fileURLToPath(new URL("..", import.meta.url))

/** Bundles the fixture into one file run by plain `node`, so that a signal reaches the real process. */
export const bundleClusterFixture = async (): Promise<string> => {
  const cache = join(root, "node_modules/.cache")
  mkdirSync(cache, { recursive: true })
  const outfile = join(mkdtempSync(join(cache, "cluster-fixture-")), "cluster-process.mjs")
  await build({
    entryPoints: [join(root, "test/fixtures/cluster-process.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile,
    external: ["libsql", "@libsql/*", "pg", "pg-*", "tsx", "pdfkit", "marked"],
    banner: { js: "import { createRequire as __clusterRequire } from \"node:module\"; const require = __clusterRequire(import.meta.url);" },
    logLevel: "error"
  })
  return outfile
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

export interface Runner {
  readonly address: string
  readonly child: ChildProcess
  /** Agents this runner has started so far. */
  readonly agents: () => number
  /** Its provider calls' starts (+1) and ends (-1) so far, in order, at the system's monotonic clock in ns. */
  readonly calls: () => ReadonlyArray<readonly [at: bigint, change: 1 | -1]>
  readonly output: () => string
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string>
}

/** Starts a runner; resolves once it takes work, rejects if it exits before. */
export const startRunner = (
  bundle: string,
  url: string,
  port: number,
  options: { readonly maxConcurrent?: number; readonly latency?: number } = {}
): Promise<Runner> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [
      bundle, "runner", url, String(port), String(options.maxConcurrent ?? 10), String(options.latency ?? 0)
    ], { cwd: root, env: { ...process.env, NO_COLOR: "1" } })
    let output = ""
    let agents = 0
    const calls: Array<readonly [bigint, 1 | -1]> = []
    let ready = false
    const exited = new Promise<number | string>((done) => child.on("close", (code, signal) => done(code ?? signal ?? -1)))
    let partial = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      const text = chunk.toString()
      output += text
      // Whole lines only: a chunk may end inside one.
      const lines = (partial + text).split("\n")
      partial = lines.pop()!
      for (const line of lines) {
        if (line.startsWith("agent ")) {
          agents++
          calls.push([BigInt(line.slice(6)), 1])
        } else if (line.startsWith("done ")) calls.push([BigInt(line.slice(5)), -1])
        else if (line.startsWith("ready ") && !ready) {
          ready = true
          resolve({ address: line.slice(6), child, agents: () => agents, calls: () => calls, output: () => output, exited })
        }
      }
    })
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
    child.on("error", reject)
    void exited.then((code) => {
      if (!ready) reject(new Error(`runner exited with ${code} before it was ready:\n${output}`))
    })
  })

export interface Submitted {
  readonly status: string
  readonly error: string | undefined
  readonly finalSynthesis: string | undefined
  readonly agents: ReadonlyArray<{ agentId: string; status: string; content: string; errorTag?: string }>
  readonly totalCost: number
  readonly usage: unknown
  readonly runners: Record<string, string>
  readonly completions: Record<string, number>
  readonly makespanMillis: number
  readonly durable?: { readonly replayedSteps: number; readonly resumed: boolean } | undefined
  readonly failureTag?: string | undefined
  /** With STREAM=1, per agent: when its first delta arrived (monotonic ns), how many came, their text's digest. */
  readonly deltas: Record<string, { readonly first: string; readonly count: number; readonly text: string; readonly restarts: number }>
}

export interface SubmitOutcome {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly result: Submitted | undefined
  readonly child: ChildProcess
}

/** Runs a submitter: `args` after the URL are N LATENCY SEED MAX_CONCURRENT_AGENTS [RUN_ID] [local|resume]. */
export const submit = (
  bundle: string,
  url: string,
  args: ReadonlyArray<string | number>,
  onStart?: (child: ChildProcess) => void,
  env: Record<string, string> = {}
): Promise<SubmitOutcome> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, "submit", url, ...args.map(String)], {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1", ...env }
    })
    onStart?.(child)
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("error", reject)
    child.on("close", (code, signal) => {
      const last = stdout.trim().split("\n").at(-1)
      const result = last !== undefined && last.startsWith("{") ? JSON.parse(last) as Submitted : undefined
      resolve({ code, signal, stdout, stderr, result, child })
    })
  })
