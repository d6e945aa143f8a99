/**
 * A synthesis written from other agents' outputs: a Drummer's group summary, a Camina's executive synthesis,
 * an iteration's result or a workflow's final synthesis.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { emptyIds, emptyMetadata } from "./internal/empty.js"
import { Metadata } from "./SubTask.js"
import { TaskStatus } from "./TaskStatus.js"
import { Usage } from "./Usage.js"

/**
 * `level` names the tier or stage ("drummer", "camina", "iteration", "final", ...); `sourceAgentIds` lists the
 * agents whose outputs it was written from.
 *
 * @since 0.1.0
 * @category Models
 */
export class SynthesisResult extends Schema.Class<SynthesisResult>("multi-agent-orchestration/SynthesisResult")({
  synthesisId: Schema.String,
  level: Schema.String,
  content: Schema.String,
  sourceAgentIds: Schema.optionalWith(Schema.Array(Schema.String), { default: () => emptyIds }),
  status: Schema.optionalWith(TaskStatus, { default: () => "completed" as const }),
  executionTime: Schema.optionalWith(Schema.NonNegative, { default: () => 0 }),
  cost: Schema.optionalWith(Schema.NonNegative, { default: () => 0 }),
  usage: Schema.optionalWith(Usage, { default: () => ({ inputTokens: 0, outputTokens: 0 }) }),
  model: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String),
  metadata: Schema.optionalWith(Metadata, { default: () => emptyMetadata })
}) {}
