/**
 * The planning call of the research patterns, as typed output: the plan is asked for as a JSON object with a
 * list of strings (sent as a JSON Schema where the API takes one), decoded with Schema, with one repair
 * attempt. A reply that is a numbered or bulleted list instead is read as one, without a repair call; a plan
 * that is still unusable is replaced by default items, and the note says so.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Provider } from "../Provider.js"
import type { ProviderError } from "../ProviderError.js"
import { exactly, parseList } from "./research.js"
import { outputSpec } from "./structured.js"
import { runLoop } from "./toolLoop.js"

const planSchema = (field: string, identifier: string, description: string) =>
  Schema.Struct({ [field]: Schema.Array(Schema.String) }).annotations({ identifier, description })

const plans = {
  subtasks: outputSpec(planSchema("subtasks", "ResearchPlan", "Research subtasks that together cover the task")),
  queries: outputSpec(planSchema("queries", "SearchPlan", "Distinct search queries that together cover the task"))
} as const

/** An item as a model writes it, without list markers or emphasis. */
const clean = (item: string): string =>
  item.replace(/^\s*(?:\(?\d{1,3}\s*[.):-]|[-*•+])\s+/, "").replace(/\*\*|__|`/g, "").trim()

export const plan = (
  field: keyof typeof plans,
  request: {
    readonly system: string
    readonly prompt: string
    readonly model?: string | undefined
    readonly temperature?: number | undefined
  },
  count: number,
  fallback: (i: number) => string
): Effect.Effect<{ readonly items: Array<string>; readonly note: string | undefined }, ProviderError, Provider> =>
  runLoop({
    ...request,
    output: plans[field] as never,
    salvage: (text) => {
      const items = parseList(text)
      return items.length === 0 ? undefined : { [field]: items }
    }
  }).pipe(
    Effect.map((loop) => (loop.value as Record<string, ReadonlyArray<string>>)[field]!),
    Effect.catchTags({ InvalidOutput: () => Effect.succeed([]), MaxStepsReached: () => Effect.succeed([]) }),
    Effect.map((items) => {
      const distinct = [...new Set(items.map(clean).filter((item) => item !== ""))]
      return exactly(distinct, count, fallback)
    })
  ) as Effect.Effect<{ readonly items: Array<string>; readonly note: string | undefined }, ProviderError, Provider>
