/**
 * arXiv through its Atom export API (`GET /api/query?search_query=…&start=…&max_results=…`), as its user
 * manual describes it. arXiv asks for one connection at a time and a pause between requests (three seconds),
 * so calls through one client are queued and spaced.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import { type ClientOptions, get, malformed, okBody } from "./http.js"
import {
  type ArxivParameters,
  limitOf,
  pageOf,
  type SearchError,
  SearchHttpError,
  type SearchPage,
  type Source
} from "./model.js"
import { collapse, isoDate, truncate } from "./text.js"
import { child, children, local, parse, textOf, type XmlElement } from "./xml.js"

export interface ArxivOptions extends ClientOptions {
  /** Default: "https://export.arxiv.org". */
  readonly baseUrl: string
  /** The least time between the starts of two requests. */
  readonly minInterval: Duration.DurationInput
}

const fieldPrefix = /(^|[\s(])(ti|au|abs|co|jr|cat|rn|id|all):/
const operators = new Set(["AND", "OR", "ANDNOT"])

/**
 * Plain words become `all:` terms joined by AND (quoted phrases stay phrases); a query already in arXiv's
 * syntax is sent as written.
 */
export const searchQuery = (query: string): string => {
  if (fieldPrefix.test(query)) return query.trim()
  const tokens = query.match(/"[^"]+"|[^\s"]+/g) ?? []
  const parts: Array<string> = []
  for (const token of tokens) {
    if (operators.has(token)) {
      if (parts.length > 0 && !operators.has(parts.at(-1)!)) parts.push(token)
      continue
    }
    if (parts.length > 0 && !operators.has(parts.at(-1)!)) parts.push("AND")
    parts.push(`all:${token}`)
  }
  if (operators.has(parts.at(-1) ?? "")) parts.pop()
  return parts.join(" ")
}

const isHttp = (url: string): boolean => /^https?:\/\//.test(url)

const sourceOf = (entry: XmlElement): Either.Either<Source, string> => {
  const title = collapse(textOf(child(entry, "title")))
  const id = collapse(textOf(child(entry, "id")))
  const alternate = children(entry, "link").find((link) => link.attributes.rel === "alternate")?.attributes.href
  const url = alternate ?? id
  if (title === "" || !isHttp(url)) return Either.left(`an entry without a title or an abs URL (id "${id}")`)
  const authors = children(entry, "author").map((author) => collapse(textOf(child(author, "name"))))
  const names = `${authors.slice(0, 3).join(", ")}${authors.length > 3 ? " et al." : ""}`
  const byline = names === "" ? "" : names.endsWith(".") ? `${names} ` : `${names}. `
  const date = isoDate(textOf(child(entry, "published"))) ?? isoDate(textOf(child(entry, "updated")))
  return Either.right({
    title,
    url,
    ...(date === undefined ? {} : { date }),
    snippet: truncate(`${byline}${collapse(textOf(child(entry, "summary")))}`)
  })
}

/** An error feed: one entry titled "Error" whose id points into arXiv's error list. */
const errorOf = (entries: ReadonlyArray<XmlElement>): string | undefined => {
  if (entries.length !== 1) return undefined
  const entry = entries[0]!
  const id = textOf(child(entry, "id"))
  if (!/\/api\/errors/.test(id) && collapse(textOf(child(entry, "title"))) !== "Error") return undefined
  return collapse(textOf(child(entry, "summary"))) || id
}

export const make = (
  client: HttpClient.HttpClient,
  options: ArxivOptions
): Effect.Effect<(params: ArxivParameters) => Effect.Effect<SearchPage, SearchError>> =>
  Effect.gen(function*() {
    const gate = yield* Effect.makeSemaphore(1)
    const lastStart = yield* Ref.make<number | undefined>(undefined)
    const interval = Duration.toMillis(options.minInterval)
    const spaced = <A, E>(request: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      gate.withPermits(1)(Effect.gen(function*() {
        const previous = yield* Ref.get(lastStart)
        const wait = previous === undefined ? 0 : previous + interval - (yield* Clock.currentTimeMillis)
        if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
        yield* Ref.set(lastStart, yield* Clock.currentTimeMillis)
        return yield* request
      }))

    return (params) =>
      Effect.gen(function*() {
        const limit = limitOf(params)
        const page = pageOf(params)
        const query = searchQuery(params.query)
        if (query === "") return { sources: [], page, total: 0 }
        const fetched = yield* spaced(get(client, "arxiv", options, `${options.baseUrl}/api/query`, {
          search_query: query,
          start: String((page - 1) * limit),
          max_results: String(limit),
          sortBy: params.sortBy,
          sortOrder: "descending"
        }))
        const parsed = parse(fetched.body)
        const feed = Either.getOrUndefined(parsed)
        const problem = errorOf(feed === undefined ? [] : children(feed, "entry"))
        // arXiv reports a rejected query as an error feed, with status 200 or 400.
        if (problem !== undefined) {
          return yield* Effect.fail(new SearchHttpError({ source: "arxiv", status: fetched.status, detail: problem }))
        }
        yield* okBody("arxiv", fetched)
        if (Either.isLeft(parsed)) return yield* Effect.fail(malformed("arxiv", fetched, `not XML: ${parsed.left}`))
        if (local(parsed.right.name) !== "feed") {
          return yield* Effect.fail(malformed("arxiv", fetched, `expected an Atom <feed>, got <${parsed.right.name}>`))
        }
        const total = Number(collapse(textOf(child(parsed.right, "totalResults"))))
        if (textOf(child(parsed.right, "totalResults")).trim() === "" || !Number.isInteger(total)) {
          return yield* Effect.fail(malformed("arxiv", fetched, "no opensearch:totalResults"))
        }
        const sources = Either.all(children(parsed.right, "entry").map(sourceOf))
        if (Either.isLeft(sources)) return yield* Effect.fail(malformed("arxiv", fetched, sources.left))
        const seen = (page - 1) * limit + sources.right.length
        return {
          sources: sources.right,
          page,
          total,
          ...(sources.right.length > 0 && seen < total ? { nextPage: page + 1 } : {})
        }
      })
  })
