/**
 * The checks of provider options, made when a layer is built and before anything is loaded or sent: each
 * returns the problems it finds, worded with the option's name, so that one `InvalidConfig` lists them all.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { InvalidConfig } from "../../OrchestratorError.js"
import type { AnthropicOptions } from "./anthropic.js"
import type { OpenAiCompatibleOptions } from "./compatible.js"
import type { OpenAiOptions } from "./openai.js"
import type { CommonOptions, LimitOptions } from "./shared.js"

type Problem = string | undefined

/** A value as a problem quotes it: strings in quotes, everything else as JavaScript shows it. */
const shown = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "bigint") return `${value}n`
  if (Duration.isDuration(value)) return Duration.format(value)
  if (Array.isArray(value)) return `[${value.map(shown).join(", ")}]`
  return String(value)
}

const positiveFinite = (input: unknown): boolean => {
  if (typeof input === "number") return Number.isFinite(input) && input > 0
  if (typeof input === "bigint") return input > BigInt(0)
  if (Array.isArray(input)) {
    return input.length === 2 && input.every((n) => typeof n === "number" && Number.isFinite(n) && n >= 0) &&
      (input[0] > 0 || input[1] > 0)
  }
  if (typeof input !== "string" && !Duration.isDuration(input)) return false
  const duration = Duration.decodeUnknown(input)
  return Option.isSome(duration) && Duration.isFinite(duration.value) &&
    Duration.greaterThan(duration.value, Duration.zero)
}

/** A time bound: a duration above zero and below infinity. */
export const durationProblem = (label: string, input: unknown): Problem =>
  input === undefined || positiveFinite(input)
    ? undefined
    : `${label} must be a positive, finite duration (milliseconds, or a string such as "30 seconds"), got ${
      shown(input)
    }`

/** A count: a whole number of at least 1. */
export const countProblem = (label: string, value: unknown): Problem =>
  value === undefined || (typeof value === "number" && Number.isSafeInteger(value) && value >= 1)
    ? undefined
    : `${label} must be a whole number of at least 1, got ${shown(value)}`

/** A base URL: absolute, http or https. */
export const urlProblem = (label: string, value: unknown): Problem => {
  if (value === undefined) return undefined
  if (typeof value === "string" && value === value.trim() && URL.canParse(value)) {
    const protocol = new URL(value).protocol
    if (protocol === "http:" || protocol === "https:") return undefined
  }
  return `${label} must be an http:// or https:// URL, got ${shown(value)}`
}

/** A name (a model, a provider, a version): text that is not blank. */
export const nameProblem = (label: string, value: unknown): Problem =>
  value === undefined || (typeof value === "string" && value.trim() !== "")
    ? undefined
    : `${label} must not be empty, got ${shown(value)}`

/** A credential: a `Redacted` string that is not blank. */
export const secretProblem = (label: string, value: unknown, required: boolean): Problem => {
  if (value === undefined) return required ? `${label} is required` : undefined
  if (!Redacted.isRedacted(value)) return `${label} must be a Redacted string (Redacted.make(key))`
  const secret: unknown = Redacted.value(value)
  return typeof secret === "string" && secret.trim() !== "" ? undefined : `${label} must not be empty`
}

const defined = (problems: ReadonlyArray<Problem>): Array<string> => problems.filter((p) => p !== undefined)

/** The problems of the limits every provider and `withLimits` take. */
export const limitProblems = (layer: string, options: LimitOptions): Array<string> =>
  defined([
    countProblem(`${layer}: concurrency`, options.concurrency),
    countProblem(`${layer}: requestsPerMinute`, options.requestsPerMinute),
    countProblem(`${layer}: tokensPerMinute`, options.tokensPerMinute)
  ])

const commonProblems = (layer: string, options: CommonOptions): Array<string> => [
  ...defined([
    nameProblem(`${layer}: defaultModel`, options.defaultModel),
    durationProblem(`${layer}: timeout`, options.timeout),
    countProblem(`${layer}: maxTokens`, options.maxTokens)
  ]),
  ...limitProblems(layer, options)
]

export const openAiProblems = (options: OpenAiOptions): Array<string> => [
  ...defined([
    secretProblem("openAi: apiKey", options.apiKey, true),
    urlProblem("openAi: apiUrl", options.apiUrl),
    secretProblem("openAi: organizationId", options.organizationId, false),
    secretProblem("openAi: projectId", options.projectId, false)
  ]),
  ...commonProblems("openAi", options)
]

export const anthropicProblems = (options: AnthropicOptions): Array<string> => [
  ...defined([
    secretProblem("anthropic: apiKey", options.apiKey, true),
    urlProblem("anthropic: apiUrl", options.apiUrl),
    nameProblem("anthropic: anthropicVersion", options.anthropicVersion)
  ]),
  ...commonProblems("anthropic", options)
]

export const openAiCompatibleProblems = (options: OpenAiCompatibleOptions): Array<string> => [
  ...defined([
    options.baseUrl === undefined
      ? "openAiCompatible: baseUrl is required"
      : urlProblem("openAiCompatible: baseUrl", options.baseUrl),
    secretProblem("openAiCompatible: apiKey", options.apiKey, false),
    nameProblem("openAiCompatible: name", options.name),
    options.name?.includes(":") === true
      ? `openAiCompatible: name is the model prefix it answers to and must not contain ":", got ${shown(options.name)}`
      : undefined
  ]),
  ...commonProblems("openAiCompatible", options)
]

/** The problems of `fromLanguageModel`'s models and options. */
export const fromLanguageModelProblems = (
  layers: unknown,
  options: { readonly name?: unknown; readonly defaultModel?: unknown; readonly timeout?: unknown }
): Array<string> => {
  const problems = defined([
    nameProblem("fromLanguageModel: name", options.name),
    typeof options.name === "string" && options.name.includes(":")
      ? `fromLanguageModel: name is the model prefix it answers to and must not contain ":", got ${shown(options.name)}`
      : undefined,
    nameProblem("fromLanguageModel: defaultModel", options.defaultModel),
    durationProblem("fromLanguageModel: timeout", options.timeout)
  ])
  if (typeof layers === "function") {
    if (options.defaultModel === undefined) {
      problems.push("fromLanguageModel: defaultModel is required when the models are given by a function")
    }
  } else if (typeof layers !== "object" || layers === null || Object.keys(layers).length === 0) {
    problems.push("fromLanguageModel: needs at least one model")
  } else if (typeof options.defaultModel === "string" && !Object.hasOwn(layers, options.defaultModel)) {
    problems.push(
      `fromLanguageModel: defaultModel ${shown(options.defaultModel)} is not one of the models (${
        Object.keys(layers).join(", ")
      })`
    )
  }
  return problems
}

/** The problems of a router's route names and default route. */
export const routerProblems = (names: ReadonlyArray<string>, defaultRoute: unknown): Array<string> => {
  const problems: Array<string> = []
  if (names.length === 0) problems.push("router: needs at least one route")
  const seen = new Map<string, string>()
  for (const name of names) {
    if (name.trim() === "") problems.push(`router: a route name must not be empty, got ${shown(name)}`)
    else if (name.includes(":")) problems.push(`router: route name ${shown(name)} must not contain ":"`)
    const key = name.toLowerCase()
    const earlier = seen.get(key)
    if (earlier !== undefined) problems.push(`router: route names ${shown(earlier)} and ${shown(name)} are the same`)
    seen.set(key, name)
  }
  if (defaultRoute !== undefined) {
    if (typeof defaultRoute !== "string" || defaultRoute.trim() === "") {
      problems.push(`router: default must not be empty, got ${shown(defaultRoute)}`)
    } else if (names.length > 0 && !seen.has(defaultRoute.toLowerCase())) {
      problems.push(`router: default ${shown(defaultRoute)} is not one of the routes (${names.join(", ")})`)
    }
  }
  return problems
}

/** Fails with one `InvalidConfig` listing `problems`, if there are any. */
export const refuse = (problems: ReadonlyArray<string>): Effect.Effect<void, InvalidConfig> =>
  problems.length === 0 ? Effect.void : Effect.fail(new InvalidConfig({ problems }))
