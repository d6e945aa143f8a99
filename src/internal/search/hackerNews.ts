/**
 * Hacker News through its Algolia search API, as documented at hn.algolia.com/api: `GET /api/v1/search` (by
 * relevance) or `/api/v1/search_by_date` (newest first), stories only, pages counted from 0 (`nbPages` says
 * how many there are).
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { type ClientOptions, decodeJson, get, okBody } from "./http.js"
import {
  type HackerNewsParameters,
  limitOf,
  pageOf,
  type SearchError,
  type SearchPage,
  type Source
} from "./model.js"
import { collapse, htmlText, isoDate, truncate } from "./text.js"

export interface HackerNewsOptions extends ClientOptions {
  /** Default: "https://hn.algolia.com". */
  readonly baseUrl: string
}

const text = Schema.optional(Schema.NullOr(Schema.String))
const count = Schema.optional(Schema.NullOr(Schema.Number))

const Results = Schema.Struct({
  hits: Schema.Array(Schema.Struct({
    objectID: Schema.String,
    title: text,
    story_title: text,
    url: text,
    author: text,
    points: count,
    num_comments: count,
    story_text: text,
    created_at: Schema.String
  })),
  nbHits: Schema.Int,
  page: Schema.Int,
  nbPages: Schema.Int
})
type Hit = typeof Results.Type["hits"][number]

/** Where Hacker News shows an item and its discussion. */
export const itemUrl = (id: string): string => `https://news.ycombinator.com/item?id=${encodeURIComponent(id)}`

const sourceOf = (hit: Hit): Source => {
  const discussion = itemUrl(hit.objectID)
  const date = isoDate(hit.created_at)
  const facts = [
    hit.points === null || hit.points === undefined ? undefined : `${hit.points} points`,
    hit.num_comments === null || hit.num_comments === undefined ? undefined : `${hit.num_comments} comments`,
    hit.author === null || hit.author === undefined ? undefined : `by ${hit.author}`
  ].filter((fact) => fact !== undefined)
  const story = htmlText(hit.story_text ?? "")
  return {
    title: collapse(hit.title ?? hit.story_title ?? "") || `Hacker News item ${hit.objectID}`,
    url: hit.url === null || hit.url === undefined || hit.url === "" ? discussion : hit.url,
    ...(date === undefined ? {} : { date }),
    snippet: truncate(`${facts.join(", ")}${facts.length > 0 ? ". " : ""}Discussion: ${discussion}${story === "" ? "" : `. ${story}`}`)
  }
}

export const make = (
  client: HttpClient.HttpClient,
  options: HackerNewsOptions
): (params: HackerNewsParameters) => Effect.Effect<SearchPage, SearchError> =>
(params) =>
  Effect.gen(function*() {
    const page = pageOf(params)
    if (params.query.trim() === "") return { sources: [], page, total: 0 }
    const endpoint = params.sort === "date" ? "search_by_date" : "search"
    const fetched = yield* get(client, "hackernews", options, `${options.baseUrl}/api/v1/${endpoint}`, {
      query: params.query.trim(),
      tags: "story",
      page: String(page - 1),
      hitsPerPage: String(limitOf(params))
    })
    const body = yield* okBody("hackernews", fetched)
    const found = yield* decodeJson("hackernews", Results, fetched, body)
    return {
      sources: found.hits.map(sourceOf),
      page,
      total: found.nbHits,
      ...(found.page + 1 < found.nbPages ? { nextPage: found.page + 2 } : {})
    }
  })
