/**
 * Tools that require a person's approval: a call waits for a decision through the run's store, as an approval
 * step does (`approval_requested`, `Orchestrator.approve`, `orchestrate approve RUN STEP`). Approved, the tool
 * runs; rejected, timed out, or without a durable run to wait in, the model is told so as the tool's error.
 */
import type * as Tool from "@effect/ai/Tool"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Hash from "effect/Hash"
import * as Option from "effect/Option"
import { awaitDecision, type Decision } from "./durable/approval.js"
import type { Step } from "./step.js"
import { isWatched } from "./watchdog.js"

/** How a tool that requires approval asks for it. */
export interface ApprovalSettings {
  /** How long a call waits for a decision, from its first request (kept across restarts); default: forever. */
  readonly timeout?: Duration.DurationInput | undefined
  /** What the person is shown, from the call's parameters. Default: the agent, the tool and the parameters. */
  readonly prompt?: ((params: unknown) => string) | undefined
}

/** The annotation that marks a tool as requiring approval (`tool.annotate(Agent.RequiresApproval, {})`). */
export class RequiresApproval extends Context.Tag("multi-agent-orchestration/Agent/RequiresApproval")<
  RequiresApproval,
  ApprovalSettings
>() {}

export const approvalSettingsOf = (tool: Tool.Any | undefined): ApprovalSettings | undefined =>
  tool === undefined
    ? undefined
    : Option.getOrUndefined(Context.getOption(tool.annotations as Context.Context<RequiresApproval>, RequiresApproval))

/**
 * The approval's name for a call: the agent, the tool and a digest of the parameters, so that a resumed run
 * whose model makes the same call finds the decision, and a different call is asked about anew.
 */
export const approvalName = (agentId: string, tool: string, params: unknown): string =>
  `${agentId}/${tool}/${(Hash.string(JSON.stringify(params) ?? "null") >>> 0).toString(36)}`

// While calls of an agent wait for a person, its time bound is paused: the wait is not the agent's work.
const paused = new WeakMap<Step, { count: number; since: number; registered: boolean }>()

const pause = (agent: Step) =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const current = paused.get(agent)
    if (current !== undefined) {
      current.count++
      return
    }
    const registered = isWatched(agent)
    if (registered) agent.node.env.watchdog.unregister(agent)
    paused.set(agent, { count: 1, since: now, registered })
  })

const unpause = (agent: Step) =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const current = paused.get(agent)
    if (current === undefined || --current.count > 0) return
    paused.delete(agent)
    if (!current.registered) return
    agent.deadline += now - current.since
    agent.node.env.watchdog.register(agent)
  })

/** Waits for the decision on one call of `agent` (none outside a run: then it is unavailable). */
export const decideCall = (
  agent: Step | undefined,
  tool: string,
  params: unknown,
  settings: ApprovalSettings
): Effect.Effect<Decision> => {
  if (agent === undefined) {
    return awaitDecision(undefined, tool, "", undefined)
  }
  const name = approvalName(agent.agentId, tool, params)
  const prompt = settings.prompt?.(params) ?? `Allow ${agent.agentId} to call ${tool} with ${JSON.stringify(params)}?`
  const timeout = settings.timeout === undefined ? undefined : Duration.decode(settings.timeout)
  return Effect.acquireUseRelease(
    pause(agent),
    () => awaitDecision(agent.node, name, prompt, timeout, agent.agentId),
    () => unpause(agent)
  )
}

/** What the model is told of a call that was not approved. */
export const refusal = (decision: Exclude<Decision, { readonly _tag: "Approved" }>): string =>
  decision._tag === "Rejected"
    ? `a person did not approve this call${decision.note === undefined ? "" : `: ${decision.note}`}`
    : decision.error.message
