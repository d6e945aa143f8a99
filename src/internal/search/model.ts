/**
 * The data of the search tools: what a search returns, and how it fails. `SearchTools` re-exports all of it;
 * it lives here so that the source clients can use it without importing the public module.
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"

/** The sources the search tools reach. */
export const SourceName = Schema.Literal("arxiv", "github", "wikipedia", "hackernews")
export type SourceName = typeof SourceName.Type

/** One search hit, as an agent cites it. */
export const Source = Schema.Struct({
  title: Schema.String,
  url: Schema.String.annotations({ description: "The page to cite" }),
  date: Schema.optional(
    Schema.String.annotations({ description: "ISO 8601: when it was published, last updated or last edited" })
  ),
  snippet: Schema.String.annotations({ description: "A short extract or description" })
}).annotations({ identifier: "Source" })
export interface Source extends Schema.Schema.Type<typeof Source> {}

/** One page of hits, with what is needed to ask for the next. */
export const SearchPage = Schema.Struct({
  sources: Schema.Array(Source),
  page: Schema.Int.annotations({ description: "The page returned, counted from 1" }),
  total: Schema.optional(Schema.Int.annotations({ description: "How many hits the source reports in all" })),
  nextPage: Schema.optional(Schema.Int.annotations({ description: "The page to ask for next; absent on the last" }))
}).annotations({ identifier: "SearchPage" })
export interface SearchPage extends Schema.Schema.Type<typeof SearchPage> {}

const query = Schema.String.annotations({ description: "What to search for" })
const limit = Schema.NullOr(Schema.Int).annotations({
  description: "How many results to return, 1 to 25; null for 5"
})
const page = Schema.NullOr(Schema.Int).annotations({ description: "Which page of results, from 1; null for the first" })

/** The default and the largest number of results of one call. */
export const defaultLimit = 5
export const maxLimit = 25

/** The limit a call asked for, within 1 to `maxLimit`. */
export const limitOf = (params: { readonly limit: number | null }): number =>
  Math.min(maxLimit, Math.max(1, params.limit ?? defaultLimit))

/** The page a call asked for, from 1. */
export const pageOf = (params: { readonly page: number | null }): number => Math.max(1, params.page ?? 1)

/**
 * Every parameter is required (nullable where a default applies), as OpenAI's strict function calling asks;
 * out-of-range numbers are clamped, not refused, so that a model's slip does not end its turn.
 */
export const ArxivParameters = Schema.Struct({
  query: query.annotations({
    description: "Words to search for, or arXiv query syntax with field prefixes (ti:, au:, abs:, cat:) and AND/OR/ANDNOT"
  }),
  sortBy: Schema.Literal("relevance", "submittedDate", "lastUpdatedDate").annotations({
    description: "Most relevant first, or newest first by first submission or by last update"
  }),
  limit,
  page
})
export interface ArxivParameters extends Schema.Schema.Type<typeof ArxivParameters> {}

export const GitHubParameters = Schema.Struct({
  query: query.annotations({
    description: "GitHub search syntax, e.g. `vector database language:rust stars:>100` or `memory leak is:issue`"
  }),
  kind: Schema.Literal("repositories", "issues").annotations({
    description: "Search repositories, or issues and pull requests"
  }),
  limit,
  page
})
export interface GitHubParameters extends Schema.Schema.Type<typeof GitHubParameters> {}

export const WikipediaParameters = Schema.Struct({ query, limit })
export interface WikipediaParameters extends Schema.Schema.Type<typeof WikipediaParameters> {}

export const HackerNewsParameters = Schema.Struct({
  query,
  sort: Schema.Literal("relevance", "date").annotations({ description: "Most relevant first, or newest first" }),
  limit,
  page
})
export interface HackerNewsParameters extends Schema.Schema.Type<typeof HackerNewsParameters> {}

const common = {
  source: SourceName,
  /** The HTTP status, when there was a response. */
  status: Schema.optional(Schema.Int),
  /** What went wrong, in the API's or the library's words. Never contains credentials. */
  detail: Schema.optional(Schema.String)
}

interface Common {
  readonly source: string
  readonly status?: number | undefined
  readonly detail?: string | undefined
}

const describe = (self: Common, what: string): string => {
  const status = self.status === undefined ? "" : ` (HTTP ${self.status})`
  const detail = self.detail === undefined || self.detail === "" ? "" : `: ${self.detail}`
  return `${self.source} search: ${what}${status}${detail}`
}

/**
 * The API refused the request for now. `retryAfter` and `resetAt` come from the API's own headers
 * (`retry-after`, `x-ratelimit-reset`): each is derived from the other when only one is sent.
 */
export class SearchRateLimited extends Schema.TaggedError<SearchRateLimited>(
  "multi-agent-orchestration/SearchTools/SearchRateLimited"
)("SearchRateLimited", {
  ...common,
  retryAfter: Schema.optional(Schema.DurationFromMillis),
  resetAt: Schema.optional(Schema.DateTimeUtc),
  /** `x-ratelimit-limit`: requests allowed in the window. */
  limit: Schema.optional(Schema.Int),
  /** `x-ratelimit-remaining`. */
  remaining: Schema.optional(Schema.Int)
}) {
  /** Worth retrying, after `retryAfter`. */
  get transient(): boolean {
    return true
  }
  override get message(): string {
    const after = this.retryAfter === undefined ? "" : `, retry after ${Duration.format(this.retryAfter)}`
    const reset = this.resetAt === undefined ? "" : ` (resets at ${DateTime.formatIso(this.resetAt)})`
    return describe(this, `rate limited${after}${reset}`)
  }
}

/** The API answered with an error status (or, as arXiv does, an error in place of results). */
export class SearchHttpError extends Schema.TaggedError<SearchHttpError>(
  "multi-agent-orchestration/SearchTools/SearchHttpError"
)("SearchHttpError", common) {
  /** Server errors may pass; a rejected query fails the same way again. */
  get transient(): boolean {
    return this.status !== undefined && this.status >= 500
  }
  override get message(): string {
    return describe(this, "request failed")
  }
}

/** The body could not be read as the API's documented format. */
export class SearchMalformedResponse extends Schema.TaggedError<SearchMalformedResponse>(
  "multi-agent-orchestration/SearchTools/SearchMalformedResponse"
)("SearchMalformedResponse", common) {
  /** Not worth retrying. */
  get transient(): boolean {
    return false
  }
  override get message(): string {
    return describe(this, "malformed response")
  }
}

/** No response: the connection failed or the request timed out. */
export class SearchUnreachable extends Schema.TaggedError<SearchUnreachable>(
  "multi-agent-orchestration/SearchTools/SearchUnreachable"
)("SearchUnreachable", common) {
  /** Worth retrying. */
  get transient(): boolean {
    return true
  }
  override get message(): string {
    return describe(this, "unreachable")
  }
}

/** How a search fails. */
export const SearchError = Schema.Union(SearchRateLimited, SearchHttpError, SearchMalformedResponse, SearchUnreachable)
export type SearchError = SearchRateLimited | SearchHttpError | SearchMalformedResponse | SearchUnreachable
