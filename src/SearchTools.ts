/**
 * Search tools for agents: arXiv, GitHub, Wikipedia and Hacker News as `@effect/ai` `Tool`s in one `Toolkit`.
 * Each search returns a Schema-typed page of `Source`s (title, URL, date, snippet) and fails with a typed
 * `SearchError` (a rate limit with the API's own reset time, an HTTP error, a malformed body, no response).
 * The tools use failure mode "return", so a failed search goes back to the model as the tool's result instead
 * of ending its turn.
 *
 * Two sets of handlers implement them: `layerReal` calls the APIs through `HttpClient` (`layerRealFetch`
 * brings the fetch client), and `layerSimulated` answers offline, deterministically, for demos and tests.
 * `domainTools` says which tool each Dream Swarm domain searches with.
 *
 * @since 0.1.0
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Schema from "effect/Schema"
import * as ArxivClient from "./internal/search/arxiv.js"
import * as GitHubClient from "./internal/search/github.js"
import * as HackerNewsClient from "./internal/search/hackerNews.js"
import * as Model from "./internal/search/model.js"
import * as Simulated from "./internal/search/simulated.js"
import * as WikipediaClient from "./internal/search/wikipedia.js"

// ============================================================================================================
// Data and errors
// ============================================================================================================

/**
 * The data and errors of the tools:
 *
 * - `Source`: one hit, `{ title, url, date?, snippet }`, `date` in ISO 8601 when the source has one;
 * - `SearchPage`: `{ sources, page, total?, nextPage? }`, pages counted from 1, `nextPage` absent on the last;
 * - `SourceName`: "arxiv" | "github" | "wikipedia" | "hackernews";
 * - `SearchRateLimited`: the API refused the request for now (HTTP 429, a 403 with `x-ratelimit-remaining: 0`
 *   or `retry-after`, arXiv's "Rate exceeded."), with `retryAfter` and `resetAt` read from the API's headers;
 * - `SearchHttpError`: an error status, or (arXiv) an error feed for a rejected query;
 * - `SearchMalformedResponse`: the body was not the API's documented format;
 * - `SearchUnreachable`: no response (connection failed, or the request timed out);
 * - `SearchError`: the union of the four, and the failure schema of every tool.
 *
 * Each error has `source`, `status?`, `detail?` and `transient` (whether retrying may succeed).
 *
 * @since 0.1.0
 * @category Models
 */
export {
  SearchError,
  SearchHttpError,
  SearchMalformedResponse,
  SearchPage,
  SearchRateLimited,
  SearchUnreachable,
  Source,
  SourceName
} from "./internal/search/model.js"

// ============================================================================================================
// Tools
// ============================================================================================================

const tool = <const Name extends string, Fields extends Schema.Struct.Fields>(
  name: Name,
  description: string,
  parameters: Fields
) =>
  Tool.make(name, {
    description,
    parameters,
    success: Model.SearchPage,
    failure: Model.SearchError,
    failureMode: "return"
  }).annotate(Tool.Readonly, true).annotate(Tool.Idempotent, true).annotate(Tool.OpenWorld, true)

/**
 * `search_arxiv`: preprints on arXiv, with their authors and abstracts.
 *
 * @since 0.1.0
 * @category Tools
 */
export const Arxiv = tool(
  "search_arxiv",
  "Search arXiv preprints (physics, mathematics, computer science, biology, finance, statistics). Returns papers with title, abstract URL, first-version date and authors with the abstract.",
  Model.ArxivParameters.fields
)

/**
 * `search_github`: repositories, or issues and pull requests, on GitHub.
 *
 * @since 0.1.0
 * @category Tools
 */
export const GitHub = tool(
  "search_github",
  "Search GitHub repositories (with description, stars and language) or issues and pull requests. The query uses GitHub search syntax.",
  Model.GitHubParameters.fields
)

/**
 * `search_wikipedia`: encyclopedia articles, with their lead paragraphs.
 *
 * @since 0.1.0
 * @category Tools
 */
export const Wikipedia = tool(
  "search_wikipedia",
  "Search Wikipedia articles. Returns each article's URL, the start of its lead paragraph and when it was last edited.",
  Model.WikipediaParameters.fields
)

/**
 * `search_hacker_news`: stories on Hacker News, with the linked article and the discussion.
 *
 * @since 0.1.0
 * @category Tools
 */
export const HackerNews = tool(
  "search_hacker_news",
  "Search Hacker News stories: technology news, launches and practitioners' discussion. Returns the linked article (or the discussion), its date, points and comment count.",
  Model.HackerNewsParameters.fields
)

/**
 * The four tools in one `Toolkit`. Provide `layerReal` or `layerSimulated` for its handlers.
 *
 * @since 0.1.0
 * @category Toolkits
 */
export const toolkit = Toolkit.make(Arxiv, GitHub, Wikipedia, HackerNews)

/**
 * @since 0.1.0
 * @category Models
 */
export type Tools = Toolkit.Tools<typeof toolkit>

/**
 * The names of the tools, as a model calls them.
 *
 * @since 0.1.0
 * @category Models
 */
export type ToolName = keyof Tools

/**
 * Any one of the four tools.
 *
 * @since 0.1.0
 * @category Models
 */
export type SearchTool = Tools[ToolName]

/**
 * The record of handler functions, one per tool, as `toolkit.toLayer` takes it.
 *
 * @since 0.1.0
 * @category Models
 */
export type HandlerFunctions = Toolkit.HandlersFrom<Tools>

/**
 * What the layers provide: the handlers of the four tools, found by `yield* toolkit`.
 *
 * @since 0.1.0
 * @category Models
 */
export type Handlers = Tool.HandlersFor<Tools>

// ============================================================================================================
// Handlers
// ============================================================================================================

/**
 * Options of the real handlers. Every field is optional; the base URLs exist so that tests (and mirrors) can
 * point a source elsewhere.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RealOptions {
  /** Default: "https://export.arxiv.org". */
  readonly arxivUrl?: string | undefined
  /** Default: "https://api.github.com". */
  readonly githubUrl?: string | undefined
  /** A GitHub token: raises the search limit from 10 to 30 requests a minute. Sent only to `githubUrl`. */
  readonly githubToken?: Redacted.Redacted<string> | undefined
  /** The wiki. Default: "https://en.wikipedia.org". */
  readonly wikipediaUrl?: string | undefined
  /** Default: "https://hn.algolia.com". */
  readonly hackerNewsUrl?: string | undefined
  /** Sent with every request, as Wikimedia and GitHub ask. Default: "multi-agent-orchestration/0.1.0". */
  readonly userAgent?: string | undefined
  /** The bound on each request, body included. Default: 20 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The least time between two arXiv requests, which arXiv asks to be 3 seconds. Default: 3 seconds. */
  readonly arxivInterval?: Duration.DurationInput | undefined
}

const trimSlash = (url: string): string => url.replace(/\/+$/, "")

/**
 * The handlers that call the APIs, with the `HttpClient` of the environment.
 *
 * @since 0.1.0
 * @category Handlers
 */
export const realHandlers = (options: RealOptions = {}): Effect.Effect<HandlerFunctions, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const common = {
      userAgent: options.userAgent ?? "multi-agent-orchestration/0.1.0",
      timeout: options.timeout ?? "20 seconds"
    }
    const arxiv = yield* ArxivClient.make(client, {
      ...common,
      baseUrl: trimSlash(options.arxivUrl ?? "https://export.arxiv.org"),
      minInterval: options.arxivInterval ?? "3 seconds"
    })
    const github = GitHubClient.make(client, {
      ...common,
      baseUrl: trimSlash(options.githubUrl ?? "https://api.github.com"),
      token: options.githubToken
    })
    const wikipedia = WikipediaClient.make(client, {
      ...common,
      baseUrl: trimSlash(options.wikipediaUrl ?? "https://en.wikipedia.org")
    })
    const hackerNews = HackerNewsClient.make(client, {
      ...common,
      baseUrl: trimSlash(options.hackerNewsUrl ?? "https://hn.algolia.com")
    })
    return toolkit.of({
      search_arxiv: arxiv,
      search_github: github,
      search_wikipedia: wikipedia,
      search_hacker_news: hackerNews
    })
  })

/**
 * @since 0.1.0
 * @category Models
 */
export type SimulatedOptions = Simulated.SimulatedOptions

/**
 * Offline handlers: the same query, page and seed give the same hits. Their URLs are under
 * `https://simulated.invalid/`, which never resolves.
 *
 * @since 0.1.0
 * @category Handlers
 */
export const simulatedHandlers = (options: SimulatedOptions = {}): Effect.Effect<HandlerFunctions> =>
  Effect.map(Simulated.make(options), (handlers) =>
    toolkit.of({
      search_arxiv: handlers.arxiv,
      search_github: handlers.github,
      search_wikipedia: handlers.wikipedia,
      search_hacker_news: handlers.hackerNews
    }))

// ============================================================================================================
// Layers
// ============================================================================================================

/**
 * The real handlers, with the `HttpClient` of the environment.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerReal = (options: RealOptions = {}): Layer.Layer<Handlers, never, HttpClient.HttpClient> =>
  toolkit.toLayer(realHandlers(options))

/**
 * The real handlers over the platform's fetch client.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerRealFetch = (options: RealOptions = {}): Layer.Layer<Handlers> =>
  Layer.provide(layerReal(options), FetchHttpClient.layer)

/**
 * The real handlers, with the GitHub token read from `GITHUB_TOKEN` when the options give none.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerRealConfig = (
  options: RealOptions = {}
): Layer.Layer<Handlers, ConfigError.ConfigError, HttpClient.HttpClient> =>
  toolkit.toLayer(
    Effect.flatMap(
      options.githubToken === undefined ? Config.option(Config.redacted("GITHUB_TOKEN")) : Effect.succeed(Option.none()),
      (token) =>
        realHandlers({
          ...options,
          githubToken: options.githubToken ??
            Option.getOrUndefined(Option.filter(token, (value) => Redacted.value(value).trim() !== ""))
        })
    )
  )

/**
 * The simulated handlers.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerSimulated = (options: SimulatedOptions = {}): Layer.Layer<Handlers> =>
  toolkit.toLayer(simulatedHandlers(options))

// ============================================================================================================
// Dream Swarm domains
// ============================================================================================================

/**
 * The tool each Dream Swarm domain searches with. Domains without a searchable source (image, video, product)
 * are absent: their agents work from the model alone.
 *
 * @since 0.1.0
 * @category Domains
 */
export const domainTools: Readonly<Record<string, ToolName>> = {
  arxiv: "search_arxiv",
  academic: "search_arxiv",
  github: "search_github",
  technical: "search_github",
  wikipedia: "search_wikipedia",
  news: "search_hacker_news",
  social: "search_hacker_news",
  text: "search_hacker_news"
}

/**
 * The tool of a domain, if it has one; `Toolkit.make(tool)` gives its agent a toolkit of that tool alone, and
 * the handlers of `layerReal` / `layerSimulated` serve it.
 *
 * @since 0.1.0
 * @category Domains
 */
export const toolFor = (domain: string): SearchTool | undefined => {
  const name = Object.hasOwn(domainTools, domain) ? domainTools[domain] : undefined
  return name === undefined ? undefined : toolkit.tools[name]
}
