/**
 * What models cost: a dated built-in table of common OpenAI and Anthropic models, in US dollars per million
 * tokens, which users can extend or override.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import type { Usage } from "./Usage.js"

/**
 * Prices in US dollars per million tokens. Input read from the prompt cache (OpenAI's cached input,
 * Anthropic's cache reads) costs `cachedInput`, and input written to it (Anthropic's cache writes) costs
 * `cacheWrite`; without them, that input costs the full `input` rate.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ModelPrice {
  readonly input: number
  readonly output: number
  readonly cachedInput?: number | undefined
  readonly cacheWrite?: number | undefined
}

/**
 * The day the built-in prices were taken from the providers' published price lists.
 *
 * @since 0.1.0
 * @category Constants
 */
export const builtInAsOf = "2025-11-01"

/**
 * The built-in table, as of `builtInAsOf`. Dated snapshots of a model ("gpt-4o-2024-08-06",
 * "claude-3-5-sonnet-20241022") are priced as the model they belong to.
 *
 * OpenAI bills cached input at each model's discounted `cachedInput` rate and cache writes as plain input.
 * Anthropic bills cache reads at a tenth of the input rate and cache writes (five-minute cache) at 1.25 times
 * it, as its price list gives them (Claude 3 Haiku: $0.03 and $0.30).
 *
 * @since 0.1.0
 * @category Constants
 */
export const builtIn: Readonly<Record<string, ModelPrice>> = {
  // OpenAI
  "gpt-5": { input: 1.25, output: 10, cachedInput: 0.125 },
  "gpt-5-mini": { input: 0.25, output: 2, cachedInput: 0.025 },
  "gpt-5-nano": { input: 0.05, output: 0.4, cachedInput: 0.005 },
  "gpt-4.1": { input: 2, output: 8, cachedInput: 0.5 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6, cachedInput: 0.1 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4, cachedInput: 0.025 },
  "gpt-4o": { input: 2.5, output: 10, cachedInput: 1.25 },
  "gpt-4o-mini": { input: 0.15, output: 0.6, cachedInput: 0.075 },
  "gpt-4-turbo": { input: 10, output: 30 },
  "gpt-4": { input: 30, output: 60 },
  "gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  "o1": { input: 15, output: 60, cachedInput: 7.5 },
  "o1-mini": { input: 1.1, output: 4.4, cachedInput: 0.55 },
  "o3": { input: 2, output: 8, cachedInput: 0.5 },
  "o3-mini": { input: 1.1, output: 4.4, cachedInput: 0.55 },
  "o4-mini": { input: 1.1, output: 4.4, cachedInput: 0.275 },
  // Anthropic
  "claude-opus-4-1": { input: 15, output: 75, cachedInput: 1.5, cacheWrite: 18.75 },
  "claude-opus-4": { input: 15, output: 75, cachedInput: 1.5, cacheWrite: 18.75 },
  "claude-sonnet-4-5": { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  "claude-sonnet-4": { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  "claude-haiku-4-5": { input: 1, output: 5, cachedInput: 0.1, cacheWrite: 1.25 },
  "claude-3-7-sonnet": { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  "claude-3-5-sonnet": { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  "claude-3-5-haiku": { input: 0.8, output: 4, cachedInput: 0.08, cacheWrite: 1 },
  "claude-3-opus": { input: 15, output: 75, cachedInput: 1.5, cacheWrite: 18.75 },
  "claude-3-sonnet": { input: 3, output: 15 },
  "claude-3-haiku": { input: 0.25, output: 1.25, cachedInput: 0.03, cacheWrite: 0.3 }
}

/**
 * The price of a call: its cost, and whether the model had a price at all (an unknown model costs 0 and is
 * flagged as unpriced).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Priced {
  readonly cost: number
  readonly priced: boolean
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** The date of the prices, for reports. */
  readonly asOf: string
  /** The price of a model, by exact name, without a "provider:" prefix, or as a dated snapshot. */
  readonly lookup: (model: string) => ModelPrice | undefined
  /** What a call with this usage costs. */
  readonly cost: (model: string, usage: Usage) => Priced
}

/**
 * Dollars for a usage at a price: fresh input at `input`, cache reads at `cachedInput`, cache writes at
 * `cacheWrite` (each falling back to `input`), output at `output`.
 *
 * @since 0.1.0
 * @category Functions
 * @example
 * ```ts
 * import { Pricing } from "multi-agent-orchestration"
 *
 * // claude-sonnet-4-5: 100 fresh input tokens, 1,000 read from the cache, 200 written to it, 50 out.
 * Pricing.costAt(Pricing.builtIn["claude-sonnet-4-5"]!, {
 *   inputTokens: 1_300,
 *   cachedInputTokens: 1_000,
 *   cacheWriteInputTokens: 200,
 *   outputTokens: 50
 * }) // (100 * 3 + 1000 * 0.3 + 200 * 3.75 + 50 * 15) / 1e6 = 0.0021
 * ```
 */
export const costAt = (price: ModelPrice, usage: Usage): number => {
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens)
  const written = Math.min(usage.cacheWriteInputTokens ?? 0, usage.inputTokens - cached)
  const fresh = usage.inputTokens - cached - written
  return (fresh * price.input + cached * (price.cachedInput ?? price.input) +
    written * (price.cacheWrite ?? price.input) + usage.outputTokens * price.output) / 1_000_000
}

const normalise = (model: string): string => {
  const lower = model.trim().toLowerCase()
  const colon = lower.indexOf(":")
  return colon >= 0 ? lower.slice(colon + 1) : lower
}

/**
 * A price list: the built-in table with `prices` added on top (they win on conflicts), or `prices` alone with
 * `replace: true`.
 *
 * @since 0.1.0
 * @category Constructors
 * @example
 * ```ts
 * import { Pricing } from "multi-agent-orchestration"
 *
 * const pricing = Pricing.make({ "my-finetune": { input: 3, output: 12 } })
 * pricing.cost("my-finetune", { inputTokens: 1_000_000, outputTokens: 0 }) // { cost: 3, priced: true }
 * ```
 */
export const make = (
  prices: Readonly<Record<string, ModelPrice>> = {},
  options: { readonly replace?: boolean | undefined; readonly asOf?: string | undefined } = {}
): Service => {
  const table = new Map<string, ModelPrice>()
  for (const [model, price] of Object.entries(options.replace === true ? {} : builtIn)) table.set(model, price)
  for (const [model, price] of Object.entries(prices)) table.set(normalise(model), price)
  // Longest names first, so that "gpt-4o-mini-2024-07-18" matches "gpt-4o-mini" before "gpt-4o".
  const names = [...table.keys()].sort((a, b) => b.length - a.length)
  const resolved = new Map<string, ModelPrice | undefined>()
  const lookup = (model: string): ModelPrice | undefined => {
    if (resolved.has(model)) return resolved.get(model)
    const name = normalise(model)
    let price = table.get(name)
    if (price === undefined) {
      const family = names.find((candidate) => name.startsWith(`${candidate}-`) || name.startsWith(`${candidate}@`))
      price = family === undefined ? undefined : table.get(family)
    }
    resolved.set(model, price)
    return price
  }
  return {
    asOf: options.asOf ?? (Object.keys(prices).length > 0 ? `${builtInAsOf} (with overrides)` : builtInAsOf),
    lookup,
    cost: (model, usage) => {
      const price = lookup(model)
      return price === undefined ? { cost: 0, priced: false } : { cost: costAt(price, usage), priced: true }
    }
  }
}

/**
 * The price list in use. Without a layer, the built-in table.
 *
 * @since 0.1.0
 * @category Context
 */
export class Pricing extends Context.Reference<Pricing>()("multi-agent-orchestration/Pricing", {
  defaultValue: (): Service => make()
}) {}

/**
 * A layer with the built-in table plus (or, with `replace`, instead of it) these prices.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  prices: Readonly<Record<string, ModelPrice>>,
  options?: { readonly replace?: boolean | undefined; readonly asOf?: string | undefined }
): Layer.Layer<Pricing> => Layer.succeed(Pricing, make(prices, options))
