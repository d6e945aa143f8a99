import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { type Block, check, collect, exampleBlocks, markdownBlocks, type Problems } from "./docs/blocks.js"
import { anchors, brokenLinks } from "./docs/links.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const blocks = collect(root)

// Compiled with the documentation's blocks, in the same program, to show that the check can fail.
const wrongType: Block = {
  file: "canary.md",
  line: 10,
  code: [
    `import { Workflow } from "multi-agent-orchestration"`,
    `const name: string = Workflow.sequential([workflow]).name`,
    `const count: number = task`
  ].join("\n")
}
const ownWorkflow: Block = { file: "canary.md", line: 20, code: `const workflow = 1\nconst n: number = workflow` }

let compiled: Problems | undefined
const problems = (): Problems => (compiled ??= check(root, [...blocks, wrongType, ownWorkflow]))
const problemsOf = (block: Block): ReadonlyArray<string> => [...problems().global, ...problems().byBlock.get(block)!]

describe("the TypeScript in the documentation", () => {
  it("is found in the README, in docs/ and in the JSDoc examples", () => {
    assert.isAtLeast(blocks.filter((block) => block.file === "README.md").length, 10)
    assert.isAtLeast(blocks.filter((block) => block.file.startsWith("src/")).length, 10)
  })

  it("is read from ts and typescript fences, indented ones included, and from @example blocks only", () => {
    const markdown = [
      "```ts", "const a = 1", "```",
      "```bash", "npm test", "```",
      "- a list item:", "", "  ```typescript", "  const b = 2", "  ```",
      "````md", "```ts", "const inside = 3", "```", "````",
      "```TS title=x", "const c = 4", "```"
    ].join("\n")
    assert.deepStrictEqual(markdownBlocks("x.md", markdown), [
      { file: "x.md", line: 2, code: "const a = 1" },
      { file: "x.md", line: 10, code: "const b = 2" },
      { file: "x.md", line: 18, code: "const c = 4" }
    ])
    const source = [
      "/**", " * Text.", " *", " * ```ts", " * const notAnExample = 0", " * ```", " *", " * @example", " * ```ts",
      " * const a = 1", " *   indented()", " * ```", " */", "export const a = 1"
    ].join("\n")
    assert.deepStrictEqual(exampleBlocks("x.ts", source), [{ file: "x.ts", line: 10, code: "const a = 1\n  indented()" }])
  })

  it("fails with the block's file and line and the compiler's message, and supplies the prelude's names", () => {
    const found = problemsOf(wrongType)
    assert.strictEqual(found.length, 1, found.join("\n"))
    assert.match(found[0]!, /^canary\.md:12: TS2322: Type 'string' is not assignable to type 'number'\./)
    assert.deepStrictEqual(problemsOf(ownWorkflow), [])
  }, 120_000)

  it.each(blocks.map((block) => [`${block.file}:${block.line}`, block] as const))("%s type-checks", (_, block) => {
    const found = problemsOf(block)
    if (found.length > 0) assert.fail(`${found.length} problem(s):\n${found.join("\n")}`)
  }, 120_000)
})

describe("the links of the documentation", () => {
  it("are read as GitHub reads headings", () => {
    const headings = anchors("# Top\n## Try it (offline)\n```md\n## Not a heading\n```\n### One run, many clients: `EventHub`\n## Top")
    assert.deepStrictEqual([...headings], ["top", "try-it-offline", "one-run-many-clients-eventhub", "top-1"])
  })

  it("point at headings and files that exist", () => {
    const files = ["README.md", ...fs.readdirSync(`${root}docs`, { recursive: true, encoding: "utf8" })
      .filter((name) => name.endsWith(".md"))
      .map((name) => `docs/${name}`)]
    const broken = files.flatMap((file) => brokenLinks(root, file))
    if (broken.length > 0) assert.fail(`broken links:\n${broken.join("\n")}`)
  })
})

describe("the README's quick start", () => {
  it("runs, and prints what the README says it prints", async () => {
    const readme = fs.readFileSync(`${root}README.md`, "utf8")
    const section = /^## Quick start\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? ""
    const program = markdownBlocks("README.md", section)[0]?.code
    assert.isDefined(program, "the Quick start section has no TypeScript block")
    // The program as a reader would save it, but importing the library from this checkout.
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "quick-start-"))
    try {
      fs.symlinkSync(`${root}node_modules`, path.join(directory, "node_modules"), "dir")
      fs.writeFileSync(path.join(directory, "package.json"), `{ "type": "module" }\n`)
      const library = pathToFileURL(`${root}src/index.ts`).href
      fs.writeFileSync(path.join(directory, "quick-start.ts"), program!.replaceAll(`"multi-agent-orchestration"`, `"${library}"`))
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "quick-start.ts"], {
        cwd: directory,
        timeout: 90_000,
        env: { ...process.env, NO_COLOR: "1" }
      })
      const lines = stdout.trim().split("\n")
      assert.match(lines[0]!, /^## Synthesis: /)
      // The last line it prints is quoted in the section.
      assert.include(section, `\`${lines.at(-1)}\``)
    } finally {
      fs.rmSync(directory, { recursive: true, force: true })
    }
  }, 120_000)
})
