/**
 * Token usage of one provider call, an agent or a whole run.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Token counts. `inputTokens` is the whole input, prompt-cache traffic included: `cachedInputTokens` is the part
 * read from the provider's prompt cache (OpenAI's cached input, Anthropic's cache reads), billed at the cached
 * rate; `cacheWriteInputTokens` is the part written to the cache (Anthropic's cache creation), billed at the
 * cache-write rate. `estimated` is set when the provider reported no usage and the counts were derived from
 * text length.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const Usage = Schema.Struct({
  inputTokens: Schema.NonNegativeInt,
  outputTokens: Schema.NonNegativeInt,
  cachedInputTokens: Schema.optional(Schema.NonNegativeInt),
  cacheWriteInputTokens: Schema.optional(Schema.NonNegativeInt),
  estimated: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "Usage" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface Usage extends Schema.Schema.Type<typeof Usage> {}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const empty: Usage = { inputTokens: 0, outputTokens: 0 }

/**
 * Input plus output tokens.
 *
 * @since 0.1.0
 * @category Functions
 */
export const total = (usage: Usage): number => usage.inputTokens + usage.outputTokens

/**
 * The sum of two usages; the sum is estimated when either part was.
 *
 * @since 0.1.0
 * @category Functions
 */
export const add = (self: Usage, that: Usage): Usage => {
  const cached = (self.cachedInputTokens ?? 0) + (that.cachedInputTokens ?? 0)
  const written = (self.cacheWriteInputTokens ?? 0) + (that.cacheWriteInputTokens ?? 0)
  const sum: { -readonly [K in keyof Usage]: Usage[K] } = {
    inputTokens: self.inputTokens + that.inputTokens,
    outputTokens: self.outputTokens + that.outputTokens
  }
  if (cached > 0) sum.cachedInputTokens = cached
  if (written > 0) sum.cacheWriteInputTokens = written
  if (self.estimated === true || that.estimated === true) sum.estimated = true
  return sum
}

/**
 * Roughly four characters a token, the rule of thumb for English text with the GPT and Claude tokenizers.
 *
 * @since 0.1.0
 * @category Functions
 */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4)

/**
 * A usage estimated from the prompt and reply text, marked `estimated`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const estimate = (input: string, output: string): Usage => ({
  inputTokens: estimateTokens(input),
  outputTokens: estimateTokens(output),
  estimated: true
})
