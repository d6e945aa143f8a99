/**
 * The kinds of agent a subtask can ask for.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * `researcher` and `analyst` are the general-purpose roles; `worker`, `synthesizer` and `executive` are the
 * three Dream Cascade tiers; `monitor` watches other agents; `specialized` is a domain specialist (Dream Swarm).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const AgentType = Schema.Literal(
  "researcher",
  "analyst",
  "worker",
  "synthesizer",
  "executive",
  "monitor",
  "specialized"
).annotations({ identifier: "AgentType" })

/**
 * @since 0.1.0
 * @category Models
 */
export type AgentType = typeof AgentType.Type

/**
 * Every agent type, in declaration order.
 *
 * @since 0.1.0
 * @category Constants
 */
export const all: ReadonlyArray<AgentType> = AgentType.literals
