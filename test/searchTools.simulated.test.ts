import { Toolkit } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Fiber, TestClock } from "effect"
import { DreamSwarm } from "multi-agent-orchestration"
import * as SearchTools from "multi-agent-orchestration/SearchTools"
import * as Xml from "../src/internal/search/xml.js"

const toolkitWith = (options: SearchTools.SimulatedOptions = {}) =>
  Effect.provide(SearchTools.toolkit, SearchTools.layerSimulated(options))

const page = (outcome: { readonly isFailure: boolean; readonly result: unknown }): SearchTools.SearchPage => {
  assert.isFalse(outcome.isFailure)
  return outcome.result as SearchTools.SearchPage
}

describe("SearchTools.layerSimulated", () => {
  it.effect("gives the same hits for the same query and seed, other hits for another seed, offline URLs", () =>
    Effect.gen(function*() {
      const params = { query: "Quantum error correction", sortBy: "relevance", limit: 3, page: null } as const
      const once = page(yield* (yield* toolkitWith({ seed: 7 })).handle("search_arxiv", params))
      const again = page(yield* (yield* toolkitWith({ seed: 7 })).handle("search_arxiv", params))
      const other = page(yield* (yield* toolkitWith({ seed: 8 })).handle("search_arxiv", params))
      assert.deepStrictEqual(once, again)
      assert.notDeepEqual(once.sources, other.sources)
      assert.strictEqual(once.sources.length, 3)
      for (const source of [...once.sources, ...other.sources]) {
        assert.match(source.url, /^https:\/\/simulated\.invalid\/arxiv\/abs\/\d{4}\.\d{5}$/)
        assert.match(source.date ?? "", /^20\d\d-\d\d-\d\dT00:00:00\.000Z$/)
        assert.include(source.title, "Quantum Error Correction")
      }
    }))

  it.effect("pages agree with each other whatever their size, and the last has no next page", () =>
    Effect.gen(function*() {
      const tools = yield* toolkitWith({ total: 5 })
      const search = (limit: number, p: number) =>
        Effect.map(tools.handle("search_hacker_news", { query: "rust", sort: "date", limit, page: p }), page)
      const all = yield* search(5, 1)
      const first = yield* search(2, 1)
      const second = yield* search(2, 2)
      const third = yield* search(2, 3)
      assert.deepStrictEqual([...first.sources, ...second.sources, ...third.sources], [...all.sources])
      assert.deepStrictEqual([first.nextPage, second.nextPage, third.nextPage, third.total], [2, 3, undefined, 5])
      assert.strictEqual(third.sources.length, 1)
      const dates = all.sources.map((s) => s.date!)
      assert.deepStrictEqual(dates, [...dates].sort().reverse(), "newest first when sorted by date")
    }))

  it.effect("with no hits every search is an empty page; an empty query has none either", () =>
    Effect.gen(function*() {
      const empty = yield* toolkitWith({ total: (source) => (source === "github" ? 0 : 4) })
      const github = page(yield* empty.handle("search_github", { query: "anything", kind: "issues", limit: null, page: null }))
      assert.deepStrictEqual(github, { sources: [], page: 1, total: 0 })
      const blank = page(yield* empty.handle("search_wikipedia", { query: "  ", limit: null }))
      assert.deepStrictEqual(blank, { sources: [], page: 1 })
      const wiki = page(yield* empty.handle("search_wikipedia", { query: "Effect systems", limit: null }))
      assert.deepStrictEqual(wiki.sources.map((s) => s.title), [
        "Effect Systems",
        "History of Effect Systems",
        "Effect Systems (disambiguation)",
        "Applications of Effect Systems"
      ])
    }))

  it.effect("fails the calls it is told to, as the tool's result, and takes its latency on the clock", () =>
    Effect.gen(function*() {
      const tools = yield* toolkitWith({
        latency: "2 seconds",
        fail: ({ call, source }) =>
          call === 2 ? new SearchTools.SearchRateLimited({ source, status: 429 }) : undefined
      })
      const search = tools.handle("search_github", { query: "effect", kind: "repositories", limit: 1, page: null })
      const first = yield* Effect.fork(search)
      yield* TestClock.adjust("2 seconds")
      assert.isFalse((yield* Fiber.join(first)).isFailure)
      const second = yield* Effect.fork(search)
      yield* TestClock.adjust("2 seconds")
      const failed = yield* Fiber.join(second)
      assert.isTrue(failed.isFailure)
      assert.deepStrictEqual(failed.encodedResult, { _tag: "SearchRateLimited", source: "github", status: 429 })
    }))
})

describe("Dream Swarm domains", () => {
  it("every default domain has a tool, and every mapped domain is one Dream Swarm knows", () => {
    for (const domain of DreamSwarm.defaultDomains) assert.isDefined(SearchTools.toolFor(domain), domain)
    for (const domain of Object.keys(SearchTools.domainTools)) assert.include(DreamSwarm.knownDomains, domain)
    assert.deepStrictEqual(
      DreamSwarm.defaultDomains.map((domain) => SearchTools.toolFor(domain)?.name),
      ["search_arxiv", "search_github", "search_hacker_news", "search_wikipedia"]
    )
    assert.isUndefined(SearchTools.toolFor("video"))
    assert.isUndefined(SearchTools.toolFor("toString"))
  })

  it.effect("a toolkit of one domain's tool is served by the same handlers", () =>
    Effect.gen(function*() {
      const tool = SearchTools.toolFor("wikipedia")!
      const single = yield* Effect.provide(Toolkit.make(tool), SearchTools.layerSimulated())
      assert.deepStrictEqual(Object.keys(single.tools), ["search_wikipedia"])
      const outcome = yield* single.handle("search_wikipedia", { query: "Graph theory", limit: 1 })
      assert.deepStrictEqual(page(outcome).sources.map((s) => s.title), ["Graph Theory"])
    }))
})

describe("the Atom reader", () => {
  it("reads elements, attributes, entities, CDATA and prefixed names", () => {
    const doc = Either.getOrThrow(Xml.parse(
      `<?xml version="1.0"?><!-- c --><feed a='1 &amp; 2'><x:t>A &lt;b&gt; &#233;&#x41;</x:t><s><![CDATA[<raw> &amp;]]></s><e/></feed>`
    ))
    assert.strictEqual(doc.attributes.a, "1 & 2")
    assert.strictEqual(Xml.textOf(Xml.child(doc, "t")), "A <b> éA")
    assert.strictEqual(Xml.textOf(Xml.child(doc, "s")), "<raw> &amp;")
    assert.strictEqual(Xml.children(doc, "e").length, 1)
  })

  it("refuses documents that are not well formed, and DTDs with an internal subset", () => {
    const problems = [
      "<feed><a></b></feed>",
      "<feed><a></feed>",
      "<feed></feed><feed/>",
      "text<feed/>",
      "",
      "<feed attr=unquoted/>",
      "<!DOCTYPE feed [<!ENTITY x \"boom\">]><feed>&x;</feed>",
      "<feed><!-- never closed </feed>"
    ].map((text) => Xml.parse(text))
    for (const result of problems) assert.isTrue(Either.isLeft(result), JSON.stringify(result))
  })
})
