import { createHash } from "node:crypto"
import type { Difference } from "../../RunStore.js"
import type * as Workflow from "../../Workflow.js"

/** What a durable run is: the workflow's shape and code, the task, the validated configuration, the context. */
export interface Identity {
  readonly workflow: Readonly<Record<string, string>>
  readonly task: string
  readonly config: Readonly<Record<string, string>>
  readonly context: Readonly<Record<string, string>>
}

const hash = (text: string): string => createHash("sha256").update(text).digest("hex")

/** JSON with sorted keys, so that equal values give equal text. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : typeof v === "function"
      ? `function:${hash(String(v)).slice(0, 16)}`
      : v) ?? "undefined"

const describeValue = (value: unknown): string => {
  try {
    return canonical(value)
  } catch {
    return String(value)
  }
}

/**
 * The workflow as a flat map: each nested workflow's kind and settings, and the source text of each of its
 * functions (hashed). Values a function closes over are not visible here; they show through what the
 * functions return, which the journal replays.
 */
const outline = (workflow: Workflow.Workflow<unknown>, path: string, out: Record<string, string>): void => {
  const definition = workflow.definition as unknown as Record<string, unknown> & { readonly _tag: string }
  out[path] = definition._tag
  if (workflow.settings !== undefined) out[`${path}.settings`] = describeValue(workflow.settings)
  for (const [key, value] of Object.entries(definition)) {
    if (key === "_tag") continue
    if (typeof value === "function") out[`${path}.${key}`] = hash(value.toString()).slice(0, 16)
    else if (value === undefined || typeof value !== "object") out[`${path}.${key}`] = String(value)
    else if (key === "timeout") out[`${path}.${key}`] = describeValue(value)
  }
  const tag = definition._tag
  const children: ReadonlyArray<readonly [string, Workflow.Workflow<unknown>]> = tag === "Sequential"
    ? (definition.steps as ReadonlyArray<Workflow.Workflow<unknown>>).map((w, i) => [`${i + 1}`, w] as const)
    : tag === "Parallel"
    ? (definition.workflows as ReadonlyArray<Workflow.Workflow<unknown>>).map((w, i) => [`${i + 1}`, w] as const)
    : tag === "Conditional"
    ? Object.entries(definition.branches as Record<string, Workflow.Workflow<unknown>>)
    : tag === "Iterate"
    ? [["each", definition.workflow as Workflow.Workflow<unknown>]]
    : []
  for (const [label, child] of children) outline(child, `${path}/${label}:${child.name}`, out)
}

const flatten = (record: Readonly<Record<string, unknown>>): Record<string, string> =>
  Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined).map(([k, v]) => [k, describeValue(v)]))

export const identityOf = (
  workflow: Workflow.Workflow<unknown>,
  task: string,
  config: object,
  context: Readonly<Record<string, unknown>>
): Identity => {
  const shape: Record<string, string> = {}
  outline(workflow, workflow.name, shape)
  return { workflow: shape, task, config: flatten({ ...config }), context: flatten(context) }
}

export const fingerprintOf = (identity: Identity): string => hash(canonical(identity))

export const encodeIdentity = (identity: Identity): string => canonical(identity)

const keyDifferences = (
  part: Difference["part"],
  stored: Readonly<Record<string, string>>,
  given: Readonly<Record<string, string>>
): Array<Difference> => {
  const out: Array<Difference> = []
  for (const key of [...new Set([...Object.keys(stored), ...Object.keys(given)])].sort()) {
    if (stored[key] === given[key]) continue
    const difference: { -readonly [K in keyof Difference]: Difference[K] } = { part, key }
    if (stored[key] !== undefined) difference.stored = stored[key]
    if (given[key] !== undefined) difference.given = given[key]
    out.push(difference)
  }
  return out
}

/** What differs between the identity a run was stored with and the one given now. */
export const differences = (storedJson: string, given: Identity): ReadonlyArray<Difference> => {
  let stored: Identity
  try {
    stored = JSON.parse(storedJson) as Identity
  } catch {
    return [{ part: "workflow", stored: "(unreadable)", given: "(this workflow)" }]
  }
  const out: Array<Difference> = keyDifferences("workflow", stored.workflow ?? {}, given.workflow)
  if (stored.task !== given.task) out.push({ part: "task", stored: JSON.stringify(stored.task), given: JSON.stringify(given.task) })
  out.push(...keyDifferences("config", stored.config ?? {}, given.config))
  out.push(...keyDifferences("context", stored.context ?? {}, given.context))
  return out
}

export const parseIdentity = (json: string): Identity | undefined => {
  try {
    return JSON.parse(json) as Identity
  } catch {
    return undefined
  }
}
