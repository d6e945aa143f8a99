/**
 * The cost breakdown of a run: totals by model and by tier, and the models no price was known for.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Spend and tokens of one slice of a run (a model, a tier, an agent or the whole run). Dollars are US dollars.
 * `inputTokens` includes `cachedInputTokens` (read from the prompt cache) and `cacheWriteInputTokens` (written
 * to it); lines recorded before cache writes were counted have no `cacheWriteInputTokens`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const CostLine = Schema.Struct({
  cost: Schema.NonNegative,
  calls: Schema.NonNegativeInt,
  inputTokens: Schema.NonNegativeInt,
  outputTokens: Schema.NonNegativeInt,
  cachedInputTokens: Schema.NonNegativeInt,
  cacheWriteInputTokens: Schema.optional(Schema.NonNegativeInt)
}).annotations({ identifier: "CostLine" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface CostLine extends Schema.Schema.Type<typeof CostLine> {}

/**
 * @since 0.1.0
 * @category Schemas
 */
export const CostSummary = Schema.Struct({
  total: CostLine,
  byModel: Schema.Record({ key: Schema.String, value: CostLine }),
  byTier: Schema.Record({ key: Schema.String, value: CostLine }),
  unpricedModels: Schema.Array(Schema.String),
  pricesAsOf: Schema.String
}).annotations({ identifier: "CostSummary" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface CostSummary extends Schema.Schema.Type<typeof CostSummary> {}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const emptyLine: CostLine = {
  cost: 0,
  calls: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0
}
