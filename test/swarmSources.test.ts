import { existsSync, readFileSync } from "node:fs"
import { createServer } from "node:http"
import { FetchHttpClient } from "@effect/platform"
import { Tool, Toolkit } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Logger, LogLevel, Option, Redacted, Schema, TestClock } from "effect"
import {
  DreamSwarm,
  Orchestrator,
  type OrchestratorError,
  OrchestratorEvent,
  OrchestratorResult,
  Provider,
  Workflow
} from "multi-agent-orchestration"
import * as SearchTools from "multi-agent-orchestration/SearchTools"
import {
  anthropicMessage,
  anthropicToolUse,
  chatCompletion,
  chatToolCalls,
  type FakeCall,
  fakeServer,
  openAiFunctionCalls,
  openAiResponse,
  type Reply
} from "./fakeServers.js"
import { recorder } from "./helpers.js"
import { assertNoFragment } from "./leaks.js"

const fixture = (path: string): string => readFileSync(new URL(`./fixtures/search/${path}`, import.meta.url), "utf8")
const hasFixture = (path: string): boolean => existsSync(new URL(`./fixtures/search/${path}`, import.meta.url))

/** One loopback server standing in for all four search APIs, answering with the recorded responses. */
const searchApis = () =>
  fakeServer((request): Reply => {
    const url = new URL(request.path, "http://127.0.0.1")
    const json = (path: string, status = 200): Reply => ({
      status,
      headers: { "content-type": "application/json; charset=utf-8" },
      text: fixture(path)
    })
    switch (url.pathname) {
      case "/api/query":
        return { headers: { "content-type": "application/atom+xml; charset=UTF-8" }, text: fixture("arxiv/page1.xml") }
      case "/search/repositories":
        return json("github/repositories-page1.json")
      case "/w/rest.php/v1/search/page":
        return json("wikipedia/search.json")
      case "/api/v1/search":
        return json("hackernews/page1.json")
    }
    const title = url.pathname.replace("/api/rest_v1/page/summary/", "")
    const summary = `wikipedia/summary-${title}.json`
    return hasFixture(summary) ? json(summary) : json("wikipedia/summary-not-found.json", 404)
  })

const realTools = (url: string) =>
  Layer.provide(
    SearchTools.layerReal({ arxivUrl: url, githubUrl: url, wikipediaUrl: url, hackerNewsUrl: url, arxivInterval: 0 }),
    FetchHttpClient.layer
  )

const withSearchTools = { toolkit: SearchTools.toolkit, toolFor: SearchTools.toolFor }

/** Runs `effect` while advancing the TestClock in small steps, giving real sockets time between steps. */
const withVirtualTime = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (;;) {
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return yield* exit.value
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      yield* TestClock.adjust("500 millis")
    }
  })

const fixtureUrls = {
  arxiv: "http://arxiv.org/abs/2403.01234v2",
  github: "https://github.com/qlab-org/surface-decoder",
  news: "https://example.org/blog/qec-threshold",
  wikipedia: "https://en.wikipedia.org/wiki/Quantum_error_correction"
}

describe("Dream Swarm over the real search tools", () => {
  it.scoped("each domain agent searches its source and cites the fixture URLs; the synthesis lists the sources", () =>
    Effect.gen(function*() {
      const apis = yield* searchApis()
      const events = recorder()
      const result = yield* Orchestrator.run(
        DreamSwarm.make({ numAgents: 4, tools: withSearchTools }),
        "Quantum error correction",
        { onEvent: events.onEvent }
      ).pipe(Effect.provide(Layer.merge(Provider.simulated(), realTools(apis.url))))
      assert.strictEqual(result.status, "completed", result.error)
      assert.deepStrictEqual(
        events.ofType("tool_call").map((e) => [e.agentId, e.data.tool]),
        [["swarm-1", "search_arxiv"], ["swarm-2", "search_github"], ["swarm-3", "search_hacker_news"], ["swarm-4", "search_wikipedia"]]
      )
      assert.deepStrictEqual(events.ofType("tool_result").map((e) => e.data.outcome), Array(4).fill("success"))
      const paths = new Set(apis.received.map((r) => new URL(r.path, apis.url).pathname))
      for (const path of ["/api/query", "/search/repositories", "/w/rest.php/v1/search/page", "/api/v1/search"]) {
        assert.isTrue(paths.has(path), path)
      }
      for (const agent of result.agentResults) {
        const domain = agent.metadata.domain as keyof typeof fixtureUrls
        const cited = (agent.metadata.sources as ReadonlyArray<{ readonly url: string }>).map((s) => s.url)
        assert.include(cited, fixtureUrls[domain], domain)
        assert.include(agent.content, `(${fixtureUrls[domain]})`)
        assert.deepStrictEqual(agent.metadata.toolCalls, 1)
      }
      const synthesis = result.finalSynthesis!
      const sources = synthesis.slice(synthesis.indexOf("## Sources"))
      for (const url of Object.values(fixtureUrls)) assert.include(sources, `(${url})`)
      assert.notInclude(synthesis, "simulated.invalid")
      const listed = result.metadata.sources as ReadonlyArray<DreamSwarm.Source>
      assert.deepStrictEqual(
        listed.find((s) => s.url === fixtureUrls.wikipedia),
        {
          title: "Quantum error correction",
          url: fixtureUrls.wikipedia,
          date: listed.find((s) => s.url === fixtureUrls.wikipedia)!.date,
          domain: "wikipedia",
          cited: ["swarm-4"]
        }
      )
    }))

  it.scoped("interrupting the run aborts a search request in flight", () =>
    Effect.gen(function*() {
      const arrived = yield* Deferred.make<void>()
      const aborted = yield* Deferred.make<void>()
      const server = createServer((_, res) => {
        res.on("close", () => Deferred.unsafeDone(aborted, Effect.void))
        Deferred.unsafeDone(arrived, Effect.void)
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          server.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () => Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
      )
      const address = server.address()
      const url = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
      const result = yield* Orchestrator.run(
        DreamSwarm.make({ numAgents: 1, domains: ["arxiv"], tools: withSearchTools }),
        "Quantum error correction",
        { cancelWhen: Deferred.await(arrived) }
      ).pipe(Effect.provide(Layer.merge(Provider.simulated(), realTools(url))))
      assert.strictEqual(result.status, "cancelled")
      yield* Deferred.await(aborted)
    }))
})

// ============================================================================================================
// Keys
// ============================================================================================================

const Lookup = Tool.make("lookup", {
  description: "Look a term up",
  parameters: { term: Schema.String },
  success: Schema.Struct({ definition: Schema.String })
})
const glossary = Toolkit.make(Lookup)

interface Kit {
  readonly name: string
  readonly model: string
  readonly key: string
  readonly layer: (url: string) => Layer.Layer<Provider.Provider, OrchestratorError.InvalidConfig>
  readonly calls: (calls: ReadonlyArray<FakeCall>) => unknown
  readonly text: (text: string) => unknown
}

const usage = { input: 10, output: 5 }
const kits: ReadonlyArray<Kit> = [
  {
    name: "openai",
    model: "gpt-4o-mini",
    key: "sk-proj-Tq4Wm8Xc2Vb6Nz0Lk3Jh7Gf1Ds5Ap9",
    layer(url) {
      return Provider.openAi({ apiKey: Redacted.make(this.key), apiUrl: `${url}/v1`, timeout: "1 hour" })
    },
    calls: (calls) => openAiFunctionCalls(calls, "gpt-4o-mini", usage),
    text: (text) => openAiResponse(text, "gpt-4o-mini", usage)
  },
  {
    name: "anthropic",
    model: "claude-sonnet-4-5",
    key: "sk-ant-api03-Rk5Ty9Ui3Op7As1Df5Gh9Jk3Lz7",
    layer(url) {
      return Provider.anthropic({ apiKey: Redacted.make(this.key), apiUrl: url, timeout: "1 hour" })
    },
    calls: (calls) => anthropicToolUse(calls, "claude-sonnet-4-5", usage),
    text: (text) => anthropicMessage(text, "claude-sonnet-4-5", usage)
  },
  {
    name: "openAiCompatible",
    model: "llama3.1",
    key: "sk-Wq2Er6Ty0Ui4Op8As2Df6Gh0Jk4",
    layer(url) {
      return Provider.openAiCompatible({ baseUrl: `${url}/v1`, apiKey: Redacted.make(this.key), timeout: "1 hour" })
    },
    calls: (calls) => chatToolCalls(calls, "llama3.1", usage),
    text: (text) => chatCompletion(text, "llama3.1", usage)
  }
]

for (const kit of kits) {
  describe(`no piece of the ${kit.name} key leaks with tools in flight`, () => {
    it.scoped("not through a tool's parameters, events, results, errors or logs", () =>
      Effect.gen(function*() {
        const cut = kit.key.slice(-14)
        // 1: tool calls whose arguments carry the key, whole and in part; then errors that quote it.
        const server = yield* fakeServer((_, n): Reply => {
          if (n === 1) {
            return {
              json: kit.calls([
                { id: "call_1", name: "lookup", args: { term: `my key is ${kit.key}` } },
                { id: "call_2", name: "lookup", args: { term: `the end of it: ${cut}`, [kit.key]: 1 } }
              ])
            }
          }
          return {
            status: 503,
            headers: { "content-type": "application/json", "x-echo-key": kit.key },
            text: JSON.stringify({ error: { message: `Refused ${kit.key}. ${"Try later. ".repeat(30)}Key: ${kit.key}` } })
          }
        })
        const received: Array<string> = []
        const handlers = glossary.toLayer({
          lookup: ({ term }) => {
            received.push(term)
            return Effect.as(Effect.sleep("3 seconds"), { definition: term })
          }
        })
        const events = recorder()
        const lines: Array<string> = []
        const logs = Logger.add(Logger.make(({ message }) => {
          lines.push(JSON.stringify(message))
        }))
        const result = yield* withVirtualTime(
          Orchestrator.run(Workflow.agent({ name: "leaky", tools: glossary }), "Define the key", {
            config: { primaryModel: kit.model, maxRetries: 2, timeoutSeconds: 3600 },
            onEvent: (event) => {
              events.onEvent(event)
              return Effect.logDebug(OrchestratorEvent.toJson(event))
            }
          }).pipe(Effect.provide(Layer.mergeAll(kit.layer(server.url), handlers, logs)), Logger.withMinimumLogLevel(LogLevel.All))
        )
        assert.strictEqual(result.status, "failed")
        assert.strictEqual(events.ofType("tool_call").length, 2)
        assert.strictEqual(received.length, 2)
        // The tools got the parameters, with the key and its piece replaced.
        assert.deepStrictEqual(received, ["my key is [redacted]", "the end of it: [redacted]"])
        for (const event of events.ofType("tool_call")) assert.include(JSON.stringify(event.data.params), "[redacted]")
        for (const event of events.events) assertNoFragment(OrchestratorEvent.toJson(event), kit.key, event.type)
        const json = JSON.stringify(yield* OrchestratorResult.toJson(result))
        assertNoFragment(json, kit.key, "the result")
        assertNoFragment(lines.join("\n"), kit.key, "the logs")
        assert.include(result.agentResults[0]!.error!, "[redacted]")
      }))
  })
}
