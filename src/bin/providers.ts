import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Layer from "effect/Layer"
import type { InvalidConfig } from "../OrchestratorError.js"
import * as Provider from "../Provider.js"

/** The values of `--provider`. */
export const providerChoices = ["simulated", "openai", "anthropic", "compatible"] as const

export type ProviderChoice = (typeof providerChoices)[number]

/**
 * The provider layer for `--provider`; without it, whatever the environment says (`Provider.fromEnv`). The
 * simulated provider takes a tenth of a second a call, so that progress is something to watch, and answers
 * as gpt-4o-mini, so that the cost table shows what the run would cost on that model.
 */
export const providerLayer = (
  choice: ProviderChoice | undefined
): Layer.Layer<Provider.Provider, ConfigError.ConfigError | InvalidConfig> => {
  switch (choice) {
    case undefined:
      return Provider.fromEnv
    case "simulated":
      return Provider.simulated({ latency: "100 millis", defaultModel: "gpt-4o-mini" })
    case "openai":
      return Provider.openAiLayerConfig({ apiKey: Config.redacted("OPENAI_API_KEY") })
    case "anthropic":
      return Provider.anthropicLayerConfig({ apiKey: Config.redacted("ANTHROPIC_API_KEY") })
    case "compatible":
      return Provider.openAiCompatibleLayerConfig({
        baseUrl: Config.string("OPENAI_BASE_URL"),
        apiKey: Config.option(Config.redacted("OPENAI_API_KEY")).pipe(
          Config.map((key) => (key._tag === "Some" ? key.value : undefined))
        )
      })
  }
}

/** What to set for a provider whose configuration is missing. */
export const providerHint = (choice: ProviderChoice | undefined): string => {
  switch (choice) {
    case "openai":
      return "set OPENAI_API_KEY, or run offline with --provider simulated"
    case "anthropic":
      return "set ANTHROPIC_API_KEY, or run offline with --provider simulated"
    case "compatible":
      return "set OPENAI_BASE_URL to your server (e.g. http://localhost:11434/v1), or run offline with --provider simulated"
    default:
      return "check the provider variables (ANTHROPIC_API_KEY, OPENAI_API_KEY, OPENAI_BASE_URL), or run offline with --provider simulated"
  }
}
