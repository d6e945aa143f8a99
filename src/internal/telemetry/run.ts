import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type { OrchestratorConfig } from "../../OrchestratorConfig.js"
import type * as Provider from "../../Provider.js"
import type { ProviderError } from "../../ProviderError.js"
import type { Node } from "../env.js"
import * as metrics from "./metrics.js"
import type { Step } from "../step.js"

// Spans and metrics of a run. A run without a telemetry layer has no `RunTelemetry` at all: the engine checks
// one field and allocates nothing for spans or metrics.
//
// Spans are parented explicitly, never by the fiber they run on: agents run on pool workers that outlive them,
// so a worker's own context says nothing of the workflow an agent belongs to.

/** What `Telemetry.instrument` switches on. */
export interface Settings {
  readonly enabled: boolean
  readonly recordContent: boolean
}

/** The run's telemetry settings; off unless a telemetry layer is provided. */
export class TelemetrySettings extends Context.Reference<TelemetrySettings>()(
  "multi-agent-orchestration/Telemetry/Settings",
  { defaultValue: (): Settings => ({ enabled: false, recordContent: false }) }
) {}

/** How a provider call attempt's outcome is handled by the engine: metering, retries. */
export interface CallHandlers {
  readonly onSuccess: (completion: Provider.Completion) => Effect.Effect<Provider.Completion, ProviderError>
  readonly onFailure: (error: ProviderError) => Effect.Effect<Provider.Completion, ProviderError>
}

const label = MetricLabel.make

// Label arrays are reused: an Effect metric caches its hook per label array, by identity, so a fresh array
// per update would look the metric up in the registry each time. There are few: models × error tags.
const labelSets = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
const labels = (...pairs: ReadonlyArray<string>): ReadonlyArray<MetricLabel.MetricLabel> => {
  const key = pairs.join("\u0000")
  let set = labelSets.get(key)
  if (set === undefined) {
    const made: Array<MetricLabel.MetricLabel> = []
    for (let i = 0; i < pairs.length; i += 2) made.push(label(pairs[i]!, pairs[i + 1]!))
    set = made
    labelSets.set(key, set)
  }
  return set
}
const noLabels: ReadonlyArray<MetricLabel.MetricLabel> = []

const statusOf = (step: Step, exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit)
    ? "completed"
    : step.timedOut
    ? "timed_out"
    : step.refusedByBudget
    ? "cancelled"
    : Cause.isInterruptedOnly(exit.cause)
    ? "interrupted"
    : "failed"

const errorTypeOf = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const value = failure.value
    return Predicate.hasProperty(value, "_tag") && typeof value._tag === "string" ? value._tag : "UnknownError"
  }
  return Cause.isInterruptedOnly(cause) ? "Interrupted" : "Defect"
}

const promptMessages = (request: Provider.CompletionRequest): string => {
  const messages = request.messages !== undefined
    ? request.messages.map((message) => ({ role: message.role, parts: [{ type: "text", content: message.content }] }))
    : []
  if (request.prompt !== undefined) messages.push({ role: "user", parts: [{ type: "text", content: request.prompt }] })
  return JSON.stringify(messages)
}

export class RunTelemetry {
  private spent = 0

  constructor(
    readonly settings: Settings,
    readonly taskId: string,
    readonly providerName: string,
    readonly config: OrchestratorConfig,
    readonly clock: Clock.Clock
  ) {}

  /** A workflow's span, a child of its parent workflow's (or, at the top, of the run's). */
  workflow<A, E, R>(node: Node, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    const parent = node.parent?.span
    return Effect.useSpan(`workflow ${node.name}`, {
      ...(parent === undefined ? {} : { parent }),
      captureStackTrace: false,
      attributes: {
        "orchestration.task.id": this.taskId,
        "orchestration.workflow.id": node.workflowId,
        "orchestration.workflow.name": node.name
      }
    }, (span) => {
      node.span = span
      return Effect.onExit(Effect.withParentSpan(body, span), () =>
        Effect.sync(() => {
          span.attribute("orchestration.cost", node.cost)
          span.attribute("gen_ai.usage.input_tokens", node.inputTokens)
          span.attribute("gen_ai.usage.output_tokens", node.outputTokens)
        }))
    })
  }

  /** An agent's span, a child of its workflow's, whatever worker fiber runs it. */
  agent<A, E, R>(step: Step, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return this.stepSpan(`invoke_agent ${step.agentId}`, step, body, true)
  }

  /** The span of a decomposition, synthesis, judge, merge or condition step. */
  step<A, E, R>(step: Step, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    const kind = step.subtaskId.replace(/^\(|\)$/g, "")
    return this.stepSpan(`${kind} ${step.node.name}`, step, body, false)
  }

  private stepSpan<A, E, R>(name: string, step: Step, body: Effect.Effect<A, E, R>, agent: boolean) {
    const node = step.node
    const parent = node.span
    const attributes: Record<string, unknown> = {
      "gen_ai.operation.name": agent ? "invoke_agent" : "chat",
      "orchestration.agent.id": step.agentId,
      "orchestration.agent.tier": step.tier,
      "orchestration.workflow.id": node.workflowId,
      "gen_ai.request.model": step.defaultModel
    }
    if (agent) {
      attributes["gen_ai.agent.id"] = step.agentId
      attributes["orchestration.subtask.id"] = step.subtaskId
    } else {
      attributes["orchestration.step"] = step.tier
    }
    return Effect.useSpan(name, {
      ...(parent === undefined ? {} : { parent }),
      captureStackTrace: false,
      attributes
    }, (span) => {
      if (agent) metrics.agentsInFlight.unsafeModify(1, noLabels)
      return Effect.onExit(Effect.withParentSpan(body, span), (exit) =>
        Effect.sync(() => {
          if (agent) metrics.agentsInFlight.unsafeModify(-1, noLabels)
          span.attribute("orchestration.cost", step.cost)
          span.attribute("orchestration.attempts", step.attempts)
          span.attribute("gen_ai.usage.input_tokens", step.inputTokens)
          span.attribute("gen_ai.usage.output_tokens", step.outputTokens)
          if (step.model !== undefined) span.attribute("gen_ai.response.model", step.model)
          span.attribute("orchestration.agent.status", statusOf(step, exit))
          if (Exit.isFailure(exit)) span.attribute("error.type", step.timedOut ? "StepTimedOut" : errorTypeOf(exit.cause))
        }))
    })
  }

  /**
   * One attempt of a provider call, as a GenAI client span: a child of the step's span. The attempt's cost is
   * what metering charged the step for it.
   */
  call(
    step: Step,
    model: string,
    request: Provider.CompletionRequest,
    completion: Effect.Effect<Provider.Completion, ProviderError>,
    handlers: CallHandlers
  ): Effect.Effect<Provider.Completion, ProviderError> {
    const attributes: Record<string, unknown> = {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": this.providerName,
      "gen_ai.request.model": model,
      "orchestration.agent.id": step.agentId,
      "orchestration.agent.tier": step.tier,
      "orchestration.attempt": step.attempts
    }
    if (request.temperature !== undefined) attributes["gen_ai.request.temperature"] = request.temperature
    if (request.maxTokens !== undefined) attributes["gen_ai.request.max_tokens"] = request.maxTokens
    if (this.settings.recordContent) {
      if (request.system !== undefined) {
        attributes["gen_ai.system_instructions"] = JSON.stringify([{ type: "text", content: request.system }])
      }
      attributes["gen_ai.input.messages"] = promptMessages(request)
    }
    const started = this.clock.unsafeCurrentTimeMillis()
    const seconds = () => (this.clock.unsafeCurrentTimeMillis() - started) / 1000
    return Effect.flatMap(
      Effect.makeSpan(`chat ${model}`, { kind: "client", attributes, captureStackTrace: false }),
      (span) => {
        const end = (exit: Exit.Exit<unknown, unknown>) => span.end(this.clock.unsafeCurrentTimeNanos(), exit)
        return Effect.matchCauseEffect(Effect.withParentSpan(completion, span), {
          onSuccess: (reply) => {
            const before = step.cost
            const next = handlers.onSuccess(reply)
            const callCost = step.cost - before
            span.attribute("gen_ai.response.model", reply.model)
            span.attribute("gen_ai.usage.input_tokens", reply.usage.inputTokens)
            span.attribute("gen_ai.usage.output_tokens", reply.usage.outputTokens)
            span.attribute("orchestration.cost", callCost)
            if (this.settings.recordContent) {
              span.attribute(
                "gen_ai.output.messages",
                JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: reply.content }] }])
              )
            }
            end(Exit.void)
            metrics.callDuration.unsafeUpdate(seconds(), labels("gen_ai.request.model", model, "error.type", "none"))
            this.charged(reply.model, reply.usage.inputTokens, reply.usage.outputTokens, callCost)
            return next
          },
          onFailure: (cause) => {
            const failure = Cause.failureOption(cause)
            const errorType = errorTypeOf(cause)
            span.attribute("error.type", errorType)
            metrics.callDuration.unsafeUpdate(seconds(), labels("gen_ai.request.model", model, "error.type", errorType))
            if (Option.isNone(failure)) {
              end(Exit.failCause(cause))
              return Effect.failCause(cause)
            }
            const error = failure.value
            const before = step.cost
            const next = handlers.onFailure(error)
            if (error.usage !== undefined) {
              const callCost = step.cost - before
              span.attribute("gen_ai.usage.input_tokens", error.usage.inputTokens)
              span.attribute("gen_ai.usage.output_tokens", error.usage.outputTokens)
              span.attribute("orchestration.cost", callCost)
              this.charged(model, error.usage.inputTokens, error.usage.outputTokens, callCost)
            }
            end(Exit.fail(error))
            return next
          }
        })
      }
    )
  }

  private charged(model: string, inputTokens: number, outputTokens: number, callCost: number): void {
    metrics.tokens.unsafeUpdate(inputTokens, labels("gen_ai.response.model", model, "gen_ai.token.type", "input"))
    metrics.tokens.unsafeUpdate(outputTokens, labels("gen_ai.response.model", model, "gen_ai.token.type", "output"))
    if (callCost > 0) metrics.cost.unsafeUpdate(callCost, labels("gen_ai.response.model", model))
    this.spent += callCost
    const limit = this.config.maxTotalCost
    if (limit !== undefined && limit > 0) metrics.budgetUsed.unsafeUpdate(this.spent / limit, noLabels)
  }

  /** A transient failure that will be tried again, on the same model or on the fallback. */
  retried(errorTag: string, kind: "retry" | "fallback"): void {
    metrics.retries.unsafeUpdate(1, labels("error.type", errorTag, "orchestration.retry.kind", kind))
  }
}

/** The telemetry of a run about to start, or `undefined` when no telemetry layer is provided. */
export const makeRunTelemetry = (
  taskId: string,
  provider: Provider.Service,
  config: OrchestratorConfig,
  clock: Clock.Clock
): Effect.Effect<RunTelemetry | undefined> =>
  Effect.map(TelemetrySettings, (settings) =>
    settings.enabled ? new RunTelemetry(settings, taskId, provider.name, config, clock) : undefined)

/** Marks the current span (the run's) with the task's id, when telemetry is on. */
export const annotateRun = (telemetry: RunTelemetry | undefined): Effect.Effect<void> =>
  telemetry === undefined ? Effect.void : Effect.annotateCurrentSpan("orchestration.task.id", telemetry.taskId)

