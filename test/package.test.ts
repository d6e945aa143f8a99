import { execFile } from "node:child_process"
import { mkdtemp, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

const exec = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))

describe("the published package", () => {
  it("npm pack gives a package another project can import, with type declarations", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mao-pack-"))
    await exec("npm", ["pack", "--pack-destination", dir, "--silent"], { cwd: root, timeout: 120_000 })
    const tarball = (await readdir(dir)).find((file) => file.endsWith(".tgz"))!
    const { stdout: listing } = await exec("tar", ["-tzf", join(dir, tarball)])
    assert.include(listing, "package/dist/index.js")
    assert.include(listing, "package/dist/index.d.ts")
    assert.include(listing, "package/dist/Orchestrator.d.ts")
    assert.notInclude(listing, "package/test/")

    // A consumer project: the tarball unpacked as its dependency, its peers taken from this checkout.
    const project = join(dir, "consumer")
    const modules = join(project, "node_modules")
    await mkdir(join(modules, "multi-agent-orchestration"), { recursive: true })
    await exec("tar", ["-xzf", join(dir, tarball), "-C", join(modules, "multi-agent-orchestration"), "--strip-components=1"])
    // What npm would install beside it: the dependencies and the peers, linked from this checkout.
    const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8"))
    for (const name of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
      await mkdir(dirname(join(modules, name)), { recursive: true })
      await symlink(join(root, "node_modules", name), join(modules, name))
    }
    await writeFile(join(project, "package.json"), JSON.stringify({ type: "module" }))
    await writeFile(
      join(project, "main.js"),
      `import { Effect } from "effect"
import { Orchestrator, Provider, SubTask, Workflow } from "multi-agent-orchestration"
const workflow = Workflow.make({
  name: "consumer",
  decompose: () => Effect.succeed([new SubTask.SubTask({ id: "a", description: "Say hello" })]),
  execute: (subtask) => Effect.map(Provider.complete({ prompt: subtask.description }), (c) => c.content)
})
const result = await Effect.runPromise(Orchestrator.run(workflow, "hello").pipe(Effect.provide(Provider.simulated())))
console.log(result.status, result.agentResults.length)
`
    )
    const { stdout } = await exec(process.execPath, ["main.js"], { cwd: project })
    assert.strictEqual(stdout.trim(), "completed 1")

    // The `orchestrate` executable it declares runs from the package as installed.
    assert.strictEqual(manifest.bin.orchestrate, "./dist/bin/orchestrate.js")
    const executable = join(modules, "multi-agent-orchestration", "dist", "bin", "orchestrate.js")
    assert.match(await readFile(executable, "utf8"), /^#!\/usr\/bin\/env node\n/)
    const cli = await exec(process.execPath, [executable, "cascade", "hello", "--provider", "simulated", "--belters", "2", "--drummers", "1", "--json"], {
      cwd: project
    })
    assert.strictEqual(JSON.parse(cli.stdout).status, "completed")
  }, 180_000)
})
