/**
 * The submitting side of a cluster run, without any cluster code: how an agent's `execute` becomes a call to
 * a runner, and how the runner's reply is charged to the run as if the agent had run here.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { UnknownWorkflow } from "../../Cluster.js"
import type { SubTask } from "../../SubTask.js"
import type * as Workflow from "../../Workflow.js"
import { meter } from "../calls.js"
import { emit } from "../env.js"
import type { Step } from "../step.js"
import { agentsPaths } from "./paths.js"
import type { AgentEvent, AgentReply, AgentRequest } from "./wire.js"

/** What the engine asks of a cluster run: the agent's body, and on which runner a finished agent ran. */
export interface RemoteRun {
  readonly execute: (
    step: Step,
    definition: Workflow.Agents<never>,
    subtask: SubTask,
    context: Workflow.AgentContext
  ) => Effect.Effect<Workflow.AgentOutput, unknown>
  readonly runnerOf: (agentId: string) => string | undefined
}

/** A call that no runner answered (none registered, a runner gone, its shards moving): tried again. */
export class RunnerUnreachable extends Data.TaggedError("RunnerUnreachable")<{ readonly reason: string }> {
  override get message(): string {
    return `no runner answered: ${this.reason}`
  }
}

/** An agent that failed on a runner, with the failure's tag and message as the runner saw them. */
class RemoteFailure extends Data.Error<{ readonly _tag: string; readonly message: string }> {}

/**
 * Sends one agent to a runner. With `onEvent`, the runner sends the agent's events on as they happen (a run
 * that streams tokens), each with the execution it comes from; without it, they come in the reply.
 */
export type Send = (
  request: AgentRequest,
  onEvent?: (event: AgentEvent, execution: string) => void
) => Effect.Effect<AgentReply, UnknownWorkflow | RunnerUnreachable>

/**
 * The service a run reads to send its agents to runners (see `Cluster.layer`): one `RemoteRun` per run.
 *
 * @since 0.3.0
 */
export class RemoteAgents extends Context.Tag("multi-agent-orchestration/RemoteAgents")<
  RemoteAgents,
  { readonly forRun: (workflow: Workflow.Workflow<never>) => RemoteRun }
>() {}

export interface RetryOptions {
  readonly retryForMillis: number
  readonly retryIntervalMillis: number
}

const unknownStep = (workflow: string) =>
  Effect.fail(new RemoteFailure({
    _tag: "UnknownWorkflow",
    message: `an agents step of "${workflow}" that is not part of the workflow's definition cannot run on a cluster`
  }))

export const makeRemoteRun = (
  workflow: Workflow.Workflow<never>,
  send: Send,
  options: RetryOptions
): RemoteRun => {
  let paths: Map<Workflow.Agents<unknown>, string> | undefined
  const runners = new Map<string, string>()
  // The first runner that does not know the workflow fails the run's remaining agents without a call.
  let unknown: UnknownWorkflow | undefined
  const retry = Schedule.spaced(Duration.millis(options.retryIntervalMillis)).pipe(
    Schedule.upTo(Duration.millis(options.retryForMillis))
  )
  const settings = workflow.settings === undefined ? {} : JSON.parse(JSON.stringify(workflow.settings))

  const apply = (step: Step, reply: AgentReply): Effect.Effect<Workflow.AgentOutput, unknown> => {
    const node = step.node
    const env = node.env
    runners.set(step.agentId, reply.runner)
    const journal = env.journal
    let charges: Effect.Effect<void> | undefined
    for (const [model, usage] of reply.calls) {
      journal?.noteCall(step, model, usage)
      const charged = meter(step, model, usage)
      if (charged !== undefined) charges = charges === undefined ? charged : Effect.zipRight(charges, charged)
    }
    const result = reply.result
    step.attempts += result.attempts
    step.model = result.model ?? step.model
    for (const event of reply.events) emit(node, event.type as "agent_retry", event.data as never, step.agentId)
    const outcome: Effect.Effect<Workflow.AgentOutput, unknown> = result.status === "completed"
      ? Effect.succeed(
        result.value === undefined
          ? { content: result.content, metadata: result.metadata }
          : { content: result.content, metadata: result.metadata, value: result.value }
      )
      : result.failure !== undefined
      ? Effect.fail(result.failure)
      : result.status === "cancelled"
      ? Effect.interrupt
      : Effect.fail(new RemoteFailure({ _tag: result.errorTag ?? "UnknownError", message: result.error ?? "failed" }))
    return charges === undefined ? outcome : Effect.zipRight(charges, outcome)
  }

  /**
   * Sends an agent. A run that streams tokens gets the agent's events as they happen; text from another
   * execution than the text before it (a runner lost, the agent sent again, by this retry or by the cluster
   * itself) starts the agent's text again (`restart`).
   */
  const live = (step: Step, request: AgentRequest) => {
    if (!request.streamTokens) return send(request)
    let wrote: string | undefined
    return send(request, (event, execution) => {
      let data = event.data
      if (event.type === "agent_delta") {
        if (wrote !== undefined && wrote !== execution) data = { ...(data as object), restart: true }
        wrote = execution
      }
      emit(step.node, event.type as "agent_retry", data as never, step.agentId)
    })
  }

  return {
    runnerOf: (agentId) => runners.get(agentId),
    execute: (step, definition, subtask, context) =>
      Effect.suspend(() => {
        const env = step.node.env
        if (unknown !== undefined) return Effect.fail(unknown)
        if (env.budgetSpent) {
          // As a local call does: a spent budget cancels the agent instead of failing it.
          step.refusedByBudget = true
          return Effect.interrupt
        }
        paths ??= agentsPaths(workflow)
        const path = paths.get(definition as Workflow.Agents<unknown>)
        if (path === undefined) return unknownStep(workflow.name)
        const request: AgentRequest = {
          runId: env.taskId,
          workflow: workflow.name,
          settings,
          path,
          subtask,
          agentId: step.agentId,
          model: context.model,
          dependencies: context.dependencies,
          task: context.task,
          context: context.context,
          config: context.config,
          previous: context.previous,
          streamTokens: env.deltas !== undefined
        }
        return live(step, request).pipe(
          Effect.retry({ schedule: retry, while: (error) => error._tag === "RunnerUnreachable" }),
          Effect.catchTag("UnknownWorkflow", (error) => {
            unknown ??= error
            return Effect.fail(error)
          }),
          Effect.flatMap((reply) => apply(step, reply))
        )
      })
  }
}

/**
 * Any failure of a send other than the runner's typed answer is a runner out of reach, to be tried again: an
 * interruption too, which is what a leaving runner answers for the agents it hands back. (When this fiber
 * itself is interrupted, no handler runs: the agent stops.)
 */
export const unreachable = <A>(
  sent: Effect.Effect<A, unknown>
): Effect.Effect<A, UnknownWorkflow | RunnerUnreachable> =>
  Effect.catchAllCause(sent, (cause): Effect.Effect<never, UnknownWorkflow | RunnerUnreachable> => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value as { readonly _tag?: unknown }
      if (error._tag === "UnknownWorkflow") return Effect.fail(failure.value as UnknownWorkflow)
    }
    const reason = Cause.isInterruptedOnly(cause) ? "the runner stopped the agent" : Cause.pretty(cause).split("\n")[0]
    return Effect.fail(new RunnerUnreachable({ reason: reason ?? "unknown" }))
  })

