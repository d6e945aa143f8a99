/**
 * Wikipedia through its REST APIs, as documented: the core search (`GET /w/rest.php/v1/search/page?q=…&limit=…`)
 * finds the pages, then the page summary (`GET /api/rest_v1/page/summary/{title}`) of each gives its URL, its
 * lead paragraph and when it was last edited. Summaries are asked for one at a time, as Wikimedia's etiquette
 * asks. The search has no paging.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { type ClientOptions, decodeJson, get, okBody } from "./http.js"
import { limitOf, type SearchError, type SearchPage, type Source, type WikipediaParameters } from "./model.js"
import { collapse, htmlText, isoDate, truncate } from "./text.js"

export interface WikipediaOptions extends ClientOptions {
  /** The wiki. Default: "https://en.wikipedia.org". */
  readonly baseUrl: string
}

const text = Schema.optional(Schema.NullOr(Schema.String))

const SearchResults = Schema.Struct({
  pages: Schema.Array(Schema.Struct({
    key: Schema.String,
    title: Schema.String,
    excerpt: text,
    description: text
  }))
})
type Found = typeof SearchResults.Type["pages"][number]

const Summary = Schema.Struct({
  title: Schema.optional(Schema.String),
  extract: text,
  timestamp: text,
  content_urls: Schema.optional(Schema.Struct({ desktop: Schema.Struct({ page: Schema.String }) }))
})

export const make = (
  client: HttpClient.HttpClient,
  options: WikipediaOptions
): (params: WikipediaParameters) => Effect.Effect<SearchPage, SearchError> => {
  const headers = { accept: "application/json" }
  const fromSearch = (page: Found): Source => ({
    title: page.title,
    url: `${options.baseUrl}/wiki/${encodeURIComponent(page.key)}`,
    snippet: truncate(htmlText(page.excerpt ?? "") || collapse(page.description ?? ""))
  })
  // The summary only improves a hit: when it cannot be had the hit stays as the search gave it, unless the
  // API asks to slow down.
  const summarised = (page: Found): Effect.Effect<Source, SearchError> =>
    get(client, "wikipedia", options, `${options.baseUrl}/api/rest_v1/page/summary/${encodeURIComponent(page.key)}`, {}, headers)
      .pipe(
        Effect.flatMap((fetched) =>
          Effect.flatMap(okBody("wikipedia", fetched), (body) => decodeJson("wikipedia", Summary, fetched, body))
        ),
        Effect.map((summary): Source => {
          const found = fromSearch(page)
          const date = isoDate(summary.timestamp)
          const extract = collapse(summary.extract ?? "")
          return {
            title: summary.title ?? found.title,
            url: summary.content_urls?.desktop.page ?? found.url,
            ...(date === undefined ? {} : { date }),
            snippet: extract === "" ? found.snippet : truncate(extract)
          }
        }),
        Effect.catchIf((error) => error._tag !== "SearchRateLimited", () => Effect.succeed(fromSearch(page)))
      )

  return (params) =>
    Effect.gen(function*() {
      if (params.query.trim() === "") return { sources: [], page: 1, total: 0 }
      const fetched = yield* get(client, "wikipedia", options, `${options.baseUrl}/w/rest.php/v1/search/page`, {
        q: params.query.trim(),
        limit: String(limitOf(params))
      }, headers)
      const body = yield* okBody("wikipedia", fetched)
      const found = yield* decodeJson("wikipedia", SearchResults, fetched, body)
      const sources = yield* Effect.forEach(found.pages, summarised)
      return { sources, page: 1 }
    })
}
