import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { promisify } from "node:util"
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Orchestrator, OrchestratorResult, Provider, ProviderError, Report } from "multi-agent-orchestration"
import { runSample, sampleProvider } from "../scripts/sample.js"
import { fixedWorkflow, recorder, tasks } from "./helpers.js"

const exec = promisify(execFile)

/** The sample run: six researcher agents (one fails), two drummer syntheses, a camina and a final synthesis. */
const sample = runSample().pipe(Effect.provide(sampleProvider))

/** Writes the PDF to a temporary file and reads it back with poppler's pdfinfo and pdftotext. */
const readPdf = (bytes: Uint8Array) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(yield* fs.makeTempDirectoryScoped(), "report.pdf")
    yield* fs.writeFile(file, bytes)
    const info = yield* Effect.promise(() => exec("pdfinfo", [file]))
    const pages = Number(/^Pages:\s+(\d+)$/m.exec(info.stdout)![1])
    const text = (yield* Effect.promise(() => exec("pdftotext", ["-layout", file, "-"]))).stdout
    const page = (n: number) =>
      Effect.map(Effect.promise(() => exec("pdftotext", ["-layout", "-f", String(n), "-l", String(n), file, "-"])), (out) => out.stdout)
    return { pages, text, page, info: info.stdout }
  })

const squash = (text: string) => text.replace(/\s+/g, " ")

const positions = (text: string, needles: ReadonlyArray<string>) => {
  const found = needles.map((needle) => text.indexOf(needle))
  found.forEach((index, i) => assert.isAtLeast(index, 0, `missing ${needles[i]}`))
  return found
}

const ascending = (numbers: ReadonlyArray<number>) => numbers.every((n, i) => i === 0 || n > numbers[i - 1]!)

describe("Report.markdown", () => {
  it.effect("has front matter, the final synthesis, a section per level and per agent, costs and failures", () =>
    Effect.gen(function*() {
      const result = yield* sample
      const md = Report.markdown(result)
      assert.isTrue(md.startsWith("---\ntitle: \"Quantum computing applications in drug discovery\"\n"))
      const front = md.slice(0, md.indexOf("\n---\n", 4))
      for (
        const line of [
          "task_id: \"sample-0001\"",
          "date: \"1970-01-01T00:00:00.000Z\"",
          "status: completed",
          "duration: \"0s\"",
          `total_cost: "$${result.totalCost.toFixed(2)}"`,
          `total_cost_usd: ${Number(result.totalCost.toFixed(6))}`,
          "models: [\"gpt-4o\"]",
          "agents: 6",
          "failed_agents: 1"
        ]
      ) assert.include(front, `\n${line}`)

      const order = positions(md, [
        "\n# Quantum computing applications in drug discovery\n",
        "| **Task id** | `sample-0001` |",
        "\n## Final synthesis\n",
        "\n### Synthesis: Quantum computing applications in drug discovery\n",
        "\n#### Sources\n",
        "\n## Drummer syntheses\n",
        "\n### drummer-1\n",
        "\n### drummer-2\n",
        "\n## Camina synthesis\n",
        "\n### camina-1\n",
        "\n## Agents\n",
        "\n### belter-1\n",
        "\n### belter-6\n",
        "\n## Costs\n",
        "\n### By model\n",
        "\n### By tier\n",
        "\n## Failures\n"
      ])
      assert.isTrue(ascending(order), "sections in order")

      // An agent: its facts as a table, its output with headings nested below its own.
      const agent = result.agentResults[0]!
      assert.include(
        md,
        `### belter-1\n\n| Status | Type | Tier | Model | Tokens in / out | Cost | Time | Attempts |\n|---|---|---|---|--:|--:|--:|--:|\n| completed | researcher | belter | gpt-4o | ${agent.usage.inputTokens} / ${agent.usage.outputTokens} | $${
          agent.cost.toFixed(4)
        } | 0.0s | 1 |\n\n#### Research the hardware platforms`
      )
      assert.include(md, "> **Error:** simulated gpt-4o: invalid request: the prompt was rejected by a content filter")
      assert.include(md, "*completed · gpt-4o · ")
      assert.include(md, "from belter-1, belter-2, belter-3*")

      const costs = result.costs!
      assert.include(
        md,
        `| gpt-4o | ${costs.total.calls} | ${costs.total.inputTokens.toLocaleString("en-US")} | ${
          costs.total.outputTokens.toLocaleString("en-US")
        } | $${costs.total.cost.toFixed(2)} |`
      )
      assert.include(md, `| belter | 5 | `)
      assert.include(md, `| synthesis | 3 | `)
      assert.include(md, "Prices as of ")
      assert.include(
        md,
        "## Failures\n\n- **belter-5** (failed): simulated gpt-4o: invalid request: the prompt was rejected by a content filter\n"
      )
      assert.isFalse(Report.markdown(result, { frontMatter: false }).startsWith("---"))
    }))

  it.effect("a failed run lists the run's failure; a run without cost tracking says so", () =>
    Effect.gen(function*() {
      const result = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "A failing task", {
        config: { enableCostTracking: false }
      }).pipe(
        Effect.provide(Provider.simulated({
          failures: {
            rate: 1,
            seed: 1,
            error: ({ model }) => new ProviderError.Authentication({ provider: "simulated", model, detail: "no key" })
          }
        }))
      )
      assert.strictEqual(result.status, "failed")
      const md = Report.markdown(result)
      assert.include(md, "status: failed")
      assert.include(md, "*No final synthesis was produced.*")
      assert.include(md, "*Cost tracking was off for this run.*")
      assert.include(md, `- **The run** (AllAgentsFailed): ${result.error}`)
      assert.include(md, "- **a** (failed): ")
      assert.include(md, "- **b** (failed): ")
    }))
})

describe("Report.pdf", () => {
  it.scoped("typesets the report: the synthesis's headings, lists, tables and code, the agents and the cost table", () =>
    Effect.gen(function*() {
      const result = yield* sample
      const pdf = yield* readPdf(yield* Report.pdf(result))
      assert.isAbove(pdf.pages, 1)
      assert.match(pdf.info, /^Title:\s+Quantum computing applications in drug discovery$/m)
      const text = squash(pdf.text)
      positions(text, [
        "Quantum computing applications in drug discovery",
        "Task id sample-0001",
        "Final synthesis",
        "Synthesis: Quantum computing applications in drug discovery",
        "Key findings",
        `• ${result.finalSynthesis!.split("\n").find((line) => line.startsWith("- "))!.slice(2)}`,
        // The sources table of the synthesis, as a table.
        "Agent Focus Status Words",
        "belter-5 cryptography failed 0",
        // The code block, without its fences.
        "const result = yield* Orchestrator.run(workflow, task, {",
        "Drummer syntheses",
        "Camina synthesis",
        "Agents",
        "belter-1",
        "belter-6",
        "Error: simulated gpt-4o: invalid request: the prompt was rejected by a content filter",
        "Costs",
        `gpt-4o ${result.costs!.total.calls} ${result.costs!.total.inputTokens.toLocaleString("en-US")}`,
        "Failures"
      ])
      // Rendered, not printed as Markdown.
      for (const syntax of ["## ", "**", "|---", "```", "- Costs"]) assert.notInclude(pdf.text, syntax)
      for (let n = 1; n <= pdf.pages; n++) assert.include(yield* pdf.page(n), `Page ${n} of ${pdf.pages}`)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a long report breaks across numbered pages, and a long table repeats its header", () =>
    Effect.gen(function*() {
      const ids = Array.from({ length: 30 }, (_, i) => `agent-${i + 1}`)
      const result = yield* Orchestrator.run(fixedWorkflow(tasks(...ids)), "A long report").pipe(
        Effect.provide(Provider.simulated())
      )
      const rows = Array.from({ length: 90 }, (_, i) => `| row-${i + 1} | ${"word ".repeat(i % 7 + 1)}| ${i} |`)
      const withTable = new OrchestratorResult.OrchestratorResult({
        ...result,
        finalSynthesis: `## Table\n\n| Name | Words | Count |\n|---|---|--:|\n${rows.join("\n")}\n`
      })
      const pdf = yield* readPdf(yield* Report.pdf(withTable))
      assert.isAtLeast(pdf.pages, 8)
      const last = yield* pdf.page(pdf.pages)
      assert.include(last, `Page ${pdf.pages} of ${pdf.pages}`)
      const second = squash(yield* pdf.page(2))
      assert.include(second, "Page 2 of")
      assert.include(second, "Name Words Count", "the header row is repeated on the next page")
      assert.include(squash(pdf.text), "row-90 word word word word word word 89")
      for (const id of ids) assert.include(pdf.text, `${id}\n`)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("replaces characters the standard fonts lack, or keeps them with a Unicode font", () =>
    Effect.gen(function*() {
      const result = new OrchestratorResult.OrchestratorResult({
        taskId: "t",
        title: "Unicode",
        status: "completed",
        finalSynthesis: "Costs → down ≥ 2× “quoted” — café"
      })
      const standard = yield* readPdf(yield* Report.pdf(result))
      assert.include(standard.text, "Costs -> down >= 2× “quoted” — café")
      const dejavu = "/usr/share/fonts/truetype/dejavu"
      if (existsSync(`${dejavu}/DejaVuSans.ttf`)) {
        const fonts = {
          regular: `${dejavu}/DejaVuSans.ttf`,
          bold: `${dejavu}/DejaVuSans-Bold.ttf`,
          italic: `${dejavu}/DejaVuSans-Oblique.ttf`,
          mono: `${dejavu}/DejaVuSansMono.ttf`
        }
        const unicode = yield* readPdf(yield* Report.pdf(result, { fonts }))
        assert.include(unicode.text, "Costs → down ≥ 2× “quoted” — café")
      }
      const missing = yield* Effect.flip(Report.pdf(result, { fonts: { regular: "/nonexistent.ttf", bold: "", italic: "", mono: "" } }))
      assert.strictEqual(missing._tag, "ReportError")
      assert.strictEqual(missing.format, "pdf")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("Report.write", () => {
  const listing = (dir: string) => Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readDirectory(dir))

  it.scoped("writes each format under a name made from the title and returns paths and sizes", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const result = yield* sample
      const dir = path.join(yield* fs.makeTempDirectoryScoped(), "out", "reports")
      const documents = yield* Report.write(result, { formats: ["markdown", "pdf"], outputDirectory: dir })
      const base = "quantum-computing-applications-in-drug-discovery"
      assert.deepStrictEqual(documents.map((d) => [d.format, d.path]), [
        ["markdown", path.join(dir, `${base}.md`)],
        ["pdf", path.join(dir, `${base}.pdf`)]
      ])
      for (const document of documents) {
        const info = yield* fs.stat(document.path)
        assert.strictEqual(Number(info.size), document.sizeBytes)
        assert.isAbove(document.sizeBytes, 1000)
      }
      assert.strictEqual(yield* fs.readFileString(documents[0]!.path), Report.markdown(result))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("never overwrites: a second report gets a numeric suffix, shared by its formats", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const result = new OrchestratorResult.OrchestratorResult({ taskId: "t", title: "Same title", status: "completed" })
      const first = yield* Report.write(result, { outputDirectory: dir })
      const before = yield* fs.readFileString(first[0]!.path)
      const other = new OrchestratorResult.OrchestratorResult({ ...result, finalSynthesis: "A different report" })
      const second = yield* Report.write(other, { outputDirectory: dir })
      assert.notStrictEqual(second[0]!.path, first[0]!.path)
      assert.isTrue(second[0]!.path.endsWith("same-title-2.md"))
      assert.strictEqual(yield* fs.readFileString(first[0]!.path), before)
      // A PDF of that name exists, the Markdown does not: both formats move on to the same suffix.
      yield* fs.writeFileString(`${dir}/other.pdf`, "not mine")
      const both = yield* Report.write(result, { outputDirectory: dir, fileName: "other", formats: ["markdown", "pdf"] })
      assert.deepStrictEqual(both.map((d) => d.path.slice(dir.length + 1)), ["other-2.md", "other-2.pdf"])
      assert.strictEqual(yield* fs.readFileString(`${dir}/other.pdf`), "not mine")
      assert.deepStrictEqual(
        [...(yield* listing(dir))].sort(),
        ["other-2.md", "other-2.pdf", "other.pdf", "same-title-2.md", "same-title.md"]
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("no title can place a file outside the output directory", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const root = yield* fs.makeTempDirectoryScoped()
      const dir = path.join(root, "a", "b")
      for (const title of ["../../etc/passwd", "/etc/passwd", "..\\..\\windows\\system32", "..", "???", "CON", "a/../../b"]) {
        const result = new OrchestratorResult.OrchestratorResult({ taskId: "t", title, status: "completed" })
        const [document] = yield* Report.write(result, { outputDirectory: dir })
        assert.strictEqual(path.dirname(document!.path), dir, title)
        assert.match(path.basename(document!.path), /^[a-z0-9-]+\.md$/)
      }
      assert.deepStrictEqual([...(yield* listing(root))], ["a"])
      assert.deepStrictEqual([...(yield* listing(path.join(root, "a")))], ["b"])
      assert.deepStrictEqual([...(yield* listing(dir))].sort(), [
        "a-b.md",
        "con-report.md",
        "etc-passwd-2.md",
        "etc-passwd.md",
        "report-2.md",
        "report.md",
        "windows-system32.md"
      ])
      assert.strictEqual(Report.safeFileName("Ünïcødé — Title!"), "unicode-title")
      assert.strictEqual(Report.safeFileName("x".repeat(200)).length, 80)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("fails with a ReportError naming the path when the directory cannot be made", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* fs.writeFileString(`${dir}/taken`, "a file")
      const result = new OrchestratorResult.OrchestratorResult({ taskId: "t", title: "T", status: "completed" })
      const error = yield* Effect.flip(Report.write(result, { outputDirectory: `${dir}/taken/reports` }))
      assert.strictEqual(error._tag, "ReportError")
      assert.strictEqual(error.path, `${dir}/taken/reports`)
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("documents in Orchestrator.run", () => {
  it.scoped("generateDocuments writes the reports before the terminal event and fills result.documents", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const events = recorder()
      const result = yield* runSample({
        config: { generateDocuments: true, documentFormats: ["markdown", "pdf"], outputDirectory: dir },
        onEvent: events.onEvent
      }).pipe(Effect.provide(sampleProvider))
      assert.strictEqual(result.status, "completed")
      assert.deepStrictEqual(result.documents.map((d) => d.format), ["markdown", "pdf"])
      for (const document of result.documents) {
        assert.strictEqual(Number((yield* fs.stat(document.path)).size), document.sizeBytes)
      }
      assert.deepStrictEqual(events.types().slice(-3), [
        "document_generation_start",
        "document_generation_complete",
        "workflow_complete"
      ])
      assert.deepStrictEqual(events.ofType("document_generation_start")[0]!.data.formats, ["markdown", "pdf"])
      const complete = events.ofType("document_generation_complete")[0]!
      assert.deepStrictEqual(complete.data, { documents: result.documents, errors: [] })
      const terminal = events.ofType("workflow_complete")[0]!
      assert.strictEqual(terminal.data.documentCount, 2)
      assert.strictEqual(terminal.data.result, result)
      // The Markdown written is the report of the result.
      assert.include(yield* fs.readFileString(result.documents[0]!.path), "\n## Final synthesis\n")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("without a FileSystem, the run completes and the complete event says what to provide", () =>
    Effect.gen(function*() {
      const events = recorder()
      const result = yield* runSample({
        config: { generateDocuments: true, documentFormats: ["markdown"] },
        onEvent: events.onEvent
      }).pipe(Effect.provide(sampleProvider))
      assert.strictEqual(result.status, "completed")
      assert.deepStrictEqual(result.documents, [])
      const complete = events.ofType("document_generation_complete")[0]!
      assert.deepStrictEqual(complete.data.documents, [])
      assert.strictEqual(complete.data.errors.length, 1)
      assert.include(complete.data.errors[0]!, "NodeContext.layer")
    }))

  it.effect("no document events unless generateDocuments is on", () =>
    Effect.gen(function*() {
      const events = recorder()
      yield* runSample({ onEvent: events.onEvent }).pipe(Effect.provide(sampleProvider))
      assert.isFalse(events.types().some((type) => type.startsWith("document_generation")))
    }))
})
