import type { AgentResult } from "../AgentResult.js"
import { SubTask } from "../SubTask.js"
import { emptyIds, emptyMetadata } from "./empty.js"
import { unsafeMake } from "./unsafe.js"
import type * as Workflow from "../Workflow.js"

/**
 * The items of a numbered or bulleted list in a model's reply: "1. x", "2) x", "3 - x", "- x", "* x", "• x";
 * Markdown emphasis is dropped, preambles and blank lines are skipped, duplicates are kept once.
 */
export const parseList = (reply: string): Array<string> => {
  const items: Array<string> = []
  for (const line of reply.split(/\r?\n/)) {
    const match = /^\s*(?:\(?\d{1,3}\s*[.):\-]|[-*•+])\s+(.*\S)\s*$/.exec(line)
    if (match === null) continue
    const item = match[1]!.replace(/\*\*|__|`/g, "").replace(/^#+\s*/, "").trim()
    if (item.length > 0 && !items.includes(item)) items.push(item)
  }
  return items
}

/**
 * Exactly `count` items: the first `count` of `items`, padded from `fallback(i)` for the missing ones, with a
 * note saying what was padded (undefined when nothing was).
 */
export const exactly = (
  items: ReadonlyArray<string>,
  count: number,
  fallback: (i: number) => string
): { readonly items: Array<string>; readonly note: string | undefined } => {
  const kept = items.slice(0, count)
  const missing = count - kept.length
  for (let i = kept.length; i < count; i++) kept.push(fallback(i))
  const note = missing <= 0
    ? undefined
    : items.length === 0
    ? `the plan had no usable list; used ${count} default subtasks`
    : `the plan listed ${items.length} of ${count} subtasks; added ${missing} default ones`
  return { items: kept, note }
}

/** The run context's plain values as "Context:" lines, and earlier pipeline steps' outputs, for prompts. */
export const background = (context: Workflow.RunContext): string => {
  const lines = Object.entries(context.context)
    .filter(([, value]) => ["string", "number", "boolean"].includes(typeof value))
    .map(([key, value]) => `- ${key}: ${String(value)}`)
  const parts: Array<string> = []
  if (lines.length > 0) parts.push(`Context:\n${lines.join("\n")}`)
  for (const step of context.previous) parts.push(`Earlier step "${step.name}" found:\n${step.output}`)
  return parts.length === 0 ? "" : `\n\n${parts.join("\n\n")}`
}

/** The completed results among `results`, in order. */
export const completedOf = (results: ReadonlyArray<AgentResult>): Array<AgentResult> =>
  results.filter((result) => result.status === "completed")

/** Splits `items` into `groups` runs of as-even-as-possible length, in order (sizes differ by at most one). */
export const splitEvenly = <A>(items: ReadonlyArray<A>, groups: number): Array<Array<A>> => {
  const out: Array<Array<A>> = []
  const base = Math.floor(items.length / groups)
  const extra = items.length % groups
  let at = 0
  for (let g = 0; g < groups; g++) {
    const size = base + (g < extra ? 1 : 0)
    out.push(items.slice(at, at + size))
    at += size
  }
  return out
}

/** Whether `value` is an integer of at least `min`, or absent. */
export const countProblem = (owner: string, field: string, value: number | undefined, min: number): Array<string> =>
  value === undefined || (Number.isInteger(value) && value >= min)
    ? []
    : [`${owner}: ${field} must be an integer of at least ${min}, got ${value}`]

/** Whether `value` is a positive number, or absent. */
export const secondsProblem = (owner: string, field: string, value: number | undefined): Array<string> =>
  value === undefined || (Number.isFinite(value) && value > 0) ? [] : [`${owner}: ${field} must be positive, got ${value}`]

/**
 * A subtask built by a pattern from values it has already checked: the same instance `new SubTask` would
 * make, without validating it again (a 50-agent cascade builds 61 of them on its critical path).
 */
export const trustedSubTask = (
  props: Pick<SubTask, "id" | "description" | "agentType"> & Partial<Omit<SubTask, "id" | "description" | "agentType">>
): SubTask =>
  unsafeMake(SubTask, {
    priority: 0,
    dependencies: emptyIds,
    context: emptyMetadata,
    metadata: emptyMetadata,
    ...props
  })
