/**
 * A run without durability never loads the SQL packages: child processes run with a preloaded hook that logs
 * every module they load (ESM resolutions, and CommonJS modules), so that a static import of @effect/sql, a
 * driver or its native binding anywhere on the path of a plain run fails here. The same hook on a durable run
 * sees them, which shows that the log would catch them.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = fileURLToPath(new URL("..", import.meta.url))
const register = join(root, "test/fixtures/loadLog/register.mjs")

/** What a module path or URL is, when it is one of the durable-run packages. */
const sqlPackage = (loaded: string): string | undefined =>
  /node_modules\/((@effect\/sql(-[a-z]+)?)|(@libsql\/[^/]+)|libsql|pg|pg-[a-z-]+|postgres-[a-z-]+)\//.exec(loaded)?.[1]

/** Runs `args` under tsx with the load log; returns the exit code, output and the SQL packages it loaded. */
const loadedBy = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string; sql: ReadonlySet<string>; modules: number }>(
    (resolve, reject) => {
      const log = join(mkdtempSync(join(tmpdir(), "load-log-")), "loaded.txt")
      const child = spawn(process.execPath, ["--import", "tsx", "--import", register, ...args], {
        cwd: root,
        env: { ...process.env, LOAD_LOG: log, NO_COLOR: "1", OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "" }
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk) => (stdout += chunk))
      child.stderr.on("data", (chunk) => (stderr += chunk))
      child.on("error", reject)
      child.on("close", (code) => {
        const lines = readFileSync(log, "utf8").split("\n").filter((line) => line !== "")
        const sql = new Set(lines.flatMap((line) => sqlPackage(line) ?? []))
        resolve({ code, stdout, stderr, sql, modules: lines.length })
      })
    }
  )

describe("a run without durability", () => {
  it("Orchestrator.run loads none of @effect/sql, @effect/sql-libsql, @effect/sql-pg, @libsql/*, libsql, pg", async () => {
    const plain = await loadedBy([join(root, "test/fixtures/plain-run.ts")])
    assert.strictEqual(plain.code, 0, plain.stderr)
    assert.strictEqual(plain.stdout.trim(), "completed")
    // The log saw the library and effect load.
    assert.isAbove(plain.modules, 100)
    assert.deepStrictEqual([...plain.sql], [])
  }, 120_000)

  it("the CLI without --durable loads none of them; with --durable it loads the SQLite store's", async () => {
    const bin = join(root, "src/bin/orchestrate.ts")
    const args = [bin, "cascade", "Tides", "--provider", "simulated", "--belters", "2", "--quiet"]
    const [plain, durable] = await Promise.all([
      loadedBy(args),
      loadedBy([...args, "--store", join(mkdtempSync(join(tmpdir(), "load-log-store-")), "runs.db")])
    ])
    assert.strictEqual(plain.code, 0, plain.stderr)
    assert.deepStrictEqual([...plain.sql], [])
    assert.strictEqual(durable.code, 0, durable.stderr)
    assert.includeMembers([...durable.sql], ["@effect/sql", "@effect/sql-libsql", "@libsql/client"])
  }, 120_000)
})
