/**
 * The provider of a command: `--provider`, or the environment as `Provider.fromEnv` reads it. The variables
 * mean the same either way (`OPENAI_MODEL` sets the OpenAI and compatible model, `ANTHROPIC_MODEL` and
 * `ANTHROPIC_BASE_URL` the Anthropic ones), and with no keys at all the run is the `--provider simulated` run.
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { environment, fallbackNotice } from "../internal/providers/fromEnv.js"
import type { InvalidConfig } from "../OrchestratorError.js"
import * as Provider from "../Provider.js"
import { complain } from "./output.js"
import type { Output } from "./output.js"
import type { providerChoices } from "./spec.js"

export type ProviderChoice = (typeof providerChoices)[number]

/**
 * The simulated provider of the CLI: a tenth of a second a call, so that progress is something to watch, and
 * answering as gpt-4o-mini, so that the cost table shows what the run would cost on that model.
 */
export const simulated = Provider.simulated({ latency: "100 millis", defaultModel: "gpt-4o-mini" })

const optional = (name: string) =>
  Config.string(name).pipe(
    Config.option,
    Config.map((value) => Option.getOrUndefined(Option.filter(value, (text) => text.trim() !== "")))
  )

/** The provider layer for `--provider`, or for the environment when it is not given. */
export const providerLayer = (
  choice: ProviderChoice | undefined
): Layer.Layer<Provider.Provider, ConfigError.ConfigError | InvalidConfig, Output> => {
  switch (choice) {
    case undefined:
      return Layer.unwrapEffect(Effect.gen(function*() {
        const env = yield* environment
        const configured = Option.isSome(env.anthropicApiKey) || Option.isSome(env.openAiApiKey) ||
          Option.isSome(env.openAiBaseUrl)
        if (configured) return Provider.fromEnv
        yield* complain(fallbackNotice.replace("using the simulated provider", "running as --provider simulated"))
        return simulated
      }))
    case "simulated":
      return simulated
    case "openai":
      return Provider.openAiLayerConfig({ apiKey: Config.redacted("OPENAI_API_KEY"), defaultModel: optional("OPENAI_MODEL") })
    case "anthropic":
      return Provider.anthropicLayerConfig({
        apiKey: Config.redacted("ANTHROPIC_API_KEY"),
        apiUrl: optional("ANTHROPIC_BASE_URL"),
        defaultModel: optional("ANTHROPIC_MODEL")
      })
    case "compatible":
      return Provider.openAiCompatibleLayerConfig({
        baseUrl: Config.string("OPENAI_BASE_URL"),
        apiKey: Config.option(Config.redacted("OPENAI_API_KEY")).pipe(Config.map(Option.getOrUndefined)),
        defaultModel: optional("OPENAI_MODEL")
      })
  }
}

/** What to set for a provider whose configuration is missing. */
export const providerHint = (choice: ProviderChoice | undefined): string => {
  switch (choice) {
    case "openai":
      return "Set OPENAI_API_KEY, or run offline with --provider simulated"
    case "anthropic":
      return "Set ANTHROPIC_API_KEY, or run offline with --provider simulated"
    case "compatible":
      return "Set OPENAI_BASE_URL to your server (e.g. http://localhost:11434/v1), or run offline with --provider simulated"
    default:
      return "Check ANTHROPIC_API_KEY, OPENAI_API_KEY and OPENAI_BASE_URL, or run offline with --provider simulated"
  }
}

/** A missing or invalid variable, in words: "OPENAI_API_KEY is not set". */
export const describeConfigError = (error: ConfigError.ConfigError): string =>
  ConfigError.reduceWithContext(error, undefined, {
    andCase: (_, left, right) => `${left}; ${right}`,
    orCase: (_, left, right) => `${left}; or ${right}`,
    invalidDataCase: (_, path, message) => `${path.join(".")}: ${message}`,
    missingDataCase: (_, path) => `${path.join(".")} is not set`,
    sourceUnavailableCase: (_, path, message) => `${path.join(".")}: ${message}`,
    unsupportedCase: (_, path, message) => `${path.join(".")}: ${message}`
  })
