/**
 * The sources of a swarm that searched with tools: what each agent's tools returned and its answer cites, and
 * the list of them all for the synthesis. Tool results are read by shape: any `{ sources: [{ title, url }] }`
 * (as `SearchTools` returns them).
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { AgentResult } from "../AgentResult.js"
import type { ToolCallRecord } from "./toolLoop.js"

/** A source an agent cites. */
export const Cited = Schema.Struct({ title: Schema.String, url: Schema.String, date: Schema.optional(Schema.String) })
export type Cited = typeof Cited.Type

const Found = Schema.Struct({ sources: Schema.Array(Cited) })
const decodeFound = Schema.decodeUnknownOption(Found)
const decodeCited = Schema.decodeUnknownOption(Schema.Array(Cited))

/** The sources the tools returned that the answer cites (by URL), in the order they were found. */
export const citedSources = (content: string, toolCalls: ReadonlyArray<ToolCallRecord>): Array<Cited> => {
  const seen = new Set<string>()
  const cited: Array<Cited> = []
  for (const call of toolCalls) {
    if (call.isFailure) continue
    const found = decodeFound(call.result)
    if (Option.isNone(found)) continue
    for (const source of found.value.sources) {
      if (seen.has(source.url) || !content.includes(source.url)) continue
      seen.add(source.url)
      cited.push(source.date === undefined ? { title: source.title, url: source.url } : source)
    }
  }
  return cited
}

/** A source of the synthesis: where it came from, and the agents that cite it. */
export interface Listed extends Cited {
  readonly domain: string
  readonly cited: ReadonlyArray<string>
}

/** Every source the completed agents cite, once, in the order of the agents. */
export const sourcesSection = (
  results: ReadonlyArray<AgentResult>,
  domainOf: (result: AgentResult) => string
): Array<Listed> => {
  const byUrl = new Map<string, { readonly source: Listed; readonly cited: Array<string> }>()
  for (const result of results) {
    const sources = decodeCited(result.metadata.sources)
    if (Option.isNone(sources)) continue
    for (const source of sources.value) {
      const entry = byUrl.get(source.url)
      if (entry !== undefined) {
        if (!entry.cited.includes(result.subtaskId)) entry.cited.push(result.subtaskId)
        continue
      }
      const cited = [result.subtaskId]
      byUrl.set(source.url, { source: { ...source, domain: domainOf(result), cited }, cited })
    }
  }
  return [...byUrl.values()].map((entry) => entry.source)
}
