import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Context, Effect, Either, Fiber, Layer, Redacted, Stream, TestClock } from "effect"
import { Orchestrator, Pricing, Provider } from "multi-agent-orchestration"
import { anthropicMessage, fakeServer, openAiResponse } from "./fakeServers.js"
import { fixedWorkflow, recorder, tasks } from "./helpers.js"
import { anthropicStream, openAiStream, streamServer } from "./streamServers.js"

const KEY = "sk-test-52c8e1a0f9b34d"

const build = <E>(layer: Layer.Layer<Provider.Provider, E>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, Provider.Provider))

const lastUserText = (prompt: Prompt.Prompt): string => {
  const message = prompt.content.at(-1)
  if (message === undefined || message.role !== "user") return ""
  return message.content.map((part) => (part.type === "text" ? part.text : "")).join("")
}

/**
 * A `LanguageModel` of the test's own: it answers "<model> says: <prompt>", reporting 10 input tokens and one
 * output token per word, and streams its answer a word at a time. `builds` counts how often it is made.
 */
const houseModel = (model: string, builds: Array<string>) =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.suspend(() => {
      builds.push(model)
      const answer = (prompt: Prompt.Prompt) => `${model} says: ${lastUserText(prompt)}`
      const usage = (text: string) => ({ inputTokens: 10, outputTokens: text.split(" ").length, totalTokens: 0 })
      return LanguageModel.make({
        generateText: (options) => {
          const text = answer(options.prompt)
          return Effect.succeed([
            { type: "response-metadata", modelId: model, id: "r1", timestamp: "2025-01-01T00:00:00Z" },
            { type: "text", text },
            { type: "finish", reason: "stop", usage: usage(text) }
          ])
        },
        streamText: (options) => {
          const text = answer(options.prompt)
          return Stream.fromIterable([
            { type: "text-start", id: "t" },
            ...text.split(/(?<= )/).map((delta) => ({ type: "text-delta" as const, id: "t", delta })),
            { type: "text-end", id: "t" },
            { type: "finish", reason: "stop", usage: usage(text) }
          ])
        }
      })
    })
  )

describe("Provider.fromLanguageModel", () => {
  it.scoped("a LanguageModel of your own: each model built once, on first use; completes and streams with its usage", () =>
    Effect.gen(function*() {
      const builds: Array<string> = []
      const provider = yield* build(
        Provider.fromLanguageModel((model) => houseModel(model, builds), { name: "house", defaultModel: "house-small" })
      )
      assert.deepStrictEqual(builds, [])
      const first = yield* provider.complete({ prompt: "hello" })
      assert.deepStrictEqual(first, {
        content: "house-small says: hello",
        model: "house-small",
        usage: { inputTokens: 10, outputTokens: 3 }
      })
      yield* provider.complete({ prompt: "again", model: "house-small" })
      const chunks = Chunk.toReadonlyArray(
        yield* Stream.runCollect(Provider.streamFrom(provider, { prompt: "hi there", model: "house:house-large" }))
      )
      assert.deepStrictEqual(
        chunks.flatMap((chunk) => (chunk._tag === "TextDelta" ? [chunk.text] : [])),
        ["house-large ", "says: ", "hi ", "there"]
      )
      const last = chunks.at(-1)!
      assert.deepStrictEqual(last._tag === "Finish" ? last.completion.usage : undefined, { inputTokens: 10, outputTokens: 4 })
      assert.deepStrictEqual(builds, ["house-small", "house-large"])
    }))

  it.scoped("in a run, the usage prices each model at the run's Pricing, and streamed text becomes agent_delta", () =>
    Effect.gen(function*() {
      const builds: Array<string> = []
      const layers = { "house-small": houseModel("house-small", builds), "house-large": houseModel("house-large", builds) }
      const events = recorder()
      const fiber = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", {
        config: { primaryModel: "house-large" },
        streamTokens: true,
        onEvent: events.onEvent
      }).pipe(
        Effect.provide(Layer.mergeAll(
          Provider.fromLanguageModel(layers),
          Pricing.layer({ "house-large": { input: 2, output: 8 } })
        )),
        Effect.fork
      )
      // The model writes its words at once; each agent's text goes out in at most two deltas, 50 ms apart.
      yield* TestClock.adjust("50 millis")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      // Two agents, each 10 input tokens and 4 output ("house-large says: do a") at $2 and $8 per million.
      assert.strictEqual(result.usage.inputTokens, 20)
      assert.strictEqual(result.usage.outputTokens, 8)
      assert.closeTo(result.totalCost, (20 * 2 + 8 * 8) / 1_000_000, 1e-12)
      const text = events.ofType("agent_delta").filter((e) => e.agentId === "a").map((e) => e.data.text).join("")
      assert.strictEqual(text, "house-large says: do a")
      assert.deepStrictEqual(builds, ["house-large"])
    }))

  it.scoped("a model with no layer fails the call with InvalidRequest; bad options fail the layer", () =>
    Effect.gen(function*() {
      const provider = yield* build(Provider.fromLanguageModel({ "house-small": houseModel("house-small", []) }))
      const error = yield* Effect.flip(provider.complete({ prompt: "x", model: "house-huge" }))
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.include(error.message, `no LanguageModel layer for model "house-huge"`)
      const refused = yield* Effect.either(build(
        Provider.fromLanguageModel((model) => houseModel(model, []), { name: "a:b", timeout: -1 })
      ))
      assert.isTrue(Either.isLeft(refused))
      if (Either.isLeft(refused)) {
        assert.deepStrictEqual(refused.left.problems, [
          `fromLanguageModel: name is the model prefix it answers to and must not contain ":", got "a:b"`,
          "fromLanguageModel: timeout must be a positive, finite duration (milliseconds, or a string such as \"30 seconds\"), got -1",
          "fromLanguageModel: defaultModel is required when the models are given by a function"
        ])
      }
    }))

  it.scoped("OpenAI and Anthropic through their @effect/ai layers: completions and streams, with their usage", () =>
    Effect.gen(function*() {
      const openAiJson = yield* fakeServer((request) =>
        ({ json: openAiResponse(`openai: ${request.json.model}`, request.json.model, { input: 40, output: 9, cached: 8 }) })
      )
      const anthropicJson = yield* fakeServer((request) => ({
        json: anthropicMessage(`anthropic: ${request.json.model}`, request.json.model, {
          input: 30,
          output: 6,
          cached: 100,
          cacheCreation: 20
        })
      }))
      const openAiStreamed = yield* streamServer((request) => {
        const wire = openAiStream(request.json.model, ["Hello ", "from ", "OpenAI"], { input: 12, output: 3 })
        return { pieces: [...wire.head, ...wire.deltas, ...wire.tail] }
      })
      const anthropicStreamed = yield* streamServer((request) => {
        const wire = anthropicStream(request.json.model, ["Hello ", "from ", "Claude"], { input: 14, output: 3 })
        return { pieces: [...wire.head, ...wire.deltas, ...wire.tail] }
      })
      const providers = (openAiUrl: string, anthropicUrl: string) =>
        Provider.router({
          openai: Provider.fromLanguageModel((model) => OpenAiLanguageModel.layer({ model }), {
            name: "openai",
            defaultModel: "gpt-4o-mini"
          }).pipe(Layer.provide(OpenAiClient.layer({ apiKey: Redacted.make(KEY), apiUrl: `${openAiUrl}/v1` }))),
          anthropic: Provider.fromLanguageModel((model) => AnthropicLanguageModel.layer({ model }), {
            name: "anthropic",
            defaultModel: "claude-sonnet-4-5"
          }).pipe(Layer.provide(AnthropicClient.layer({ apiKey: Redacted.make(KEY), apiUrl: anthropicUrl })))
        }).pipe(Layer.provide(FetchHttpClient.layer))

      const plain = yield* build(providers(openAiJson.url, anthropicJson.url))
      const openAi = yield* plain.complete({ prompt: "hi", model: "gpt-4o" })
      assert.deepStrictEqual(openAi, {
        content: "openai: gpt-4o",
        model: "gpt-4o",
        usage: { inputTokens: 40, outputTokens: 9, cachedInputTokens: 8 }
      })
      const claude = yield* plain.complete({ prompt: "hi", model: "claude-haiku-4-5" })
      // Anthropic counts cache reads and writes apart from its input; the library's input includes them.
      assert.deepStrictEqual(claude, {
        content: "anthropic: claude-haiku-4-5",
        model: "claude-haiku-4-5",
        usage: { inputTokens: 150, outputTokens: 6, cachedInputTokens: 100, cacheWriteInputTokens: 20 }
      })
      assert.strictEqual(openAiJson.received[0]!.headers.authorization, `Bearer ${KEY}`)
      assert.strictEqual(anthropicJson.received[0]!.headers["x-api-key"], KEY)

      const streaming = yield* build(providers(openAiStreamed.url, anthropicStreamed.url))
      const cases: ReadonlyArray<readonly [string, Array<string>, { inputTokens: number; outputTokens: number }]> = [
        ["gpt-4o", ["Hello ", "from ", "OpenAI"], { inputTokens: 12, outputTokens: 3 }],
        ["claude-sonnet-4-5", ["Hello ", "from ", "Claude"], { inputTokens: 14, outputTokens: 3 }]
      ]
      for (const [model, words, tokens] of cases) {
        const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(Provider.streamFrom(streaming, { prompt: "hi", model })))
        assert.deepStrictEqual(chunks.flatMap((chunk) => (chunk._tag === "TextDelta" ? [chunk.text] : [])), words)
        const last = chunks.at(-1)!
        assert.deepStrictEqual(last._tag === "Finish" ? last.completion : undefined, {
          content: words.join(""),
          model,
          usage: tokens
        })
      }
      assert.strictEqual(openAiStreamed.received[0]!.json.stream, true)
      assert.strictEqual(anthropicStreamed.received[0]!.json.stream, true)
    }))
})
