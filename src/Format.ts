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
 * US dollars: four decimals below one cent, so that small LLM costs stay visible, and two above.
 *
 * @since 0.1.0
 * @category Functions
 * @example
 * ```ts
 * import { Format } from "multi-agent-orchestration"
 *
 * Format.formatCost(0.001) // "$0.0010"
 * Format.formatCost(12.345) // "$12.35"
 * ```
 */
export const formatCost = (dollars: number): string => {
  const sign = dollars < 0 ? "-" : ""
  const abs = Math.abs(dollars)
  return `${sign}$${abs < 0.01 ? abs.toFixed(4) : abs.toFixed(2)}`
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
