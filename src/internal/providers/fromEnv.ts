/**
 * `Provider.fromEnv`: the provider the environment asks for, or the simulated one, said once.
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { InvalidConfig } from "../../OrchestratorError.js"
import type { Service } from "../../Provider.js"
import { makeSimulated } from "../simulated.js"
import * as load from "./load.js"
import { makeRouter } from "./routing.js"
import { refuse, urlProblem } from "./validate.js"

const nonEmpty = (config: Config.Config<string>) =>
  Config.option(config).pipe(Config.map(Option.filter((value) => value.trim() !== "")))

const secret = (name: string) =>
  Config.option(Config.redacted(name)).pipe(
    Config.map(Option.filter((value) => Redacted.value(value).trim() !== ""))
  )

/** The environment variables `fromEnv` reads. */
export const environment = Config.all({
  anthropicApiKey: secret("ANTHROPIC_API_KEY"),
  anthropicBaseUrl: nonEmpty(Config.string("ANTHROPIC_BASE_URL")),
  anthropicModel: nonEmpty(Config.string("ANTHROPIC_MODEL")),
  openAiApiKey: secret("OPENAI_API_KEY"),
  openAiBaseUrl: nonEmpty(Config.string("OPENAI_BASE_URL")),
  openAiModel: nonEmpty(Config.string("OPENAI_MODEL"))
})

export const fallbackNotice = "No ANTHROPIC_API_KEY, OPENAI_API_KEY or OPENAI_BASE_URL is set: " +
  "using the simulated provider, whose replies are canned text (offline, no cost)."

type EnvError = ConfigError.ConfigError | InvalidConfig

export const make: Effect.Effect<Service, EnvError, Scope.Scope> = Effect.gen(function*() {
  const env = yield* environment
  // Named by their variables, and checked together before any provider is built.
  yield* refuse([
    urlProblem("ANTHROPIC_BASE_URL", Option.getOrUndefined(env.anthropicBaseUrl)),
    urlProblem("OPENAI_BASE_URL", Option.getOrUndefined(env.openAiBaseUrl))
  ].filter((problem) => problem !== undefined))
  const routes = new Map<string, Service>()
  if (Option.isSome(env.anthropicApiKey)) {
    routes.set(
      "anthropic",
      yield* load.anthropic({
        apiKey: env.anthropicApiKey.value,
        apiUrl: Option.getOrUndefined(env.anthropicBaseUrl),
        defaultModel: Option.getOrUndefined(env.anthropicModel)
      })
    )
  }
  if (Option.isSome(env.openAiBaseUrl)) {
    routes.set(
      "local",
      yield* load.openAiCompatible({
        baseUrl: env.openAiBaseUrl.value,
        apiKey: Option.getOrUndefined(env.openAiApiKey),
        defaultModel: Option.getOrUndefined(env.openAiModel)
      })
    )
  } else if (Option.isSome(env.openAiApiKey)) {
    routes.set(
      "openai",
      yield* load.openAi({ apiKey: env.openAiApiKey.value, defaultModel: Option.getOrUndefined(env.openAiModel) })
    )
  }
  const [first] = routes.keys()
  if (first === undefined) {
    yield* Effect.logWarning(fallbackNotice)
    return yield* makeSimulated()
  }
  return routes.size === 1 ? routes.get(first)! : makeRouter(routes, first)
})
