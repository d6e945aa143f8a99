/**
 * Bring your own model and HTTP client: any `@effect/ai` `LanguageModel` as the provider, on an `HttpClient`
 * of your own, with usage, cost and streamed text as with the built-in providers.
 *
 *   npx tsx examples/own-model.ts                      # offline: a LanguageModel written below
 *   OPENAI_API_KEY=sk-... npx tsx examples/own-model.ts # OpenAI through @effect/ai-openai
 *   ANTHROPIC_API_KEY=sk-ant-... npx tsx examples/own-model.ts
 *
 * `OPENAI_BASE_URL` and `ANTHROPIC_BASE_URL` point the clients elsewhere (a proxy, a gateway).
 */
import { LanguageModel } from "@effect/ai"
import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer, Option, Redacted, Stream } from "effect"
import { DreamCascade, Format, Orchestrator, Pricing, Provider } from "multi-agent-orchestration"

// Your HTTP client: every request says where it comes from, and every reply is logged.
const AuditedHttpClient = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, (client) =>
    client.pipe(
      HttpClient.mapRequest(HttpClientRequest.setHeader("x-request-source", "own-model-example")),
      HttpClient.tap((response) =>
        Console.log(`${response.request.method} ${response.request.url} → ${response.status}`)
      )
    ))
).pipe(Layer.provide(FetchHttpClient.layer))

// A LanguageModel of your own: a model in the process that answers with the first line of the prompt,
// a word at a time. Any model @effect/ai can talk to fits the same way.
const lastUserText = (options: LanguageModel.ProviderOptions): string => {
  const message = options.prompt.content.at(-1)
  return message?.role === "user" ? message.content.map((part) => (part.type === "text" ? part.text : "")).join("") : ""
}
const echo = (model: string) =>
  Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: (options) => {
        const text = `[${model}] ${lastUserText(options).split("\n")[0]}`
        return Effect.succeed([
          { type: "text", text },
          { type: "finish", reason: "stop", usage: { inputTokens: 50, outputTokens: 10, totalTokens: 60 } }
        ])
      },
      streamText: (options) => {
        const text = `[${model}] ${lastUserText(options).split("\n")[0]}`
        return Stream.fromIterable([
          ...text.split(/(?<= )/).map((delta) => ({ type: "text-delta" as const, id: "1", delta })),
          { type: "finish" as const, reason: "stop" as const, usage: { inputTokens: 50, outputTokens: 10, totalTokens: 60 } }
        ])
      }
    })
  )

const optionalUrl = (name: string) => Config.option(Config.string(name)).pipe(Config.map(Option.getOrUndefined))

// OpenAI and Anthropic through their own @effect/ai layers: one LanguageModel per model, built on first use.
const openAi = (apiKey: Redacted.Redacted) =>
  Provider.fromLanguageModel((model) => OpenAiLanguageModel.layer({ model }), {
    name: "openai",
    defaultModel: "gpt-4o-mini"
  }).pipe(Layer.provide(OpenAiClient.layerConfig({ apiKey: Config.succeed(apiKey), apiUrl: optionalUrl("OPENAI_BASE_URL") })))

const anthropic = (apiKey: Redacted.Redacted) =>
  Provider.fromLanguageModel((model) => AnthropicLanguageModel.layer({ model }), {
    name: "anthropic",
    defaultModel: "claude-haiku-4-5"
  }).pipe(
    Layer.provide(AnthropicClient.layerConfig({ apiKey: Config.succeed(apiKey), apiUrl: optionalUrl("ANTHROPIC_BASE_URL") }))
  )

// The provider the environment allows: the real APIs when their keys are set, else the model above.
const ChosenProvider = Layer.unwrapEffect(Effect.gen(function*() {
  const openAiKey = yield* Config.option(Config.redacted("OPENAI_API_KEY"))
  const anthropicKey = yield* Config.option(Config.redacted("ANTHROPIC_API_KEY"))
  const routes: Record<string, Layer.Layer<Provider.Provider, unknown, HttpClient.HttpClient>> = {}
  if (Option.isSome(openAiKey)) routes.openai = openAi(openAiKey.value)
  if (Option.isSome(anthropicKey)) routes.anthropic = anthropic(anthropicKey.value)
  if (Object.keys(routes).length === 0) {
    yield* Console.log("No OPENAI_API_KEY or ANTHROPIC_API_KEY: using the in-process model")
    return Layer.merge(
      Provider.fromLanguageModel({ "echo-large": echo("echo-large"), "echo-small": echo("echo-small") }),
      Pricing.layer({ "echo-large": { input: 1, output: 4 }, "echo-small": { input: 0.1, output: 0.4 } })
    )
  }
  const [only, ...others] = Object.values(routes)
  return Layer.merge(others.length === 0 ? only! : Provider.router(routes), Pricing.layer({}))
})).pipe(Layer.provide(AuditedHttpClient))

const program = Effect.gen(function*() {
  const provider = yield* Provider.Provider
  const written = new Map<string, string>()
  const result = yield* Orchestrator.run(
    DreamCascade.make({ belterCount: 2, drummerCount: 1, caminaCount: 1 }),
    "Compare heat pumps and gas boilers",
    {
      streamTokens: true,
      onEvent: (event) => {
        if (event.type !== "agent_delta" || event.agentId === undefined) return
        written.set(event.agentId, (event.data.restart === true ? "" : written.get(event.agentId) ?? "") + event.data.text)
      }
    }
  )
  yield* Console.log(`provider: ${provider.name}, status: ${result.status}`)
  for (const agent of result.agentResults) {
    yield* Console.log(`${agent.agentId} (${agent.model}): ${agent.usage.inputTokens} in, ${agent.usage.outputTokens} out, ${Format.formatCost(agent.cost)}, streamed ${written.get(agent.agentId)?.length ?? 0} characters`)
  }
  yield* Console.log(`total: ${Format.formatCost(result.totalCost)}`)
})

program.pipe(Effect.provide(ChosenProvider), NodeRuntime.runMain)
