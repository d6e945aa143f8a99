/**
 * The package as users get it: `npm pack` (which builds it, as `npm install` does in a clone), installed into a
 * new project with the README's install line, from the registry. The library runs; `npx orchestrate` runs from
 * the installed package; and nothing only the command needs is installed beside the library.
 */
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

const exec = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))

/** The install line of the README, word for word. */
export const installLine = "npm install multi-agent-orchestration effect@^3.22.4 @effect/platform@^0.97.2"

/** Runs a command, resolving with its exit code and output also when it fails. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  exec(command, args, { cwd, timeout: 180_000, env: { ...process.env, NO_COLOR: "1" } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === "number" ? error.code : -1,
      stdout: error.stdout ?? "",
      stderr: error.stderr ?? ""
    })
  )

describe("the published package", () => {
  it("installs with the README's line, runs as a library and as npx orchestrate, and brings nothing the library does not use", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mao-pack-"))
    await exec("npm", ["pack", "--pack-destination", dir, "--silent"], { cwd: root, timeout: 300_000 })
    const tarball = join(dir, (await readdir(dir)).find((file) => file.endsWith(".tgz"))!)
    const { stdout: listing } = await exec("tar", ["-tzf", tarball])
    for (const file of ["dist/index.js", "dist/index.d.ts", "dist/Orchestrator.d.ts", "dist/bin/orchestrate.js", "dist/bin/vendor.js"]) {
      assert.include(listing, `package/${file}`)
    }
    assert.notInclude(listing, "package/test/")

    // A new project, installed with the README's line (the package itself from the tarball).
    const project = join(dir, "consumer")
    await exec("mkdir", ["-p", project])
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
    const [npm, ...args] = installLine.replace("multi-agent-orchestration", tarball).split(" ")
    const install = await run(npm!, [...args, "--no-audit", "--no-fund", "--prefer-offline"], project)
    assert.strictEqual(install.code, 0, install.stderr)

    // Only what the library imports: no CLI parser, no Node platform layer (or its cluster and SQL peers), no
    // AI packages, no tsx.
    const installed = (name: string) => existsSync(join(project, "node_modules", name, "package.json"))
    for (const name of ["effect", "@effect/platform", "marked", "pdfkit"]) assert.isTrue(installed(name), name)
    for (const name of ["@effect/cli", "@effect/platform-node", "@effect/cluster", "@effect/sql", "@effect/rpc", "@effect/printer", "@effect/ai", "tsx"]) {
      assert.isFalse(installed(name), `${name} should not be installed`)
    }
    const effectVersion = JSON.parse(await readFile(join(project, "node_modules", "effect", "package.json"), "utf8")).version
    assert.match(effectVersion, /^3\./)

    await writeFile(
      join(project, "main.js"),
      `import { Effect } from "effect"
import { Orchestrator, Provider, SubTask, Workflow } from "multi-agent-orchestration"
export const workflow = Workflow.make({
  name: "consumer",
  decompose: () => Effect.succeed([new SubTask.SubTask({ id: "a", description: "Say hello" })]),
  execute: (subtask) => Effect.map(Provider.complete({ prompt: subtask.description }), (c) => c.content)
})
export default workflow
if (process.argv[2] === "--run-here") {
  const result = await Effect.runPromise(Orchestrator.run(workflow, "hello").pipe(Effect.provide(Provider.simulated())))
  console.log(result.status, result.agentResults.length)
}
`
    )
    const library = await run(process.execPath, ["main.js", "--run-here"], project)
    assert.strictEqual(library.stdout.trim(), "completed 1", library.stderr)

    // The command, from the installed package.
    const npx = (...argv: Array<string>) => run("npx", ["--no-install", "orchestrate", ...argv], project)
    const help = await npx("--help")
    assert.strictEqual(help.code, 0, help.stderr)
    assert.include(help.stdout, "orchestrate cascade <task> [options]")
    const cascade = await npx("cascade", "hello", "--provider", "simulated", "--belters", "2", "--drummers", "1", "--json", "--format", "md,pdf", "--out", "out")
    assert.strictEqual(cascade.code, 0, cascade.stderr)
    const result = JSON.parse(cascade.stdout)
    assert.strictEqual(result.status, "completed")
    assert.deepStrictEqual(result.documents.map((d: { format: string }) => d.format), ["markdown", "pdf"])
    const own = await npx("run", "main.js", "hello", "--provider", "simulated", "--json")
    assert.strictEqual(own.code, 0, own.stderr)
    assert.deepStrictEqual(JSON.parse(own.stdout).agentResults.map((r: { agentId: string }) => r.agentId), ["a"])

    // Without tsx, a TypeScript workflow says what to install; a JavaScript syntax error still shows its line.
    await writeFile(join(project, "workflow.ts"), "export { workflow as default } from \"./main.js\"\n")
    const typescript = await npx("run", "workflow.ts", "hello", "--provider", "simulated")
    assert.strictEqual(typescript.code, 2)
    assert.include(typescript.stderr, "running a TypeScript workflow needs tsx, which is not installed")
    await writeFile(join(project, "broken.mjs"), "export default {\n  name: \"broken\",,\n}\n")
    const broken = await npx("run", "broken.mjs", "hello", "--provider", "simulated")
    assert.strictEqual(broken.code, 2)
    assert.include(broken.stderr, "cannot load broken.mjs: syntax error at line 2")
  }, 600_000)

  it("peer dependencies are ranges, and only the packages the library imports", async () => {
    const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8"))
    assert.deepStrictEqual(Object.keys(manifest.peerDependencies).sort(), [
      "@effect/ai",
      "@effect/ai-anthropic",
      "@effect/ai-openai",
      "@effect/cluster",
      "@effect/opentelemetry",
      "@effect/platform",
      "@effect/platform-node",
      "@effect/rpc",
      "@effect/sql",
      "@effect/sql-libsql",
      "@effect/sql-pg",
      "@opentelemetry/api",
      "@opentelemetry/resources",
      "@opentelemetry/sdk-logs",
      "@opentelemetry/sdk-metrics",
      "@opentelemetry/sdk-trace-base",
      "@opentelemetry/sdk-trace-node",
      "@opentelemetry/sdk-trace-web",
      "@opentelemetry/semantic-conventions",
      "effect"
    ])
    for (const range of Object.values<string>(manifest.peerDependencies)) assert.match(range, /^[\^~]/)
    assert.strictEqual(manifest.scripts.prepare, "npm run build", "npm install in a clone builds dist/")
  })
})
