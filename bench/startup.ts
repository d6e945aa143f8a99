/**
 * The CLI's start-up: `orchestrate --help` from the built `dist/`, as a user runs it, the median of 10 runs,
 * beside a bare `node -e 0` on the same machine at the same time.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const bin = fileURLToPath(new URL("../../dist/bin/orchestrate.js", import.meta.url))

const medianMillis = (args: ReadonlyArray<string>, runs = 10): number => {
  const times: Array<number> = []
  for (let i = 0; i < runs; i++) {
    const started = performance.now()
    const run = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] })
    times.push(performance.now() - started)
    if (run.status !== 0) throw new Error(`node ${args.join(" ")} exited ${run.status}: ${run.stderr}`)
  }
  return times.sort((a, b) => a - b)[Math.floor((runs - 1) / 2)]!
}

export const startup = (): { readonly help: number; readonly node: number } => ({
  help: medianMillis([bin, "--help"]),
  node: medianMillis(["-e", "0"])
})
