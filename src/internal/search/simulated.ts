/**
 * Offline stand-ins for the four sources: the same query, page and seed give the same hits, every time and on
 * every machine. Each hit is drawn from a generator seeded by (seed, source, query, position), so pages of any
 * size agree with each other. The URLs are under `simulated.invalid`, a name that never resolves, so that no
 * simulated citation can pass for a real one.
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import {
  type ArxivParameters,
  type GitHubParameters,
  type HackerNewsParameters,
  limitOf,
  pageOf,
  type SearchError,
  type SearchPage,
  type Source,
  type SourceName,
  type WikipediaParameters
} from "./model.js"

/** Options of `SearchTools.layerSimulated`. */
export interface SimulatedOptions {
  /** Another seed gives other hits. Default: 0. */
  readonly seed?: number | undefined
  /** How many hits a query has in all. Default: 12; 0 makes every search come back empty. */
  readonly total?: number | ((source: SourceName, query: string) => number) | undefined
  /** How long each search takes, waited with `Effect.sleep`. */
  readonly latency?: Duration.DurationInput | undefined
  /** The error of a search that should fail (calls are counted from 1 across the four tools), or undefined. */
  readonly fail?:
    | ((call: { readonly call: number; readonly source: SourceName; readonly query: string }) => SearchError | undefined)
    | undefined
}

export interface SimulatedHandlers {
  readonly arxiv: (params: ArxivParameters) => Effect.Effect<SearchPage, SearchError>
  readonly github: (params: GitHubParameters) => Effect.Effect<SearchPage, SearchError>
  readonly wikipedia: (params: WikipediaParameters) => Effect.Effect<SearchPage, SearchError>
  readonly hackerNews: (params: HackerNewsParameters) => Effect.Effect<SearchPage, SearchError>
}

const site = "https://simulated.invalid"
const newest = Date.UTC(2025, 5, 30)
const day = 86_400_000

const words = (query: string): Array<string> => query.toLowerCase().match(/[\p{L}\p{N}]+/gu)?.slice(0, 6) ?? ["topic"]
const titleCase = (query: string): string => words(query).map((w) => w[0]!.toUpperCase() + w.slice(1)).join(" ")
const slug = (query: string): string => words(query).join("-")

interface Draw {
  readonly int: (min: number, max: number) => Effect.Effect<number>
  readonly pick: <A>(items: ReadonlyArray<A>) => Effect.Effect<A>
  /** A date: descending with `index` when the search is by date, else anywhere in the last seven years. */
  readonly date: (index: number, byDate: boolean) => Effect.Effect<string>
}

const draw = (seed: number, source: SourceName, query: string, index: number): Draw => {
  const random = Random.make(`${seed}|${source}|${query.trim().toLowerCase()}|${index}`)
  const int = (min: number, max: number) => random.nextIntBetween(min, max + 1)
  return {
    int,
    pick: (items) => Effect.map(int(0, items.length - 1), (i) => items[i]!),
    date: (i, byDate) =>
      Effect.map(
        byDate ? int(0, 2) : int(0, 7 * 365),
        (offset) => DateTime.formatIso(DateTime.unsafeMake(newest - (byDate ? i * 3 + offset : offset) * day))
      )
  }
}

const arxivTitles = ["{Q}: A Survey", "Scaling {Q} with Sparse Methods", "On the Limits of {Q}", "Benchmarking {Q}", "Towards Robust {Q}", "{Q} in Practice: Lessons from Deployment"]
const authors = ["A. Okafor", "M. Lindqvist", "P. Sharma", "L. Moreau", "K. Tanaka", "R. Alvarez", "S. Novak", "J. Chen"]
const owners = ["openlab", "acme-research", "datacraft", "nimbus-dev", "tinyorg", "fieldwork"]
const languages = ["TypeScript", "Python", "Rust", "Go", "C++"]
const wikiTitles = ["{Q}", "History of {Q}", "{Q} (disambiguation)", "Applications of {Q}", "Timeline of {Q}", "List of {Q} topics"]
const hnTitles = ["Show HN: An open-source {q} toolkit", "Ask HN: Is anyone using {q} in production?", "{Q} explained", "What I learned building {q}", "The state of {q} in 2025"]

const fill = (template: string, query: string): string =>
  template.replace("{Q}", titleCase(query)).replace("{q}", words(query).join(" "))

const arxivHit = (d: Draw, query: string, i: number, byDate: boolean) =>
  Effect.gen(function*() {
    const date = yield* d.date(i, byDate)
    const id = `${date.slice(2, 4)}${date.slice(5, 7)}.${String(yield* d.int(0, 99_999)).padStart(5, "0")}`
    const by = [yield* d.pick(authors), yield* d.pick(authors)].join(", ")
    return {
      title: fill(yield* d.pick(arxivTitles), query),
      url: `${site}/arxiv/abs/${id}`,
      date,
      snippet: `${by}. A simulated abstract: we study ${words(query).join(" ")} and report what we found.`
    }
  })

const githubHit = (d: Draw, query: string, i: number, kind: GitHubParameters["kind"]) =>
  Effect.gen(function*() {
    const repo = `${yield* d.pick(owners)}/${slug(query)}${i === 0 ? "" : `-${i + 1}`}`
    const date = yield* d.date(i, false)
    if (kind === "issues") {
      const number = yield* d.int(1, 5000)
      return {
        title: `${titleCase(query)} fails on large inputs (${repo}#${number})`,
        url: `${site}/github/${repo}/issues/${number}`,
        date,
        snippet: "Issue, open. A simulated report with steps to reproduce."
      }
    }
    return {
      title: repo,
      url: `${site}/github/${repo}`,
      date,
      snippet: `A simulated ${words(query).join(" ")} project (${yield* d.int(3, 40_000)} stars, ${yield* d.pick(languages)})`
    }
  })

const wikipediaHit = (d: Draw, query: string, i: number) =>
  Effect.gen(function*() {
    const title = i < wikiTitles.length ? fill(wikiTitles[i]!, query) : `${titleCase(query)} (${i + 1})`
    return {
      title,
      url: `${site}/wikipedia/wiki/${encodeURIComponent(title.replace(/ /g, "_"))}`,
      date: yield* d.date(i, false),
      snippet: `${title} is a simulated encyclopedia article about ${words(query).join(" ")}.`
    }
  })

const hackerNewsHit = (d: Draw, query: string, i: number, byDate: boolean) =>
  Effect.gen(function*() {
    const id = yield* d.int(30_000_000, 44_000_000)
    return {
      title: fill(yield* d.pick(hnTitles), query),
      url: `${site}/hackernews/item?id=${id}`,
      date: yield* d.date(i, byDate),
      snippet: `${yield* d.int(1, 900)} points, ${yield* d.int(0, 400)} comments. A simulated discussion.`
    }
  })

export const make = (options: SimulatedOptions = {}): Effect.Effect<SimulatedHandlers> =>
  Effect.gen(function*() {
    const calls = yield* Ref.make(0)
    const seed = options.seed ?? 0
    const totalOf = (source: SourceName, query: string): number => {
      const total = options.total ?? 12
      return Math.max(0, Math.floor(typeof total === "function" ? total(source, query) : total))
    }
    const search = (
      source: SourceName,
      params: { readonly query: string; readonly limit: number | null; readonly page?: number | null },
      hit: (d: Draw, i: number) => Effect.Effect<Source>,
      paged = true
    ): Effect.Effect<SearchPage, SearchError> =>
      Effect.gen(function*() {
        const call = yield* Ref.updateAndGet(calls, (n) => n + 1)
        if (options.latency !== undefined) yield* Effect.sleep(options.latency)
        const failure = options.fail?.({ call, source, query: params.query })
        if (failure !== undefined) return yield* Effect.fail(failure)
        const limit = limitOf(params)
        const page = paged ? pageOf({ page: params.page ?? null }) : 1
        const total = params.query.trim() === "" ? 0 : totalOf(source, params.query)
        const first = (page - 1) * limit
        const indices = Array.from({ length: Math.max(0, Math.min(limit, total - first)) }, (_, k) => first + k)
        const sources = yield* Effect.forEach(indices, (i) => hit(draw(seed, source, params.query, i), i))
        const more = paged && first + limit < total
        return { sources, page, ...(paged ? { total } : {}), ...(more ? { nextPage: page + 1 } : {}) }
      })
    return {
      arxiv: (params) =>
        search("arxiv", params, (d, i) => arxivHit(d, params.query, i, params.sortBy !== "relevance")),
      github: (params) => search("github", params, (d, i) => githubHit(d, params.query, i, params.kind)),
      wikipedia: (params) => search("wikipedia", params, (d, i) => wikipediaHit(d, params.query, i), false),
      hackerNews: (params) =>
        search("hackernews", params, (d, i) => hackerNewsHit(d, params.query, i, params.sort === "date"))
    }
  })
