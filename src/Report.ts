/**
 * Reports of a run, in Markdown and PDF: front matter (task id, date, status, duration, total cost, models),
 * the final synthesis, a section per tier or iteration, one per agent, the costs by model and by tier, and the
 * failures. `generate` and `write` save them through `@effect/platform`'s `FileSystem` under safe,
 * never-overwriting names; a run itself never writes files, so writing reports is this separate step, after it.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { lexer } from "marked"
import type { AgentResult } from "./AgentResult.js"
import type { CostLine, CostSummary } from "./CostSummary.js"
import { formatCost, formatSeconds, formatTokens } from "./Format.js"
import { type FontFiles, renderPdf } from "./internal/pdf.js"
import type { DocumentFormat } from "./OrchestratorConfig.js"
import { type GeneratedDocument, OrchestratorResult } from "./OrchestratorResult.js"
import type { SynthesisResult } from "./SynthesisResult.js"

/**
 * A report could not be produced or written; `path` is set for file errors.
 *
 * @since 0.1.0
 * @category Errors
 */
export class ReportError extends Data.TaggedError("ReportError")<{
  readonly format: DocumentFormat
  readonly reason: string
  readonly path?: string | undefined
  readonly cause?: unknown
}> {
  override get message(): string {
    return `${this.format} report${this.path === undefined ? "" : ` ${this.path}`}: ${this.reason}`
  }
}

// =============================================================================
// Markdown
// =============================================================================

/**
 * @since 0.1.0
 * @category Models
 */
export interface MarkdownOptions {
  /** Start with YAML front matter (task id, date, status, duration, total cost, models). Default true. */
  readonly frontMatter?: boolean | undefined
}

const cell = (text: string): string => text.replace(/\r?\n/g, " ").replace(/\|/g, "\\|")

const row = (cells: ReadonlyArray<string>): string => `| ${cells.map(cell).join(" | ")} |`

const table = (header: ReadonlyArray<string>, align: ReadonlyArray<"l" | "r">, rows: ReadonlyArray<ReadonlyArray<string>>) =>
  [row(header), `|${align.map((a) => (a === "r" ? "--:" : "---")).join("|")}|`, ...rows.map(row)].join("\n")

const capitalize = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1)

/**
 * Moves the headings of a Markdown text down so that its top headings sit one level below a section heading of
 * depth `depth` (at most `######`); the rest of the text is kept as it is.
 */
const nest = (markdown: string, depth: number): string => {
  const tokens = lexer(markdown)
  const top = Math.min(...tokens.map((token) => (token.type === "heading" ? token.depth as number : 7)))
  const shift = Math.max(0, depth + 1 - top)
  return tokens.map((token) =>
    token.type === "heading"
      ? `${"#".repeat(Math.min(6, token.depth + shift))} ${token.text}${/\n*$/.exec(token.raw)![0]}`
      : token.raw
  ).join("").trim()
}

const dateOf = (result: OrchestratorResult): string | undefined => result.completedAt ?? result.startedAt

const validDate = (iso: string | undefined): Date => {
  const date = new Date(iso ?? 0)
  return Number.isNaN(date.getTime()) ? new Date(0) : date
}

const readableDate = (iso: string): string => `${iso.slice(0, 16).replace("T", " ")} UTC`

const modelsOf = (result: OrchestratorResult): ReadonlyArray<string> => {
  const models = new Set<string>(Object.keys(result.costs?.byModel ?? {}))
  for (const item of [...result.agentResults, ...result.synthesisResults]) {
    if (item.model !== undefined) models.add(item.model)
  }
  return [...models]
}

const isFailed = (status: string): boolean => status === "failed" || status === "cancelled"

const frontMatter = (result: OrchestratorResult): string => {
  const failed = result.agentResults.filter((agent) => isFailed(agent.status)).length
  const date = dateOf(result)
  const lines = [
    "---",
    `title: ${JSON.stringify(result.title)}`,
    `task_id: ${JSON.stringify(result.taskId)}`,
    ...(date === undefined ? [] : [`date: ${JSON.stringify(date)}`]),
    `status: ${result.status}`,
    `duration: ${JSON.stringify(formatSeconds(result.executionTime))}`,
    `duration_seconds: ${Number(result.executionTime.toFixed(3))}`,
    `total_cost: ${JSON.stringify(formatCost(result.totalCost))}`,
    `total_cost_usd: ${Number(result.totalCost.toFixed(6))}`,
    `models: [${modelsOf(result).map((model) => JSON.stringify(model)).join(", ")}]`,
    `agents: ${result.agentResults.length}`,
    `failed_agents: ${failed}`,
    "---"
  ]
  return lines.join("\n")
}

const summary = (result: OrchestratorResult): string => {
  const completed = result.agentResults.filter((agent) => agent.status === "completed").length
  const failed = result.agentResults.length - completed
  const date = dateOf(result)
  const models = modelsOf(result)
  const facts: Array<readonly [string, string]> = [
    ["Task id", `\`${result.taskId}\``],
    ...(date === undefined ? [] : [["Date", readableDate(date)] as const]),
    ["Status", `${result.status}${result.error === undefined ? "" : `: ${result.error}`}`],
    ["Duration", formatSeconds(result.executionTime)],
    ["Total cost", formatCost(result.totalCost)],
    ["Tokens", `${formatTokens(result.usage.inputTokens)} in / ${formatTokens(result.usage.outputTokens)} out`],
    ["Models", models.length === 0 ? "none" : models.join(", ")],
    ["Agents", `${completed} completed${failed > 0 ? `, ${failed} failed or cancelled` : ""} (${result.agentResults.length})`]
  ]
  return table(["", ""], ["l", "l"], facts.map(([key, value]) => [`**${key}**`, value]))
}

const synthesisSections = (result: OrchestratorResult): Array<string> => {
  const levels = new Map<string, Array<SynthesisResult>>()
  for (const synthesis of result.synthesisResults) {
    // The final synthesis has a section of its own.
    if (synthesis.content === result.finalSynthesis && synthesis.content !== "") continue
    const group = levels.get(synthesis.level) ?? []
    group.push(synthesis)
    levels.set(synthesis.level, group)
  }
  return [...levels].map(([level, group]) => {
    const items = group.map((synthesis) => {
      const facts = [
        synthesis.status,
        synthesis.model,
        `${formatTokens(synthesis.usage.inputTokens + synthesis.usage.outputTokens)} tokens`,
        synthesis.cost > 0 ? formatCost(synthesis.cost) : undefined,
        synthesis.executionTime > 0 ? formatSeconds(synthesis.executionTime) : undefined,
        synthesis.sourceAgentIds.length > 0 ? `from ${synthesis.sourceAgentIds.join(", ")}` : undefined
      ].filter((fact) => fact !== undefined)
      const body = synthesis.error === undefined ? nest(synthesis.content, 3) : `> **Error:** ${synthesis.error}`
      return `### ${synthesis.synthesisId}\n\n*${facts.join(" · ")}*\n\n${body || "*(empty)*"}`
    })
    return `## ${capitalize(level)} ${group.length === 1 ? "synthesis" : "syntheses"}\n\n${items.join("\n\n")}`
  })
}

const agentSection = (agent: AgentResult): string => {
  const facts = table(
    ["Status", "Type", "Tier", "Model", "Tokens in / out", "Cost", "Time", "Attempts"],
    ["l", "l", "l", "l", "r", "r", "r", "r"],
    [[
      agent.status,
      agent.agentType,
      agent.tier ?? "",
      agent.model ?? "",
      `${formatTokens(agent.usage.inputTokens)} / ${formatTokens(agent.usage.outputTokens)}`,
      formatCost(agent.cost),
      formatSeconds(agent.executionTime),
      String(agent.attempts)
    ]]
  )
  const body = [
    agent.error === undefined ? undefined : `> **Error:** ${agent.error.replace(/\r?\n/g, " ")}`,
    agent.content.trim() === "" ? undefined : nest(agent.content, 3)
  ].filter((part) => part !== undefined)
  return [`### ${agent.agentId}`, facts, ...body].join("\n\n")
}

const costTables = (costs: CostSummary): string => {
  // Prompt-cache columns appear when the run read from or wrote to a cache; their tokens are part of the input.
  const reads = costs.total.cachedInputTokens > 0
  const writes = (costs.total.cacheWriteInputTokens ?? 0) > 0
  const line = (label: string, entry: CostLine) => [
    label,
    String(entry.calls),
    formatTokens(entry.inputTokens),
    ...(reads ? [formatTokens(entry.cachedInputTokens)] : []),
    ...(writes ? [formatTokens(entry.cacheWriteInputTokens ?? 0)] : []),
    formatTokens(entry.outputTokens),
    formatCost(entry.cost)
  ]
  const columns = [
    "Calls",
    "Input tokens",
    ...(reads ? ["Cache reads"] : []),
    ...(writes ? ["Cache writes"] : []),
    "Output tokens",
    "Cost"
  ]
  const total = line("**Total**", costs.total).map((text, i) => (i === 0 ? text : `**${text}**`))
  const unpriced = new Set(costs.unpricedModels)
  const align = ["l" as const, ...columns.map(() => "r" as const)]
  const byModel = Object.entries(costs.byModel).map(([model, entry]) =>
    line(unpriced.has(model) ? `${model} (unpriced)` : model, entry)
  )
  const byTier = Object.entries(costs.byTier).map(([tier, entry]) => line(tier, entry))
  const notes = [
    `Prices as of ${costs.pricesAsOf}.`,
    reads || writes
      ? `Input tokens include ${
        reads && writes ? "cache reads and cache writes" : reads ? "cache reads" : "cache writes"
      }, each priced at its own rate.`
      : undefined,
    costs.unpricedModels.length > 0
      ? `No price is known for ${costs.unpricedModels.join(", ")}: counted at $0.`
      : undefined
  ].filter((note) => note !== undefined)
  return [
    "### By model",
    table(["Model", ...columns], align, [...byModel, total]),
    "### By tier",
    table(["Tier", ...columns], align, [...byTier, total]),
    notes.join(" ")
  ].join("\n\n")
}

const failures = (result: OrchestratorResult): string => {
  const items = [
    ...(result.status === "failed" && result.error !== undefined
      ? [`- **The run** (${result.failure?._tag ?? "failed"}): ${result.error}`]
      : result.status === "cancelled"
      ? [`- **The run** was cancelled${result.error === undefined ? "" : `: ${result.error}`}`]
      : []),
    ...result.agentResults.filter((agent) => isFailed(agent.status)).map((agent) =>
      `- **${agent.agentId}** (${agent.status}): ${(agent.error ?? "no reason given").replace(/\r?\n/g, " ")}`
    ),
    ...result.synthesisResults.filter((synthesis) => isFailed(synthesis.status)).map((synthesis) =>
      `- **${synthesis.synthesisId}** (${synthesis.level} synthesis, ${synthesis.status}): ${
        (synthesis.error ?? "no reason given").replace(/\r?\n/g, " ")
      }`
    )
  ]
  return items.length === 0 ? "No failures." : items.join("\n")
}

const body = (result: OrchestratorResult): string =>
  [
    `# ${result.title.replace(/\r?\n/g, " ")}`,
    summary(result),
    "## Final synthesis",
    result.finalSynthesis === undefined || result.finalSynthesis.trim() === ""
      ? "*No final synthesis was produced.*"
      : nest(result.finalSynthesis, 2),
    ...synthesisSections(result),
    "## Agents",
    result.agentResults.length === 0 ? "*No agent ran.*" : result.agentResults.map(agentSection).join("\n\n"),
    "## Costs",
    result.costs === undefined ? "*Cost tracking was off for this run.*" : costTables(result.costs),
    "## Failures",
    failures(result)
  ].join("\n\n") + "\n"

/**
 * The report as Markdown: YAML front matter, the title, a summary table, the final synthesis, a section per
 * synthesis level (tier or iteration), one per agent (status, model, tokens, cost, time, error, output), the
 * costs by model and by tier, and the failures. Headings inside the agents' texts are pushed down so that
 * they nest under their section.
 *
 * @since 0.1.0
 * @category Rendering
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator, Provider, Report, Workflow } from "multi-agent-orchestration"
 *
 * declare const workflow: Workflow.Workflow
 *
 * const program = Orchestrator.run(workflow, "Survey battery chemistries").pipe(
 *   Effect.map((result) => Report.markdown(result)),
 *   Effect.provide(Provider.simulated())
 * )
 * ```
 */
export const markdown = (result: OrchestratorResult, options: MarkdownOptions = {}): string =>
  options.frontMatter === false ? body(result) : `${frontMatter(result)}\n\n${body(result)}`

// =============================================================================
// PDF
// =============================================================================

/**
 * @since 0.1.0
 * @category Models
 */
export interface PdfOptions {
  /**
   * TrueType or OpenType fonts (paths or bytes) for text the standard PDF fonts cannot show. Without them the
   * report uses Helvetica and Courier, which cover Western European text; other characters are replaced by
   * close equivalents ("→" by "->") or "?".
   */
  readonly fonts?: FontFiles | undefined
  /** Default A4. */
  readonly pageSize?: "A4" | "LETTER" | undefined
}

export type {
  /**
   * @since 0.1.0
   * @category Models
   */
  FontFiles
} from "./internal/pdf.js"

/**
 * The report as a PDF: the same content as `markdown` (without the front matter, whose facts are in the
 * summary table), laid out with pdfkit. Headings, paragraphs, lists, code blocks and tables of the syntheses
 * are typeset, not printed as Markdown; long reports break across pages, a table repeats its header on the
 * next page, pages are numbered, and the document outline lists the sections.
 *
 * @since 0.1.0
 * @category Rendering
 */
export const pdf = (result: OrchestratorResult, options: PdfOptions = {}): Effect.Effect<Uint8Array, ReportError> =>
  Effect.tryPromise({
    try: () =>
      renderPdf(markdown(result, { frontMatter: false }), {
        title: result.title,
        creationDate: validDate(dateOf(result)),
        fonts: options.fonts,
        pageSize: options.pageSize
      }),
    catch: (cause) =>
      new ReportError({
        format: "pdf",
        reason: cause instanceof Error ? cause.message : String(cause),
        cause
      })
  }).pipe(Effect.withSpan("Report.pdf"))

// =============================================================================
// Files
// =============================================================================

/**
 * @since 0.1.0
 * @category Models
 */
export interface WriteOptions {
  /** Default `["markdown"]`. */
  readonly formats?: ReadonlyArray<DocumentFormat> | undefined
  /** Created if missing. Default `"reports"`. */
  readonly outputDirectory?: string | undefined
  /** The file name without extension; made safe like the title. Default: from the title. */
  readonly fileName?: string | undefined
  readonly pdf?: PdfOptions | undefined
}

const reserved = /^(con|prn|aux|nul|com\d|lpt\d)$/
const latin: Readonly<Record<string, string>> = { ß: "ss", æ: "ae", ø: "o", œ: "oe", ł: "l", đ: "d", þ: "th" }

/**
 * A file name made from a title: lower-case ASCII letters, digits and dashes, at most 80 characters, never
 * empty; so it cannot name another directory (`"../../etc/passwd"` gives `"etc-passwd"`).
 *
 * @since 0.1.0
 * @category Files
 */
export const safeFileName = (title: string): string => {
  const slug = title
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[ßæøœłđþ]/g, (char) => latin[char]!)
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, 80)
    .replace(/-+$/, "")
  if (slug === "") return "report"
  return reserved.test(slug) ? `${slug}-report` : slug
}

const extensions: Readonly<Record<DocumentFormat, string>> = { markdown: "md", pdf: "pdf" }

const render = (result: OrchestratorResult, format: DocumentFormat, options: WriteOptions) =>
  format === "pdf"
    ? pdf(result, options.pdf)
    : Effect.sync(() => new TextEncoder().encode(markdown(result)))

const isAlreadyExists = (error: unknown): boolean =>
  typeof error === "object" && error !== null && "reason" in error && error.reason === "AlreadyExists"

/** @internal */
export interface Written {
  readonly documents: ReadonlyArray<GeneratedDocument>
  readonly errors: ReadonlyArray<ReportError>
}

/**
 * Writes every format it can and reports the others' errors, instead of stopping at the first.
 *
 * @internal
 */
export const writeEach = (
  result: OrchestratorResult,
  options: WriteOptions = {}
): Effect.Effect<Written, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const formats: ReadonlyArray<DocumentFormat> = [...new Set<DocumentFormat>(options.formats ?? ["markdown"])]
    const directory = options.outputDirectory ?? "reports"
    const base = safeFileName(options.fileName ?? result.title)
    const nameFor = (n: number, format: DocumentFormat) => `${n === 1 ? base : `${base}-${n}`}.${extensions[format]}`
    const made = yield* fs.makeDirectory(directory, { recursive: true }).pipe(
      Effect.mapError((cause) => new ReportError({ format: formats[0] ?? "markdown", path: directory, reason: cause.message, cause })),
      Effect.either
    )
    if (made._tag === "Left") return { documents: [], errors: [made.left] }

    // The first suffix free for every format, so that the formats of one report share a name.
    let first = 1
    while (first < 10_000) {
      const taken = yield* Effect.forEach(formats, (format) =>
        fs.exists(path.join(directory, nameFor(first, format))).pipe(Effect.orElseSucceed(() => false)))
      if (!taken.includes(true)) break
      first++
    }

    const documents: Array<GeneratedDocument> = []
    const errors: Array<ReportError> = []
    for (const format of formats) {
      const bytes = yield* Effect.either(render(result, format, options))
      if (bytes._tag === "Left") {
        errors.push(bytes.left)
        continue
      }
      // "wx" never replaces a file: one that appeared meanwhile moves this format to the next free suffix.
      let n = first
      let written: GeneratedDocument | ReportError | undefined
      while (written === undefined) {
        const file = path.join(directory, nameFor(n, format))
        const attempt = yield* Effect.either(fs.writeFile(file, bytes.right, { flag: "wx" }))
        if (attempt._tag === "Right") {
          written = { format, path: file, sizeBytes: bytes.right.byteLength }
        } else if (isAlreadyExists(attempt.left) && n < first + 10_000) {
          n++
        } else {
          written = new ReportError({ format, path: file, reason: attempt.left.message, cause: attempt.left })
        }
      }
      if (written instanceof ReportError) errors.push(written)
      else documents.push(written)
    }
    return { documents, errors }
  })

/**
 * Writes the report in each format to `outputDirectory` (created if missing) and returns what was written, as
 * `GeneratedDocument`s with the path and size in bytes.
 *
 * - The file name comes from the title (`safeFileName`), so no title can place a file outside
 *   `outputDirectory`.
 * - An existing file is never replaced: the name gets a numeric suffix (`title-2.md`), the same for every format
 *   of one report.
 * - Fails with the first `ReportError` (the files of the other formats are still written).
 *
 * Needs `FileSystem` and `Path`: provide `NodeContext.layer` from `@effect/platform-node`.
 *
 * @since 0.1.0
 * @category Files
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Report, type OrchestratorResult } from "multi-agent-orchestration"
 *
 * declare const result: OrchestratorResult.OrchestratorResult
 *
 * const program = Report.write(result, { formats: ["markdown", "pdf"], outputDirectory: "reports" }).pipe(
 *   Effect.provide(NodeContext.layer)
 * )
 * ```
 */
export const write = (
  result: OrchestratorResult,
  options: WriteOptions = {}
): Effect.Effect<ReadonlyArray<GeneratedDocument>, ReportError, FileSystem.FileSystem | Path.Path> =>
  Effect.flatMap(writeEach(result, options), ({ documents, errors }) =>
    errors.length > 0 ? Effect.fail(errors[0]!) : Effect.succeed(documents)).pipe(Effect.withSpan("Report.write"))

/**
 * Writes the reports of a finished run, the step after `Orchestrator.run` (which writes no files), and returns
 * the result with `documents` listing the files written. Every format is attempted; when one could not be
 * written, it fails with that format's `ReportError` (the others are still on disk). Naming follows `write`:
 * from the title, never replacing a file. Defaults: Markdown, into `reports`.
 *
 * Needs `FileSystem` and `Path`: provide `NodeContext.layer` from `@effect/platform-node`.
 *
 * @since 0.1.0
 * @category Files
 * @example
 * ```ts
 * import { NodeContext } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { DreamCascade, Orchestrator, Provider, Report } from "multi-agent-orchestration"
 *
 * const program = Orchestrator.run(DreamCascade.make({ belterCount: 3 }), "Survey battery chemistries").pipe(
 *   Effect.flatMap((result) => Report.generate(result, { formats: ["markdown", "pdf"], outputDirectory: "reports" })),
 *   Effect.provide([Provider.simulated(), NodeContext.layer])
 * )
 * ```
 */
export const generate = (
  result: OrchestratorResult,
  options: WriteOptions = {}
): Effect.Effect<OrchestratorResult, ReportError, FileSystem.FileSystem | Path.Path> =>
  Effect.flatMap(writeEach(result, options), ({ documents, errors }) =>
    errors.length > 0
      ? Effect.fail(errors[0]!)
      : Effect.succeed(new OrchestratorResult({ ...result, documents: [...result.documents, ...documents] }, true))).pipe(
      Effect.withSpan("Report.generate")
    )
