/**
 * What one agent produced: its content or the reason it failed, what it cost and how long it took.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { AgentType } from "./AgentType.js"
import { emptyMetadata } from "./internal/empty.js"
import { AgentFailure } from "./OrchestratorError.js"
import { Metadata } from "./SubTask.js"
import { TaskStatus } from "./TaskStatus.js"
import { Usage } from "./Usage.js"

/**
 * The result of one agent. A failed agent is a result too: `status` is `failed` (or `cancelled`, when the
 * budget stopped it) and three fields say why:
 *
 * - `error`: a readable message;
 * - `errorTag`: the `_tag` of the failure: a `ProviderError` (`RateLimited`, `Unavailable`, ...),
 *   `StepTimedOut`, `BudgetExceeded`, `DependenciesFailed`, the tag of the workflow's own error, `Defect` for
 *   a defect, `Interrupted`, or `UnknownError` for a failure without a tag;
 * - `failure`: the typed error itself when it is one of the library's (`OrchestratorError.AgentFailure`),
 *   so that `Match.tag` or a `switch` on `failure._tag` sees its fields (a rate limit's `retryAfter`, ...).
 *
 * `executionTime` is in seconds; `cost` is in US dollars; `attempts` counts provider calls, retries included.
 *
 * `value` is the decoded answer of an agent with typed output (see `Agent.run` and `Workflow.agent`'s
 * `output`), beside its text in `content`. JSON encoding writes it as it is: values of Schemas whose type is
 * plain JSON (structs of strings, numbers, booleans, arrays) come back unchanged; decode others again with
 * their Schema.
 *
 * @since 0.1.0
 * @category Models
 */
export class AgentResult extends Schema.Class<AgentResult>("multi-agent-orchestration/AgentResult")({
  agentId: Schema.String,
  agentType: AgentType,
  subtaskId: Schema.String,
  content: Schema.String,
  status: Schema.optionalWith(TaskStatus, { default: () => "completed" as const }),
  executionTime: Schema.optionalWith(Schema.NonNegative, { default: () => 0 }),
  cost: Schema.optionalWith(Schema.NonNegative, { default: () => 0 }),
  usage: Schema.optionalWith(Usage, { default: () => ({ inputTokens: 0, outputTokens: 0 }) }),
  model: Schema.optional(Schema.String),
  tier: Schema.optional(Schema.String),
  attempts: Schema.optionalWith(Schema.NonNegativeInt, { default: () => 0 }),
  error: Schema.optional(Schema.String),
  errorTag: Schema.optional(Schema.String),
  failure: Schema.optional(AgentFailure),
  value: Schema.optional(Schema.Unknown),
  metadata: Schema.optionalWith(Metadata, { default: () => emptyMetadata })
}) {}

/**
 * An agent result whose `value`, when set, is an `A`: what the synthesis of a workflow whose agents return
 * `A` receives.
 *
 * @since 0.1.0
 * @category Models
 */
export type Typed<A> = AgentResult & { readonly value?: A | undefined }

/**
 * The values of the completed results that have one, in order.
 *
 * @since 0.1.0
 * @category Functions
 */
export const valuesOf = <A>(results: ReadonlyArray<Typed<A>>): ReadonlyArray<A> => {
  const values: Array<A> = []
  for (const result of results) {
    if (result.status === "completed" && result.value !== undefined) values.push(result.value)
  }
  return values
}

/**
 * @since 0.1.0
 * @category Guards
 */
export const isCompleted = (result: AgentResult): boolean => result.status === "completed"

/**
 * @since 0.1.0
 * @category Codecs
 */
export const fromJson = Schema.decodeUnknown(Schema.parseJson(AgentResult))

/**
 * @since 0.1.0
 * @category Codecs
 */
export const toJson = Schema.encode(Schema.parseJson(AgentResult))
