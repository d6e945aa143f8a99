import { existsSync } from "node:fs"
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Format, Orchestrator, OrchestratorResult, Provider, ProviderError, Report } from "multi-agent-orchestration"
import { runSample, sampleProvider } from "../scripts/sample.js"
import { extractText, getDocumentProxy, getMeta } from "unpdf"
import { fixedWorkflow, recorder, tasks } from "./helpers.js"

/** The sample run: six researcher agents (one fails), two drummer syntheses, a camina and a final synthesis. */
const sample = runSample().pipe(Effect.provide(sampleProvider))

/** Reads the PDF back with a JavaScript PDF reader (pdf.js, through unpdf): its pages, title and text. */
const readPdf = (bytes: Uint8Array) =>
  Effect.promise(async () => {
    // A copy: pdf.js takes over the buffer it is given.
    const document = await getDocumentProxy(new Uint8Array(bytes))
    const { info } = await getMeta(document)
    const { text } = await extractText(document, { mergePages: false })
    return {
      pages: document.numPages,
      title: (info as { readonly Title?: string }).Title,
      text: text.join("\n"),
      page: (n: number) => Effect.succeed(text[n - 1] ?? "")
    }
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
          "duration: \"0ms\"",
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
        `### belter-1\n\n| Status | Type | Tier | Model | Tokens in / out | Cost | Time | Attempts |\n|---|---|---|---|--:|--:|--:|--:|\n| completed | researcher | belter | gpt-4o | ${agent.usage.inputTokens} / ${agent.usage.outputTokens} | ${
          Format.formatCost(agent.cost)
        } | 0ms | 1 |\n\n#### Research the hardware platforms`
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
      assert.strictEqual(pdf.title, "Quantum computing applications in drug discovery")
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

describe("Report.generate, the step after a run", () => {
  it.scoped("writes the reports asked for and returns the result with its documents; the run wrote nothing", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = path.join(yield* fs.makeTempDirectoryScoped(), "reports")
      const events = recorder()
      const result = yield* runSample({ onEvent: events.onEvent }).pipe(Effect.provide(sampleProvider))
      assert.deepStrictEqual(result.documents, [])
      assert.isFalse(yield* fs.exists(dir), "a run writes no files")
      assert.strictEqual(events.types().at(-1), "workflow_complete")

      const reported = yield* Report.generate(result, { formats: ["markdown", "pdf"], outputDirectory: dir })
      assert.deepStrictEqual(reported.documents.map((d) => d.format), ["markdown", "pdf"])
      for (const document of reported.documents) {
        assert.strictEqual(path.dirname(document.path), dir)
        assert.strictEqual(Number((yield* fs.stat(document.path)).size), document.sizeBytes)
      }
      assert.strictEqual(yield* fs.readFileString(reported.documents[0]!.path), Report.markdown(result))
      // Everything else is the run's result as it was.
      assert.deepStrictEqual({ ...reported, documents: [] }, { ...result, documents: [] })
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("fails with the ReportError of a format it could not write, and still writes the others", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const result = new OrchestratorResult.OrchestratorResult({ taskId: "t", title: "T", status: "completed" })
      yield* fs.writeFileString(`${dir}/taken`, "a file")
      const unwritable = yield* Effect.flip(Report.generate(result, { outputDirectory: `${dir}/taken/reports` }))
      assert.strictEqual(unwritable._tag, "ReportError")
      assert.strictEqual(unwritable.path, `${dir}/taken/reports`)

      // The PDF cannot be made (its font is missing): the Markdown is still written, and generate fails.
      const error = yield* Effect.flip(Report.generate(result, {
        formats: ["markdown", "pdf"],
        outputDirectory: `${dir}/out`,
        pdf: { fonts: { regular: "/nonexistent.ttf", bold: "", italic: "", mono: "" } }
      }))
      assert.strictEqual(error.format, "pdf")
      assert.deepStrictEqual([...(yield* fs.readDirectory(`${dir}/out`))], ["t.md"])
    }).pipe(Effect.provide(NodeContext.layer)))
})
