import { Tool, Toolkit } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option, Redacted, Schema, TestClock } from "effect"
import { type OrchestratorError, Orchestrator, Pricing, Provider, Workflow } from "multi-agent-orchestration"
import {
  anthropicMessage,
  anthropicToolUse,
  chatCompletion,
  chatToolCalls,
  type FakeCall,
  type FakeUsage,
  fakeServer,
  openAiFunctionCalls,
  openAiResponse,
  type Received
} from "./fakeServers.js"
import { recorder } from "./helpers.js"

const KEY = "sk-live-4f7a9c2e81d06b35"

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

/** A glossary tool: knows "dag", fails (as a result the model sees) for any other term. */
const Lookup = Tool.make("lookup", {
  description: "Look a term up in the glossary",
  parameters: { term: Schema.String },
  success: Schema.Struct({ definition: Schema.String }),
  failure: Schema.Struct({ reason: Schema.String }),
  failureMode: "return"
})
const glossary = Toolkit.make(Lookup)
const handlers = glossary.toLayer({
  lookup: ({ term }) =>
    term === "dag"
      ? Effect.succeed({ definition: "a directed acyclic graph" })
      : Effect.fail({ reason: `no entry for ${term}` })
})

const Finding = Schema.Struct({
  claim: Schema.String,
  evidence: Schema.Array(Schema.String),
  confidence: Schema.Number.pipe(Schema.between(0, 1))
}).annotations({ identifier: "Finding" })

/** How one API carries tools and typed output on the wire. */
interface Wire {
  readonly name: string
  readonly model: string
  readonly price: Pricing.ModelPrice
  readonly layer: (url: string) => Layer.Layer<Provider.Provider, OrchestratorError.InvalidConfig>
  readonly path: string
  readonly text: (text: string, usage: FakeUsage) => unknown
  readonly calls: (calls: ReadonlyArray<FakeCall>, usage: FakeUsage) => unknown
  /** A typed reply in the form the API gives it. */
  readonly object: (value: unknown, usage: FakeUsage) => unknown
  /** The tools of a request, as `{ name, parameters }`. */
  readonly toolsOf: (body: any) => Array<{ readonly name: string; readonly parameters: any }>
  /** The calls a request sends back, and the results it sends for them. */
  readonly historyOf: (body: any) => {
    readonly calls: Array<{ readonly id: string; readonly name: string; readonly args: unknown }>
    readonly results: Array<{ readonly id: string; readonly output: unknown; readonly isError: boolean }>
  }
  /** The JSON Schema a request asks for, and the name it gives it. */
  readonly formatOf: (body: any) => { readonly name: string; readonly schema: any } | undefined
  /** The text of the last user turn of a request. */
  readonly lastUserText: (body: any) => string
}

const parsed = (text: unknown) => (typeof text === "string" ? JSON.parse(text) : text)

const wires: ReadonlyArray<Wire> = [
  {
    name: "openai",
    model: "gpt-4o-mini",
    price: Pricing.builtIn["gpt-4o-mini"]!,
    layer: (url) => Provider.openAi({ apiKey: Redacted.make(KEY), apiUrl: `${url}/v1`, timeout: "1 hour" }),
    path: "/v1/responses",
    text: (text, usage) => openAiResponse(text, "gpt-4o-mini", usage),
    calls: (calls, usage) => openAiFunctionCalls(calls, "gpt-4o-mini", usage),
    object: (value, usage) => openAiResponse(JSON.stringify(value), "gpt-4o-mini", usage),
    toolsOf: (body) => body.tools.map((tool: any) => ({ name: tool.name, parameters: tool.parameters, strict: tool.strict })),
    historyOf: (body) => ({
      calls: body.input.filter((item: any) => item.type === "function_call").map((item: any) => ({
        id: item.call_id,
        name: item.name,
        args: JSON.parse(item.arguments)
      })),
      results: body.input.filter((item: any) => item.type === "function_call_output").map((item: any) => ({
        id: item.call_id,
        output: JSON.parse(item.output),
        isError: false
      }))
    }),
    formatOf: (body) =>
      body.text?.format?.type === "json_schema" ? { name: body.text.format.name, schema: body.text.format.schema } : undefined,
    lastUserText: (body) => body.input.filter((item: any) => item.role === "user").at(-1).content.at(-1).text
  },
  {
    name: "anthropic",
    model: "claude-sonnet-4-5",
    price: Pricing.builtIn["claude-sonnet-4-5"]!,
    layer: (url) => Provider.anthropic({ apiKey: Redacted.make(KEY), apiUrl: url, timeout: "1 hour" }),
    path: "/v1/messages",
    text: (text, usage) => anthropicMessage(text, "claude-sonnet-4-5", usage),
    calls: (calls, usage) => anthropicToolUse(calls, "claude-sonnet-4-5", usage),
    // Anthropic's typed output is a tool the model is made to call.
    object: (value, usage) =>
      anthropicToolUse([{ id: "toolu_01A09q90qw90lq917835lq9", name: "Finding", args: value }], "claude-sonnet-4-5", usage),
    toolsOf: (body) => (body.tools ?? []).map((tool: any) => ({ name: tool.name, parameters: tool.input_schema })),
    historyOf: (body) => {
      const blocks = body.messages.flatMap((message: any) => (Array.isArray(message.content) ? message.content : []))
      return {
        calls: blocks.filter((b: any) => b.type === "tool_use").map((b: any) => ({ id: b.id, name: b.name, args: b.input })),
        results: blocks.filter((b: any) => b.type === "tool_result").map((b: any) => ({
          id: b.tool_use_id,
          output: parsed(b.content),
          isError: b.is_error === true
        }))
      }
    },
    formatOf: (body) =>
      body.tool_choice?.type === "tool"
        ? { name: body.tool_choice.name, schema: body.tools.find((t: any) => t.name === body.tool_choice.name).input_schema }
        : undefined,
    lastUserText: (body) => {
      const content = body.messages.filter((m: any) => m.role === "user").at(-1).content
      return typeof content === "string" ? content : content.at(-1).text
    }
  },
  {
    name: "openAiCompatible",
    model: "llama3.1",
    price: { input: 0.2, output: 0.6 },
    layer: (url) => Provider.openAiCompatible({ baseUrl: `${url}/v1`, apiKey: Redacted.make(KEY), timeout: "1 hour" }),
    path: "/v1/chat/completions",
    text: (text, usage) => chatCompletion(text, "llama3.1", usage),
    calls: (calls, usage) => chatToolCalls(calls, "llama3.1", usage),
    object: (value, usage) => chatCompletion(JSON.stringify(value), "llama3.1", usage),
    toolsOf: (body) => body.tools.map((tool: any) => ({ name: tool.function.name, parameters: tool.function.parameters })),
    historyOf: (body) => ({
      calls: body.messages.flatMap((m: any) => m.tool_calls ?? []).map((call: any) => ({
        id: call.id,
        name: call.function.name,
        args: JSON.parse(call.function.arguments)
      })),
      results: body.messages.filter((m: any) => m.role === "tool").map((m: any) => ({
        id: m.tool_call_id,
        output: JSON.parse(m.content),
        isError: false
      }))
    }),
    formatOf: (body) =>
      body.response_format?.type === "json_schema"
        ? { name: body.response_format.json_schema.name, schema: body.response_format.json_schema.schema }
        : undefined,
    lastUserText: (body) => body.messages.filter((m: any) => m.role === "user").at(-1).content
  }
]

const usage = (n: number): FakeUsage => ({ input: 200 * n, output: 20 * n })

const bodies = (received: ReadonlyArray<Received>, path: string) =>
  received.filter((request) => request.path.split("?")[0] === path).map((request) => request.json)

for (const wire of wires) {
  describe(`tools and typed output against a fake ${wire.name} server`, () => {
    it.scoped("an agent's tool loop: the tools go out, the calls come back, their results (and errors) go back in", () =>
      Effect.gen(function*() {
        const server = yield* fakeServer((_, n) => ({
          json: n === 1
            ? wire.calls([
              { id: "call_dag", name: "lookup", args: { term: "dag" } },
              { id: "call_bad", name: "lookup", args: { word: 3 } },
              { id: "call_dom", name: "lookup", args: { term: "dom" } }
            ], usage(1))
            : wire.text("A DAG is a directed acyclic graph.", usage(2))
        }))
        const events = recorder()
        const result = yield* withVirtualTime(
          Orchestrator.run(Workflow.agent({ name: "glossary", tools: glossary }), "What is a DAG?", {
            config: { primaryModel: wire.model },
            onEvent: events.onEvent
          }).pipe(Effect.provide(Layer.mergeAll(wire.layer(server.url), handlers, Pricing.layer({ [wire.model]: wire.price }))))
        )
        assert.strictEqual(result.status, "completed", result.error)
        assert.strictEqual(result.finalSynthesis, "A DAG is a directed acyclic graph.")

        const [first, second] = bodies(server.received, wire.path)
        const sent = wire.toolsOf(first)
        assert.deepStrictEqual(sent.map((tool) => tool.name), ["lookup"])
        assert.deepStrictEqual(sent[0]!.parameters.required, ["term"])
        assert.strictEqual(sent[0]!.parameters.properties.term.type, "string")

        const history = wire.historyOf(second)
        assert.deepStrictEqual(history.calls.map((call) => [call.id, call.args]), [
          ["call_dag", { term: "dag" }],
          ["call_bad", { word: 3 }],
          ["call_dom", { term: "dom" }]
        ])
        assert.deepStrictEqual(history.results.map((r) => r.id), ["call_dag", "call_bad", "call_dom"])
        assert.deepStrictEqual(history.results[0]!.output, { definition: "a directed acyclic graph" })
        assert.match(JSON.stringify(history.results[1]!.output), /the parameters do not match the tool's parameters.*term.*is missing/)
        assert.deepStrictEqual(history.results[2]!.output, {
          error: "{\"reason\":\"no entry for dom\"}",
          details: { reason: "no entry for dom" }
        })

        const agent = result.agentResults[0]!
        assert.strictEqual(agent.attempts, 2)
        assert.deepStrictEqual(agent.metadata, { steps: 2, toolCalls: 3 })
        const expected = Pricing.costAt(wire.price, { inputTokens: 600, outputTokens: 60 })
        assert.closeTo(agent.cost, expected, 1e-12)
        assert.closeTo(result.totalCost, expected, 1e-12)
        assert.deepStrictEqual(events.ofType("tool_call").map((e) => [e.data.toolCallId, e.data.step]), [
          ["call_dag", 1],
          ["call_bad", 1],
          ["call_dom", 1]
        ])
        assert.deepStrictEqual(events.ofType("tool_result").map((e) => [e.data.toolCallId, e.data.outcome]).sort(), [
          ["call_bad", "failure"],
          ["call_dag", "success"],
          ["call_dom", "failure"]
        ])
      }))

    it.scoped("typed output: the JSON Schema goes out where the API takes it, the reply is decoded", () =>
      Effect.gen(function*() {
        const value = { claim: "Heat pumps cut emissions", evidence: ["IEA 2024"], confidence: 0.8 }
        const server = yield* fakeServer(() => ({ json: wire.object(value, usage(1)) }))
        const completion = yield* Provider.completeObject({ model: wire.model, prompt: "One finding on heat pumps" }, Finding)
          .pipe(Effect.provide(wire.layer(server.url)))
        assert.deepStrictEqual(completion.value, value)
        assert.strictEqual(completion.attempts, 1)
        const format = wire.formatOf(server.received[0]!.json)
        assert.isDefined(format)
        assert.strictEqual(format!.name, "Finding")
        assert.deepStrictEqual(format!.schema.required, ["claim", "evidence", "confidence"])
        assert.strictEqual(format!.schema.properties.confidence.maximum, 1)
      }))

    it.scoped("a reply that does not decode gets exactly one repair call, which names the problems", () =>
      Effect.gen(function*() {
        const good = { claim: "Grid storage is growing", evidence: [], confidence: 0.6 }
        const server = yield* fakeServer((_, n) => ({
          json: wire.object(n === 1 ? { claim: 3, evidence: [], confidence: "high" } : good, usage(n))
        }))
        const completion = yield* Provider.completeObject({ model: wire.model, prompt: "One finding on storage" }, Finding)
          .pipe(Effect.provide(wire.layer(server.url)))
        assert.deepStrictEqual(completion.value, good)
        assert.strictEqual(completion.attempts, 2)
        assert.strictEqual(server.received.length, 2)
        const repair = wire.lastUserText(server.received[1]!.json)
        assert.include(repair, "claim: Expected string, actual 3")
        assert.include(repair, "confidence: Expected number, actual \"high\"")
        assert.deepStrictEqual(completion.usage, { inputTokens: 600, outputTokens: 60 })
      }))

    it.scoped("typed output with tools: both go out (Anthropic, whose format would replace the tools, asks in words)", () =>
      Effect.gen(function*() {
        const value = { claim: "A DAG has no cycles", evidence: ["glossary"], confidence: 0.9 }
        const server = yield* fakeServer((_, n) => ({
          json: n === 1
            ? wire.calls([{ id: "call_1", name: "lookup", args: { term: "dag" } }], usage(1))
            : wire.name === "anthropic"
            ? wire.text(JSON.stringify(value), usage(2))
            : wire.object(value, usage(2))
        }))
        const result = yield* withVirtualTime(
          Orchestrator.run(Workflow.agent({ name: "typed", tools: glossary, output: Finding }), "What is a DAG?", {
            config: { primaryModel: wire.model }
          }).pipe(Effect.provide(Layer.mergeAll(wire.layer(server.url), handlers)))
        )
        assert.strictEqual(result.status, "completed", result.error)
        assert.deepStrictEqual(result.agentResults[0]!.value, value)
        const [first, second] = bodies(server.received, wire.path)
        for (const body of [first, second]) assert.deepStrictEqual(wire.toolsOf(body).map((tool) => tool.name), ["lookup"])
        if (wire.name === "anthropic") {
          assert.isUndefined(wire.formatOf(first))
          assert.include(first.system.map((block: any) => block.text).join("\n"), "\"confidence\"")
        } else {
          assert.strictEqual(wire.formatOf(first)?.name, "Finding")
        }
        if (wire.name === "openai") assert.isTrue(first.tools[0].strict)
      }))

    it.scoped("a reply that is no JSON at all gets its repair too, with its usage counted", () =>
      Effect.gen(function*() {
        const good = { claim: "Tides are predictable", evidence: ["NOAA"], confidence: 0.7 }
        const server = yield* fakeServer((_, n) => ({
          json: n === 1 ? wire.text("Sorry, I would rather write prose.", usage(1)) : wire.object(good, usage(2))
        }))
        const completion = yield* Provider.completeObject({ model: wire.model, prompt: "One finding on tides" }, Finding)
          .pipe(Effect.provide(wire.layer(server.url)))
        assert.deepStrictEqual(completion.value, good)
        assert.strictEqual(completion.attempts, 2)
        assert.match(wire.lastUserText(server.received[1]!.json), /the reply is (not JSON|empty)/)
        // The refused reply is counted too: from the wire where the client gives it back, else estimated.
        assert.isAbove(completion.usage.inputTokens, 400)
      }))

    it.scoped("a second bad reply fails with InvalidOutput holding the issues, after two calls", () =>
      Effect.gen(function*() {
        const server = yield* fakeServer((_, n) => ({ json: wire.object({ claim: "x", confidence: 2 }, usage(n)) }))
        const error = yield* Provider.completeObject({ model: wire.model, prompt: "One finding" }, Finding).pipe(
          Effect.provide(wire.layer(server.url)),
          Effect.flip
        )
        assert.strictEqual(error._tag, "InvalidOutput")
        assert.strictEqual(server.received.length, 2)
        if (error._tag !== "InvalidOutput") return
        assert.strictEqual(error.attempts, 2)
        assert.deepStrictEqual(error.issues.map((issue) => issue.path), ["evidence", "confidence"])
      }))
  })
}
