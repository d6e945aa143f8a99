/**
 * The life cycle of a subtask, an agent or a whole run.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * `pending` → `running` → one of `completed`, `failed`, `cancelled`.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const TaskStatus = Schema.Literal("pending", "running", "completed", "failed", "cancelled").annotations({
  identifier: "TaskStatus"
})

/**
 * @since 0.1.0
 * @category Models
 */
export type TaskStatus = typeof TaskStatus.Type

/**
 * Whether a status is final: nothing more will happen to it.
 *
 * @since 0.1.0
 * @category Guards
 */
export const isFinal = (status: TaskStatus): boolean =>
  status === "completed" || status === "failed" || status === "cancelled"
