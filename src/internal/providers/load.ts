/**
 * The HTTP providers, loaded on first use: their modules import `@effect/ai-openai`, `@effect/ai-anthropic`
 * and `@effect/platform`, which programs on the simulated provider never need to load (or install).
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { InvalidConfig } from "../../OrchestratorError.js"
import type { Service } from "../../Provider.js"
import type { AnthropicOptions } from "./anthropic.js"
import type { OpenAiCompatibleOptions } from "./compatible.js"
import { withLimits } from "./limits.js"
import type { OpenAiOptions } from "./openai.js"
import { makeServerLimits } from "./serverLimits.js"
import type { FromLanguageModelOptions, ModelLayers } from "./fromLanguageModel.js"
import {
  anthropicProblems,
  fromLanguageModelProblems,
  openAiCompatibleProblems,
  openAiProblems,
  refuse
} from "./validate.js"

const load = <A>(what: string, packages: string, load: () => Promise<A>): Effect.Effect<A> =>
  Effect.tryPromise(load).pipe(
    Effect.catchAll((error) =>
      Effect.dieMessage(
        `${what} needs the packages ${packages.split(" ").join(", ")}: npm install ${packages}. ${
          error.cause instanceof Error ? error.cause.message : String(error.cause)
        }`
      )
    )
  )

/** `self` on `@effect/platform`'s `FetchHttpClient`, loaded when first used. */
const onFetch = <A, E>(self: Effect.Effect<A, E, Scope.Scope | HttpClient.HttpClient>): Effect.Effect<A, E, Scope.Scope> =>
  Effect.flatMap(
    load("The HTTP providers", "@effect/platform", () => import("@effect/platform/FetchHttpClient")),
    (module) => Effect.provide(self, module.layer)
  )

/**
 * Each loader checks its options first: bad options fail with `InvalidConfig` before anything is loaded. The
 * `WithoutHttpClient` forms take the `HttpClient` of the environment; the others use `fetch`.
 */
export const openAiWithoutHttpClient = (
  options: OpenAiOptions
): Effect.Effect<Service, InvalidConfig, Scope.Scope | HttpClient.HttpClient> =>
  refuse(openAiProblems(options)).pipe(
    Effect.zipRight(
      load("Provider.openAi", "@effect/ai @effect/ai-openai @effect/platform", () => import("./openai.js"))
    ),
    Effect.flatMap((module) => {
      const server = makeServerLimits()
      return Effect.flatMap(module.make(options, server), (service) =>
        withLimits(service, options, options.maxTokens, server))
    })
  )

export const openAi = (options: OpenAiOptions): Effect.Effect<Service, InvalidConfig, Scope.Scope> =>
  Effect.zipRight(refuse(openAiProblems(options)), onFetch(openAiWithoutHttpClient(options)))

export const anthropicWithoutHttpClient = (
  options: AnthropicOptions
): Effect.Effect<Service, InvalidConfig, Scope.Scope | HttpClient.HttpClient> =>
  refuse(anthropicProblems(options)).pipe(
    Effect.zipRight(
      load("Provider.anthropic", "@effect/ai @effect/ai-anthropic @effect/platform", () => import("./anthropic.js"))
    ),
    Effect.flatMap((module) => {
      const server = makeServerLimits()
      return Effect.flatMap(module.make(options, server), (service) =>
        withLimits(service, options, options.maxTokens ?? module.defaultMaxTokens, server))
    })
  )

export const anthropic = (options: AnthropicOptions): Effect.Effect<Service, InvalidConfig, Scope.Scope> =>
  Effect.zipRight(refuse(anthropicProblems(options)), onFetch(anthropicWithoutHttpClient(options)))

export const openAiCompatibleWithoutHttpClient = (
  options: OpenAiCompatibleOptions
): Effect.Effect<Service, InvalidConfig, Scope.Scope | HttpClient.HttpClient> =>
  refuse(openAiCompatibleProblems(options)).pipe(
    Effect.zipRight(load("Provider.openAiCompatible", "@effect/platform", () => import("./compatible.js"))),
    Effect.flatMap((module) => {
      const server = makeServerLimits()
      return Effect.flatMap(module.make(options, server), (service) =>
        withLimits(service, options, options.maxTokens, server))
    })
  )

export const openAiCompatible = (
  options: OpenAiCompatibleOptions
): Effect.Effect<Service, InvalidConfig, Scope.Scope> =>
  Effect.zipRight(refuse(openAiCompatibleProblems(options)), onFetch(openAiCompatibleWithoutHttpClient(options)))

export const fromLanguageModel = <E, R>(
  layers: ModelLayers<E, R>,
  options: FromLanguageModelOptions
): Effect.Effect<Service, InvalidConfig, Scope.Scope | R> =>
  refuse(fromLanguageModelProblems(layers, options)).pipe(
    Effect.zipRight(load("Provider.fromLanguageModel", "@effect/ai", () => import("./fromLanguageModel.js"))),
    Effect.flatMap((module) => module.make(layers, options))
  )
