/** Child processes for the durable-run tests: the fixture, bundled once, started, and killed mid-run. */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { build } from "esbuild"

const root = fileURLToPath(new URL("..", import.meta.url))

/**
 * Bundles test/fixtures/durable-run.ts into one file run by plain `node`: the pid is node's, and a start costs
 * a fraction of loading each module through tsx (which matters with dozens of processes on a busy machine).
 */
export const bundleFixture = async (): Promise<string> => {
  // Inside the project, so that the packages left outside the bundle resolve from its node_modules.
  const cache = join(root, "node_modules/.cache")
  mkdirSync(cache, { recursive: true })
  const outfile = join(mkdtempSync(join(cache, "durable-fixture-")), "durable-run.mjs")
  await build({
    entryPoints: [join(root, "test/fixtures/durable-run.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile,
    // Native drivers and packages that read files beside them stay in node_modules.
    external: ["libsql", "@libsql/*", "pg", "pg-*", "tsx", "pdfkit", "marked"],
    banner: { js: "import { createRequire } from \"node:module\"; const require = createRequire(import.meta.url);" },
    logLevel: "error"
  })
  return outfile
}

/** The bundle's exports, to run the fixture in the test process with the very code the child processes run. */
export interface FixtureModule {
  readonly runAll: (options: {
    readonly store: string
    readonly runs: ReadonlyArray<{ readonly runId: string; readonly after?: number }>
    readonly seed: number
    readonly plain?: boolean
  }) => Promise<Array<Finished>>
  readonly recordedCalls: (store: string, runId: string) => Promise<number>
}

export const importFixture = (bundle: string): Promise<FixtureModule> =>
  import(pathToFileURL(bundle).href) as Promise<FixtureModule>

export interface Finished {
  readonly status: string
  readonly finalSynthesis: string | undefined
  readonly agents: ReadonlyArray<{ agentId: string; status: string; content: string; usage: unknown }>
  readonly usage: unknown
  readonly totalCost: number
  readonly durable: { previousCost: number; resumedCost: number; totalCost: number; replayedSteps: number } | undefined
  readonly calls: number
}

export interface Outcome {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly calls: number
  /** Calls by run id, for a process of several runs. */
  readonly callsOf: ReadonlyMap<string, number>
  readonly stdout: string
  readonly stderr: string
  readonly result: Finished | undefined
}

/**
 * Runs the fixture; with `killAfterCalls`, sends SIGKILL as soon as that many provider calls have started, with
 * `killWhen`, as soon as it holds of the calls started so far by run id.
 */
export const runFixture = (
  bundle: string,
  args: ReadonlyArray<string>,
  options: {
    readonly killAfterCalls?: number
    readonly killWhen?: (callsOf: ReadonlyMap<string, number>) => boolean
    readonly env?: Record<string, string>
  } = {}
): Promise<Outcome> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [bundle, ...args], { cwd: root, env: { ...process.env, NO_COLOR: "1", ...options.env } })
    let stdout = ""
    let stderr = ""
    let calls = 0
    const callsOf = new Map<string, number>()
    let partial = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      const text = chunk.toString()
      stdout += text
      const lines = (partial + text).split("\n")
      partial = lines.pop()!
      for (const line of lines) {
        if (line !== "call" && !line.startsWith("call ")) continue
        const runId = line.slice(5)
        callsOf.set(runId, (callsOf.get(runId) ?? 0) + 1)
        calls++
        if (options.killAfterCalls !== undefined && calls === options.killAfterCalls) child.kill("SIGKILL")
        if (options.killWhen?.(callsOf) === true) child.kill("SIGKILL")
      }
    })
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("error", reject)
    child.on("close", (code, signal) => {
      const last = stdout.trim().split("\n").at(-1)
      const result = last !== undefined && last.startsWith("{") ? JSON.parse(last) as Finished : undefined
      resolve({ code, signal, calls, callsOf, stdout, stderr, result })
    })
  })

/** A seeded generator of integers in [0, n) (mulberry32). */
export const seeded = (seed: number) => {
  let state = seed >>> 0
  return (n: number): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
}

/** Runs `task` over `items`, at most `limit` at once. */
export const limited = async <A, B>(items: ReadonlyArray<A>, limit: number, task: (item: A) => Promise<B>) => {
  const results = new Array<B>(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await task(items[i]!)
    }
  }))
  return results
}
