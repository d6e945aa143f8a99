/**
 * The HTTP providers, loaded on first use: their modules import `@effect/ai-openai`, `@effect/ai-anthropic`
 * and `@effect/platform`, which programs on the simulated provider never need to load (or install).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { InvalidConfig } from "../../OrchestratorError.js"
import type { Service } from "../../Provider.js"
import type { AnthropicOptions } from "./anthropic.js"
import type { OpenAiCompatibleOptions } from "./compatible.js"
import { withLimits } from "./limits.js"
import type { OpenAiOptions } from "./openai.js"
import { anthropicProblems, openAiCompatibleProblems, openAiProblems, refuse } from "./validate.js"

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

/** Each loader checks its options first: bad options fail with `InvalidConfig` before anything is loaded. */
export const openAi = (options: OpenAiOptions): Effect.Effect<Service, InvalidConfig, Scope.Scope> =>
  refuse(openAiProblems(options)).pipe(
    Effect.zipRight(
      load("Provider.openAi", "@effect/ai @effect/ai-openai @effect/platform", () => import("./openai.js"))
    ),
    Effect.flatMap((module) => module.make(options)),
    Effect.flatMap((service) => withLimits(service, options, options.maxTokens))
  )

export const anthropic = (options: AnthropicOptions): Effect.Effect<Service, InvalidConfig, Scope.Scope> =>
  refuse(anthropicProblems(options)).pipe(
    Effect.zipRight(
      load("Provider.anthropic", "@effect/ai @effect/ai-anthropic @effect/platform", () => import("./anthropic.js"))
    ),
    Effect.flatMap((module) =>
      Effect.flatMap(module.make(options), (service) =>
        withLimits(service, options, options.maxTokens ?? module.defaultMaxTokens))
    )
  )

export const openAiCompatible = (
  options: OpenAiCompatibleOptions
): Effect.Effect<Service, InvalidConfig, Scope.Scope> =>
  refuse(openAiCompatibleProblems(options)).pipe(
    Effect.zipRight(load("Provider.openAiCompatible", "@effect/platform", () => import("./compatible.js"))),
    Effect.flatMap((module) => module.make(options)),
    Effect.flatMap((service) => withLimits(service, options, options.maxTokens))
  )
