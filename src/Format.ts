/**
 * Human-readable durations and amounts of money.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import type { CostLine, CostSummary } from "./CostSummary.js"

/**
 * A duration in seconds (or any `DurationInput`) as "42s", "3m 7s" or "2h 5m". Values are truncated, not
 * rounded: 59.9 seconds is "59s".
 *
 * @since 0.1.0
 * @category Functions
 * @example
 * ```ts
 * import { Format } from "multi-agent-orchestration"
 *
 * Format.formatDuration(61.7) // "1m 1s"
 * Format.formatDuration("2 hours") // "2h 0m"
 * ```
 */
export const formatDuration = (duration: number | Duration.DurationInput): string => {
  const seconds = typeof duration === "number" ? duration : Duration.toSeconds(Duration.decode(duration))
  if (!Number.isFinite(seconds)) return String(seconds)
  if (seconds < 60) return `${Math.trunc(seconds)}s`
  if (seconds < 3600) return `${Math.trunc(seconds / 60)}m ${Math.trunc(seconds % 60)}s`
  return `${Math.trunc(seconds / 3600)}h ${Math.trunc((seconds % 3600) / 60)}m`
}

/**
 * US dollars: two decimals from one cent up; below a cent at least four decimals and at least two significant
 * digits, so that small LLM costs and budgets stay visible and distinct ($0.0010, $0.00012, $0.0000015).
 *
 * @since 0.1.0
 * @category Functions
 * @example
 * ```ts
 * import { Format } from "multi-agent-orchestration"
 *
 * Format.formatCost(0.001) // "$0.0010"
 * Format.formatCost(0.0000015) // "$0.0000015"
 * Format.formatCost(12.345) // "$12.35"
 * ```
 */
export const formatCost = (dollars: number): string => {
  const sign = dollars < 0 ? "-" : ""
  const abs = Math.abs(dollars)
  if (!Number.isFinite(abs)) return `${sign}$${abs}`
  if (abs >= 0.01) return `${sign}$${abs.toFixed(2)}`
  if (abs === 0) return "$0.0000"
  const decimals = Math.min(100, Math.max(4, 1 - Math.floor(Math.log10(abs))))
  return `${sign}$${abs.toFixed(decimals)}`
}

/**
 * A measured time in seconds, as precisely as it is worth showing: "350ms" below a second, "4.2s" below a
 * minute (truncated, as `formatDuration` does), then as `formatDuration` ("3m 7s"). Run durations, agent times and retry delays
 * are shown this way wherever they appear (progress, summaries, reports), so that one number reads the same.
 *
 * @since 0.1.0
 * @category Functions
 * @example
 * ```ts
 * import { Format } from "multi-agent-orchestration"
 *
 * Format.formatSeconds(0.25) // "250ms"
 * Format.formatSeconds(4.27) // "4.2s"
 * Format.formatSeconds(187) // "3m 7s"
 * ```
 */
export const formatSeconds = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return formatDuration(seconds)
  if (seconds < 1) return `${Math.floor(seconds * 1000)}ms`
  if (seconds < 60) return `${(Math.floor(seconds * 10) / 10).toFixed(1)}s`
  return formatDuration(seconds)
}

/**
 * A token count with thousands separators: 1234567 becomes "1,234,567".
 *
 * @since 0.1.0
 * @category Functions
 */
export const formatTokens = (tokens: number): string => Math.round(tokens).toLocaleString("en-US")

/**
 * A plain-text table of a run's costs by model and by tier, with totals; unpriced models are marked.
 *
 * @since 0.1.0
 * @category Functions
 */
export const costTable = (costs: CostSummary): string => {
  const rows: Array<ReadonlyArray<string>> = [["", "calls", "input tokens", "output tokens", "cost"]]
  const add = (label: string, line: CostLine) =>
    rows.push([label, String(line.calls), formatTokens(line.inputTokens), formatTokens(line.outputTokens), formatCost(line.cost)])
  const unpriced = new Set(costs.unpricedModels)
  for (const [model, line] of Object.entries(costs.byModel)) add(`model ${model}${unpriced.has(model) ? " (unpriced)" : ""}`, line)
  for (const [tier, line] of Object.entries(costs.byTier)) add(`tier ${tier}`, line)
  add("total", costs.total)
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  const render = (row: ReadonlyArray<string>) =>
    row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ")
  const rule = widths.map((width) => "-".repeat(width)).join("  ")
  return [render(rows[0]!), rule, ...rows.slice(1, -1).map(render), rule, render(rows.at(-1)!), `prices as of ${costs.pricesAsOf}`]
    .join("\n")
}
