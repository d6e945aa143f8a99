import { readFileSync } from "node:fs"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, ConfigProvider, Duration, Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import * as SearchTools from "multi-agent-orchestration/SearchTools"
import { fakeServer, type Received, type Reply } from "./fakeServers.js"

const fixture = (path: string): string => readFileSync(new URL(`./fixtures/search/${path}`, import.meta.url), "utf8")

const atom = (path: string, status = 200): Reply => ({
  status,
  headers: { "content-type": "application/atom+xml; charset=UTF-8" },
  text: fixture(path)
})
const json = (path: string, status = 200, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json; charset=utf-8", ...headers },
  text: fixture(path)
})

const token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"

/** The toolkit's handlers, as a tool loop reaches them, over a fake server standing in for all four APIs. */
const toolsAgainst = (respond: (request: Received, url: URL) => Reply) =>
  Effect.gen(function*() {
    const server = yield* fakeServer((request) => respond(request, new URL(request.path, "http://127.0.0.1")))
    const handlers = SearchTools.layerReal({
      arxivUrl: server.url,
      githubUrl: `${server.url}/`,
      githubToken: Redacted.make(token),
      wikipediaUrl: server.url,
      hackerNewsUrl: server.url,
      arxivInterval: 0
    })
    const context = yield* Layer.build(Layer.provide(handlers, FetchHttpClient.layer))
    const toolkit = yield* Effect.provide(SearchTools.toolkit, context)
    const query = (n: number) => new URL(server.received[n]!.path, server.url)
    return { server, toolkit, query }
  })

const page = (outcome: { readonly isFailure: boolean; readonly result: unknown }): SearchTools.SearchPage => {
  assert.isFalse(outcome.isFailure, `expected results, got ${JSON.stringify(outcome.result)}`)
  return outcome.result as SearchTools.SearchPage
}
const failure = (outcome: { readonly isFailure: boolean; readonly result: unknown }): SearchTools.SearchError => {
  assert.isTrue(outcome.isFailure, `expected a failure, got ${JSON.stringify(outcome.result)}`)
  return outcome.result as SearchTools.SearchError
}
const cited = (found: SearchTools.SearchPage) => found.sources.map(({ date, title, url }) => ({ title, url, date }))

describe("search_arxiv", () => {
  it.scoped("reads the Atom feed, page by page, with titles, abs URLs, first-version dates and authors", () =>
    Effect.gen(function*() {
      const { query, toolkit } = yield* toolsAgainst((_, url) =>
        atom(url.searchParams.get("start") === "0" ? "arxiv/page1.xml" : "arxiv/page2.xml")
      )
      const first = page(yield* toolkit.handle("search_arxiv", {
        query: "quantum error correction",
        sortBy: "relevance",
        limit: 2,
        page: null
      }))
      assert.strictEqual(query(0).pathname, "/api/query")
      assert.strictEqual(query(0).searchParams.get("search_query"), "all:quantum AND all:error AND all:correction")
      assert.strictEqual(query(0).searchParams.get("start"), "0")
      assert.strictEqual(query(0).searchParams.get("max_results"), "2")
      assert.strictEqual(query(0).searchParams.get("sortBy"), "relevance")
      assert.deepStrictEqual(cited(first), [
        {
          title: "Low-Overhead Decoding of Surface Codes with Correlated Noise",
          url: "http://arxiv.org/abs/2403.01234v2",
          date: "2024-03-02T09:15:33.000Z"
        },
        {
          title: "Fault-Tolerant Error Correction <A Review>",
          url: "http://arxiv.org/abs/quant-ph/0110143v1",
          date: "2001-10-24T18:02:11.000Z"
        }
      ])
      assert.strictEqual(
        first.sources[0]!.snippet,
        "Ada Varga, Tomás Ibarra. We present a decoder for surface codes under correlated noise whose overhead grows linearly with the code distance. Simulations show a threshold of 0.9% & a logical error rate below 10^{-6} at distance 15."
      )
      assert.match(first.sources[1]!.snippet, /^R\. Osei, M\. Lindgren, H\. Sato et al\. A review of fault-tolerant error correction for <quantum> computers, with worked examples\.$/)
      assert.deepStrictEqual([first.page, first.total, first.nextPage], [1, 3, 2])

      const second = page(yield* toolkit.handle("search_arxiv", {
        query: "quantum error correction",
        sortBy: "relevance",
        limit: 2,
        page: first.nextPage!
      }))
      assert.strictEqual(query(1).searchParams.get("start"), "2")
      assert.deepStrictEqual(cited(second), [{
        title: "Erasure Conversion for Neutral-Atom Qubits",
        url: "https://arxiv.org/abs/2501.09876v1",
        date: "2025-01-17T14:03:27.000Z"
      }])
      assert.deepStrictEqual([second.page, second.total, second.nextPage], [2, 3, undefined])
    }))

  it.scoped("sends a query in arXiv's own syntax as written, and clamps the limit to 25", () =>
    Effect.gen(function*() {
      const { query, toolkit } = yield* toolsAgainst(() => atom("arxiv/empty.xml"))
      yield* toolkit.handle("search_arxiv", { query: "ti:decoder AND cat:quant-ph", sortBy: "submittedDate", limit: 500, page: 0 })
      assert.strictEqual(query(0).searchParams.get("search_query"), "ti:decoder AND cat:quant-ph")
      assert.strictEqual(query(0).searchParams.get("max_results"), "25")
      assert.strictEqual(query(0).searchParams.get("start"), "0")
      assert.strictEqual(query(0).searchParams.get("sortBy"), "submittedDate")
    }))

  it.scoped("an empty feed is an empty page without a next one", () =>
    Effect.gen(function*() {
      const { toolkit } = yield* toolsAgainst(() => atom("arxiv/empty.xml"))
      const found = page(yield* toolkit.handle("search_arxiv", { query: "qwzxv plorth", sortBy: "relevance", limit: null, page: null }))
      assert.deepStrictEqual(found, { sources: [], page: 1, total: 0 })
    }))

  it.scoped("an error feed is an HTTP error carrying arXiv's message", () =>
    Effect.gen(function*() {
      const { toolkit } = yield* toolsAgainst(() => atom("arxiv/error.xml", 400))
      const error = failure(yield* toolkit.handle("search_arxiv", { query: "ti:(", sortBy: "relevance", limit: null, page: null }))
      assert.strictEqual(error._tag, "SearchHttpError")
      assert.strictEqual(error.status, 400)
      assert.strictEqual(error.detail, "Invalid query string: 'ti:('")
    }))

  it.scoped("arXiv's \"Rate exceeded.\" is a rate limit; a truncated feed is a malformed response", () =>
    Effect.gen(function*() {
      const { toolkit } = yield* toolsAgainst((_, url) =>
        url.searchParams.get("search_query") === "all:busy"
          ? { status: 503, headers: { "content-type": "text/plain" }, text: "Rate exceeded." }
          : atom("arxiv/truncated.xml")
      )
      const limited = failure(yield* toolkit.handle("search_arxiv", { query: "busy", sortBy: "relevance", limit: null, page: null }))
      assert.strictEqual(limited._tag, "SearchRateLimited")
      assert.strictEqual(limited.status, 503)
      const broken = failure(yield* toolkit.handle("search_arxiv", { query: "cut", sortBy: "relevance", limit: null, page: null }))
      assert.strictEqual(broken._tag, "SearchMalformedResponse")
      assert.match(broken.detail ?? "", /^not XML: malformed tag at \d+$/)
    }))

  it.scoped("keeps arXiv's pace: one request at a time, the next 3 seconds after the last began", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer(() => atom("arxiv/empty.xml"))
      const context = yield* Layer.build(
        Layer.provide(SearchTools.layerReal({ arxivUrl: server.url }), FetchHttpClient.layer)
      )
      const toolkit = yield* Effect.provide(SearchTools.toolkit, context)
      const search = toolkit.handle("search_arxiv", { query: "pace", sortBy: "relevance", limit: null, page: null })
      yield* search
      const next = yield* Effect.fork(search)
      while (Chunk.isEmpty(yield* TestClock.sleeps()) && server.received.length < 2) yield* Effect.yieldNow()
      assert.strictEqual(server.received.length, 1)
      yield* TestClock.adjust("2999 millis")
      assert.strictEqual(server.received.length, 1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(next)
      assert.strictEqual(server.received.length, 2)
    }))
})

describe("search_github", () => {
  it.scoped("searches repositories page by page, following the Link header, with the token and GitHub's headers", () =>
    Effect.gen(function*() {
      const { query, server, toolkit } = yield* toolsAgainst((_, url) =>
        url.searchParams.get("page") === "1"
          ? json("github/repositories-page1.json", 200, {
            link:
              "<https://api.github.com/search/repositories?q=surface+code&per_page=2&page=2>; rel=\"next\", <https://api.github.com/search/repositories?q=surface+code&per_page=2&page=2>; rel=\"last\""
          })
          : json("github/repositories-page2.json", 200, {
            link:
              "<https://api.github.com/search/repositories?q=surface+code&per_page=2&page=1>; rel=\"prev\", <https://api.github.com/search/repositories?q=surface+code&per_page=2&page=1>; rel=\"first\""
          })
      )
      const first = page(yield* toolkit.handle("search_github", { query: "surface code", kind: "repositories", limit: 2, page: null }))
      assert.strictEqual(query(0).pathname, "/search/repositories")
      assert.deepStrictEqual(Object.fromEntries(query(0).searchParams), { q: "surface code", per_page: "2", page: "1" })
      const headers = server.received[0]!.headers
      assert.strictEqual(headers.authorization, `Bearer ${token}`)
      assert.strictEqual(headers.accept, "application/vnd.github+json")
      assert.strictEqual(headers["x-github-api-version"], "2022-11-28")
      assert.strictEqual(headers["user-agent"], "multi-agent-orchestration/0.1.0")
      assert.deepStrictEqual(first.sources, [
        {
          title: "qlab-org/surface-decoder",
          url: "https://github.com/qlab-org/surface-decoder",
          date: "2025-02-26T11:05:48.000Z",
          snippet: "Fast minimum-weight matching decoder for surface codes (1843 stars, Rust)"
        },
        {
          title: "fieldnotes/qec-notebooks",
          url: "https://github.com/fieldnotes/qec-notebooks",
          date: "2024-10-30T16:45:09.000Z",
          snippet: "No description. (212 stars)"
        }
      ])
      assert.deepStrictEqual([first.page, first.total, first.nextPage], [1, 3, 2])
      const second = page(yield* toolkit.handle("search_github", { query: "surface code", kind: "repositories", limit: 2, page: 2 }))
      assert.deepStrictEqual(cited(second), [{
        title: "openqec/stim-recipes",
        url: "https://github.com/openqec/stim-recipes",
        date: "2025-01-08T09:14:27.000Z"
      }])
      assert.deepStrictEqual([second.page, second.nextPage], [2, undefined])
    }))

  it.scoped("layerRealConfig reads the token from GITHUB_TOKEN, and sends none when it is blank", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer(() => json("github/empty.json"))
      const authorization = (env: Record<string, string>) =>
        Effect.gen(function*() {
          const layer = Layer.provide(SearchTools.layerRealConfig({ githubUrl: server.url }), FetchHttpClient.layer)
          const toolkit = yield* Effect.provide(SearchTools.toolkit, yield* Layer.build(layer))
          yield* toolkit.handle("search_github", { query: "q", kind: "repositories", limit: null, page: null })
          return server.received.at(-1)!.headers.authorization
        }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      assert.strictEqual(yield* authorization({ GITHUB_TOKEN: token }), `Bearer ${token}`)
      assert.isUndefined(yield* authorization({ GITHUB_TOKEN: " " }))
      assert.isUndefined(yield* authorization({}))
    }))

  it.scoped("searches issues and pull requests, naming the repository and number", () =>
    Effect.gen(function*() {
      const { query, toolkit } = yield* toolsAgainst(() => json("github/issues.json"))
      const found = page(yield* toolkit.handle("search_github", { query: "decoder hangs", kind: "issues", limit: null, page: null }))
      assert.strictEqual(query(0).pathname, "/search/issues")
      assert.strictEqual(query(0).searchParams.get("per_page"), "5")
      assert.deepStrictEqual(found.sources, [
        {
          title: "Decoder hangs on distance-25 codes (qlab-org/surface-decoder#412)",
          url: "https://github.com/qlab-org/surface-decoder/issues/412",
          date: "2025-01-22T15:04:05.000Z",
          snippet: "Issue, open. Steps to reproduce: 1. Build a distance-25 code 2. Run `decode --threads 8` The process never returns."
        },
        {
          title: "Add erasure-aware matching (qlab-org/surface-decoder#409)",
          url: "https://github.com/qlab-org/surface-decoder/pull/409",
          date: "2025-01-20T09:30:00.000Z",
          snippet: "Pull request, closed."
        }
      ])
      assert.deepStrictEqual([found.total, found.nextPage], [2, undefined])
    }))

  it.scoped("no results is an empty page", () =>
    Effect.gen(function*() {
      const { toolkit } = yield* toolsAgainst(() => json("github/empty.json"))
      const found = page(yield* toolkit.handle("search_github", { query: "qwzxv", kind: "repositories", limit: null, page: null }))
      assert.deepStrictEqual(found, { sources: [], page: 1, total: 0 })
    }))

  it.scoped("a 403 with x-ratelimit-remaining: 0 is a rate limit that resets at x-ratelimit-reset, and never shows the token", () =>
    Effect.gen(function*() {
      const now = Date.UTC(2025, 2, 4, 12, 0, 0)
      yield* TestClock.setTime(now)
      const { toolkit } = yield* toolsAgainst(() =>
        json("github/rate-limited.json", 403, {
          "x-ratelimit-limit": "30",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": String(now / 1000 + 42),
          "x-ratelimit-used": "30",
          "x-ratelimit-resource": "search"
        })
      )
      const outcome = yield* toolkit.handle("search_github", { query: "surface code", kind: "repositories", limit: null, page: null })
      const error = failure(outcome)
      assert.strictEqual(error._tag, "SearchRateLimited")
      if (error._tag !== "SearchRateLimited") return
      assert.deepStrictEqual(outcome.encodedResult, {
        _tag: "SearchRateLimited",
        source: "github",
        status: 403,
        detail:
          "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)",
        retryAfter: 42_000,
        resetAt: "2025-03-04T12:00:42.000Z",
        limit: 30,
        remaining: 0
      })
      assert.isTrue(Duration.equals(error.retryAfter!, Duration.seconds(42)))
      assert.isTrue(error.transient)
      assert.notInclude(`${error.message} ${JSON.stringify(outcome.encodedResult)}`, token)
    }))

  it.scoped("a secondary rate limit (429 with retry-after) resets that many seconds from now", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 2, 4, 12, 0, 0))
      const { toolkit } = yield* toolsAgainst(() =>
        json("github/secondary-rate-limited.json", 429, { "retry-after": "60", "x-ratelimit-remaining": "12" })
      )
      const error = failure(yield* toolkit.handle("search_github", { query: "x", kind: "issues", limit: null, page: null }))
      assert.strictEqual(error._tag, "SearchRateLimited")
      if (error._tag !== "SearchRateLimited") return
      assert.strictEqual(error.resetAt?.toJSON(), "2025-03-04T12:01:00.000Z")
      assert.strictEqual(error.remaining, 12)
      assert.match(error.message, /^github search: rate limited, retry after 1m \(resets at 2025-03-04T12:01:00\.000Z\) \(HTTP 429\): You have exceeded a secondary rate limit/)
    }))

  it.scoped("a 403 without a rate limit is an HTTP error; a result without html_url is a malformed response", () =>
    Effect.gen(function*() {
      const { toolkit } = yield* toolsAgainst((_, url) =>
        url.searchParams.get("q") === "private"
          ? { status: 403, json: { message: "Resource not accessible by integration", documentation_url: "https://docs.github.com/rest" } }
          : json("github/malformed.json")
      )
      const refused = failure(yield* toolkit.handle("search_github", { query: "private", kind: "repositories", limit: null, page: null }))
      assert.deepStrictEqual([refused._tag, refused.status, refused.detail], ["SearchHttpError", 403, "Resource not accessible by integration"])
      const broken = failure(yield* toolkit.handle("search_github", { query: "surface code", kind: "repositories", limit: null, page: null }))
      assert.strictEqual(broken._tag, "SearchMalformedResponse")
      assert.include(broken.detail ?? "", "html_url")
    }))
})

describe("search_wikipedia", () => {
  it.scoped("searches, then reads each page's summary for its URL, lead and last edit; a missing summary keeps the search hit", () =>
    Effect.gen(function*() {
      const { query, server, toolkit } = yield* toolsAgainst((_, url) => {
        if (url.pathname === "/w/rest.php/v1/search/page") return json("wikipedia/search.json")
        const title = url.pathname.replace("/api/rest_v1/page/summary/", "")
        return title === "Stabilizer_code"
          ? json("wikipedia/summary-not-found.json", 404)
          : json(`wikipedia/summary-${title}.json`)
      })
      const found = page(yield* toolkit.handle("search_wikipedia", { query: "quantum error correction", limit: 3 }))
      assert.deepStrictEqual(Object.fromEntries(query(0).searchParams), { q: "quantum error correction", limit: "3" })
      assert.deepStrictEqual(server.received.map((r) => new URL(r.path, server.url).pathname), [
        "/w/rest.php/v1/search/page",
        "/api/rest_v1/page/summary/Quantum_error_correction",
        "/api/rest_v1/page/summary/Toric_code",
        "/api/rest_v1/page/summary/Stabilizer_code"
      ])
      assert.strictEqual(server.received[0]!.headers["user-agent"], "multi-agent-orchestration/0.1.0")
      assert.deepStrictEqual(found.sources, [
        {
          title: "Quantum error correction",
          url: "https://en.wikipedia.org/wiki/Quantum_error_correction",
          date: "2025-02-11T04:12:55.000Z",
          snippet:
            "Quantum error correction (QEC) is a set of techniques used in quantum computing to protect quantum information from errors due to decoherence and other quantum noise."
        },
        {
          title: "Toric code",
          url: "https://en.wikipedia.org/wiki/Toric_code",
          date: "2024-09-03T21:40:07.000Z",
          snippet:
            "The toric code is a topological quantum error correcting code, and an example of a stabilizer code, defined on a two-dimensional spin lattice."
        },
        {
          title: "Stabilizer code",
          url: `${server.url}/wiki/Stabilizer_code`,
          snippet:
            "The theory of quantum error correction plays a prominent role in the practical realization of quantum computers"
        }
      ])
      assert.deepStrictEqual([found.page, found.total, found.nextPage], [1, undefined, undefined])
    }))

  it.scoped("no pages is an empty page, with no summary asked for", () =>
    Effect.gen(function*() {
      const { server, toolkit } = yield* toolsAgainst(() => json("wikipedia/empty.json"))
      const found = page(yield* toolkit.handle("search_wikipedia", { query: "qwzxv plorth", limit: null }))
      assert.deepStrictEqual(found, { sources: [], page: 1 })
      assert.strictEqual(server.received.length, 1)
    }))

  it.scoped("a 429 with retry-after, on the search or on a summary, is a rate limit; a truncated body is malformed", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 2, 4, 12, 0, 0))
      const { toolkit } = yield* toolsAgainst((_, url) => {
        const q = url.searchParams.get("q")
        if (q === "busy") return json("wikipedia/rate-limited.json", 429, { "retry-after": "30" })
        if (q === "cut") return json("wikipedia/truncated.json")
        if (url.pathname.startsWith("/api/rest_v1/page/summary/")) {
          return json("wikipedia/rate-limited.json", 429, { "retry-after": "Tue, 04 Mar 2025 12:02:00 GMT" })
        }
        return json("wikipedia/search.json")
      })
      const busy = failure(yield* toolkit.handle("search_wikipedia", { query: "busy", limit: null }))
      assert.strictEqual(busy._tag, "SearchRateLimited")
      if (busy._tag === "SearchRateLimited") {
        assert.strictEqual(busy.resetAt?.toJSON(), "2025-03-04T12:00:30.000Z")
        assert.strictEqual(busy.detail, "You have exceeded the request rate limit. Please slow down and retry later.")
      }
      const summary = failure(yield* toolkit.handle("search_wikipedia", { query: "ok", limit: null }))
      assert.strictEqual(summary._tag, "SearchRateLimited")
      if (summary._tag === "SearchRateLimited") assert.isTrue(Duration.equals(summary.retryAfter!, Duration.minutes(2)))
      const cut = failure(yield* toolkit.handle("search_wikipedia", { query: "cut", limit: null }))
      assert.strictEqual(cut._tag, "SearchMalformedResponse")
    }))
})

describe("search_hacker_news", () => {
  it.scoped("searches stories page by page (Algolia counts pages from 0); a text post cites its discussion", () =>
    Effect.gen(function*() {
      const { query, toolkit } = yield* toolsAgainst((_, url) =>
        json(url.searchParams.get("page") === "0" ? "hackernews/page1.json" : "hackernews/page2.json")
      )
      const first = page(yield* toolkit.handle("search_hacker_news", { query: "quantum error correction", sort: "relevance", limit: 2, page: null }))
      assert.strictEqual(query(0).pathname, "/api/v1/search")
      assert.deepStrictEqual(Object.fromEntries(query(0).searchParams), {
        query: "quantum error correction",
        tags: "story",
        page: "0",
        hitsPerPage: "2"
      })
      assert.deepStrictEqual(first.sources, [
        {
          title: "Quantum error correction below the surface code threshold",
          url: "https://example.org/blog/qec-threshold",
          date: "2024-12-09T16:02:11.000Z",
          snippet: "612 points, 248 comments, by qubitfan. Discussion: https://news.ycombinator.com/item?id=42871234"
        },
        {
          title: "Ask HN: Best resources to learn quantum error correction?",
          url: "https://news.ycombinator.com/item?id=41200007",
          date: "2024-08-12T07:45:00.000Z",
          snippet:
            "97 points, 41 comments, by newtoqc. Discussion: https://news.ycombinator.com/item?id=41200007. I'm a software engineer. Where should I start with stabilizer codes?"
        }
      ])
      assert.deepStrictEqual([first.page, first.total, first.nextPage], [1, 3, 2])
      const second = page(yield* toolkit.handle("search_hacker_news", { query: "quantum error correction", sort: "date", limit: 2, page: 2 }))
      assert.strictEqual(query(1).pathname, "/api/v1/search_by_date")
      assert.strictEqual(query(1).searchParams.get("page"), "1")
      assert.deepStrictEqual(cited(second), [{
        title: "Show HN: A surface-code decoder in the browser",
        url: "https://decoder.example.net/",
        date: "2024-01-15T20:30:00.000Z"
      }])
      assert.deepStrictEqual([second.page, second.nextPage], [2, undefined])
    }))

  it.scoped("no hits is an empty page", () =>
    Effect.gen(function*() {
      const { toolkit } = yield* toolsAgainst(() => json("hackernews/empty.json"))
      const found = page(yield* toolkit.handle("search_hacker_news", { query: "qwzxv plorth", sort: "relevance", limit: null, page: null }))
      assert.deepStrictEqual(found, { sources: [], page: 1, total: 0 })
    }))

  it.scoped("a 429 with Algolia's rate-limit headers is a rate limit; a hit without objectID is malformed", () =>
    Effect.gen(function*() {
      const now = Date.UTC(2025, 2, 4, 12, 0, 0)
      yield* TestClock.setTime(now)
      const { toolkit } = yield* toolsAgainst((_, url) =>
        url.searchParams.get("query") === "busy"
          ? json("hackernews/rate-limited.json", 429, {
            "x-ratelimit-limit": "10000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": String(now / 1000 + 900)
          })
          : json("hackernews/malformed.json")
      )
      const busy = failure(yield* toolkit.handle("search_hacker_news", { query: "busy", sort: "relevance", limit: null, page: null }))
      assert.strictEqual(busy._tag, "SearchRateLimited")
      if (busy._tag === "SearchRateLimited") {
        assert.deepStrictEqual([busy.limit, busy.remaining, busy.resetAt?.toJSON()], [10000, 0, "2025-03-04T12:15:00.000Z"])
        assert.isTrue(Duration.equals(busy.retryAfter!, Duration.minutes(15)))
        assert.strictEqual(busy.detail, "Too many requests")
      }
      const broken = failure(yield* toolkit.handle("search_hacker_news", { query: "q", sort: "relevance", limit: null, page: null }))
      assert.strictEqual(broken._tag, "SearchMalformedResponse")
      assert.include(broken.detail ?? "", "objectID")
    }))
})

describe("unreachable sources", () => {
  it.scoped("a server that never answers is unreachable after the timeout (TestClock)", () =>
    Effect.gen(function*() {
      const { server, toolkit } = yield* toolsAgainst(() => "hang")
      const call = yield* Effect.fork(toolkit.handle("search_hacker_news", { query: "q", sort: "relevance", limit: null, page: null }))
      yield* server.arrived(1)
      yield* TestClock.adjust("20 seconds")
      const error = failure(yield* Fiber.join(call))
      assert.deepStrictEqual([error._tag, error.detail], ["SearchUnreachable", "no response within 20s"])
    }))

  it.scoped("a refused connection is unreachable", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.scoped(Effect.map(fakeServer(() => ({ json: {} })), (server) => server.url))
      const context = yield* Layer.build(Layer.provide(SearchTools.layerReal({ githubUrl: closed }), FetchHttpClient.layer))
      const toolkit = yield* Effect.provide(SearchTools.toolkit, context)
      const error = failure(yield* toolkit.handle("search_github", { query: "q", kind: "repositories", limit: null, page: null }))
      assert.strictEqual(error._tag, "SearchUnreachable")
      assert.isTrue(error.transient)
    }))
})
