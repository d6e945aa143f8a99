/**
 * The ways an agent's own loop can end without an answer: a reply that does not match the output Schema even
 * after a repair, or a model still calling tools when its steps run out. Both are tagged, JSON-encodable
 * errors: a failed agent's `AgentResult.error` carries their message.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * One thing wrong with a reply, at a path of the output ("" for the whole reply).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const OutputIssue = Schema.Struct({ path: Schema.String, message: Schema.String })

/**
 * @since 0.1.0
 * @category Models
 */
export type OutputIssue = typeof OutputIssue.Type

const listed = (issues: ReadonlyArray<OutputIssue>, max: number): string =>
  issues.slice(0, max).map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`)).join(
    "; "
  ) + (issues.length > max ? `; and ${issues.length - max} more` : "")

/**
 * The model's reply did not decode with the output Schema, neither the first time nor after the one repair
 * attempt that sent the problems back. `issues` are those of the last reply, path by path; `reply` is the
 * start of that reply (key-shaped strings removed); `attempts` counts the replies (2 after a repair).
 *
 * @since 0.1.0
 * @category Errors
 */
export class InvalidOutput extends Schema.TaggedError<InvalidOutput>("multi-agent-orchestration/AgentError/InvalidOutput")(
  "InvalidOutput",
  {
    /** The output's name, as sent to the model. */
    output: Schema.String,
    issues: Schema.Array(OutputIssue),
    reply: Schema.String,
    attempts: Schema.Int
  }
) {
  override get message(): string {
    const repaired = this.attempts > 1 ? ` after ${this.attempts - 1} repair${this.attempts > 2 ? "s" : ""}` : ""
    return `the reply does not match the output "${this.output}"${repaired}: ${listed(this.issues, 3)}`
  }
}

/**
 * The model still asked for tools after `maxSteps` model calls. The calls made are metered like any others.
 *
 * @since 0.1.0
 * @category Errors
 */
export class MaxStepsReached
  extends Schema.TaggedError<MaxStepsReached>("multi-agent-orchestration/AgentError/MaxStepsReached")(
    "MaxStepsReached",
    {
      maxSteps: Schema.Int,
      /** Tool calls made (and answered) before the steps ran out. */
      toolCalls: Schema.Int
    }
  )
{
  override get message(): string {
    return `the model was still calling tools after ${this.maxSteps} step${this.maxSteps === 1 ? "" : "s"} ` +
      `(${this.toolCalls} tool call${this.toolCalls === 1 ? "" : "s"} made)`
  }
}

/**
 * @since 0.1.0
 * @category Errors
 */
export type AgentError = InvalidOutput | MaxStepsReached

/**
 * @since 0.1.0
 * @category Schemas
 */
export const AgentError: Schema.Union<[typeof InvalidOutput, typeof MaxStepsReached]> = Schema.Union(
  InvalidOutput,
  MaxStepsReached
)
