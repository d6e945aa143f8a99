/**
 * The outcome of a run: every agent's result, the syntheses, the final synthesis, time, cost and documents.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { AgentResult } from "./AgentResult.js"
import { CostSummary } from "./CostSummary.js"
import { RunFailure } from "./OrchestratorError.js"
import { emptyMetadata } from "./internal/empty.js"
import { Metadata } from "./SubTask.js"
import { SynthesisResult } from "./SynthesisResult.js"
import { TaskStatus } from "./TaskStatus.js"
import { Usage } from "./Usage.js"

/**
 * A report file written for a run.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const GeneratedDocument = Schema.Struct({
  format: Schema.Literal("markdown", "pdf"),
  path: Schema.String,
  sizeBytes: Schema.NonNegativeInt
}).annotations({ identifier: "GeneratedDocument" })

/**
 * @since 0.1.0
 * @category Models
 */
export interface GeneratedDocument extends Schema.Schema.Type<typeof GeneratedDocument> {}

/**
 * The result of `Orchestrator.run`.
 *
 * - `status` is `completed`, `failed` (then `error` says why and `failure` holds the typed reason) or
 *   `cancelled`.
 * - `executionTime` is in seconds; `totalCost` in US dollars; `costs` breaks it down by model and tier.
 * - `startedAt` and `completedAt` are ISO-8601 timestamps.
 *
 * @since 0.1.0
 * @category Models
 */
export class OrchestratorResult extends Schema.Class<OrchestratorResult>("multi-agent-orchestration/OrchestratorResult")({
  taskId: Schema.String,
  title: Schema.String,
  status: TaskStatus,
  agentResults: Schema.optionalWith(Schema.Array(AgentResult), { default: () => [] }),
  synthesisResults: Schema.optionalWith(Schema.Array(SynthesisResult), { default: () => [] }),
  finalSynthesis: Schema.optional(Schema.String),
  executionTime: Schema.optionalWith(Schema.NonNegative, { default: () => 0 }),
  totalCost: Schema.optionalWith(Schema.NonNegative, { default: () => 0 }),
  usage: Schema.optionalWith(Usage, { default: () => ({ inputTokens: 0, outputTokens: 0 }) }),
  costs: Schema.optional(CostSummary),
  documents: Schema.optionalWith(Schema.Array(GeneratedDocument), { default: () => [] }),
  error: Schema.optional(Schema.String),
  failure: Schema.optional(RunFailure),
  startedAt: Schema.optional(Schema.String),
  completedAt: Schema.optional(Schema.String),
  metadata: Schema.optionalWith(Metadata, { default: () => emptyMetadata })
}) {}

/**
 * @since 0.1.0
 * @category Codecs
 */
export const fromJson = Schema.decodeUnknown(Schema.parseJson(OrchestratorResult))

/**
 * @since 0.1.0
 * @category Codecs
 */
export const toJson = Schema.encode(Schema.parseJson(OrchestratorResult))
