import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import type * as CostTracker from "../CostTracker.js"
import { BudgetExceeded } from "../OrchestratorError.js"
import type * as Provider from "../Provider.js"
import { isTransient, type ProviderError } from "../ProviderError.js"
import type { Usage } from "../Usage.js"
import * as Retry from "../Retry.js"
import type { OrchestratorConfig } from "../OrchestratorConfig.js"
import { callProvider, meteredStream } from "./deltas.js"
import { addUsage, chargeNode, emit, type RunEnv } from "./env.js"
import { CurrentStep, type Step } from "./step.js"

// Every provider call of a run goes through here: it is charged to the step that makes it (and to the run, and
// to the session's tracker), refused once a budget is spent, retried as the run's schedule says, then tried on
// the fallback model.

// The default retry schedule of each configuration, made once: runs with the same settings share it.
const retries = new Map<string, RunEnv["retry"]>()

/** The retry schedule a configuration's `maxRetries` and delays describe (`Retry.transientProviderErrors`). */
export const configuredRetry = (config: OrchestratorConfig): RunEnv["retry"] => {
  const key = `${config.maxRetries}/${config.retryBaseDelaySeconds}/${config.retryMaxDelaySeconds}`
  let schedule = retries.get(key)
  if (schedule === undefined) {
    schedule = Retry.transientProviderErrors({
      maxRetries: config.maxRetries,
      baseDelay: Duration.seconds(config.retryBaseDelaySeconds),
      maxDelay: Duration.seconds(config.retryMaxDelaySeconds)
    })
    retries.set(key, schedule)
  }
  return schedule
}

/** Stops every further provider call of the run; the first budget to be spent is the one reported. */
export const stopRun = (env: RunEnv, stop: BudgetExceeded): void => {
  if (env.budgetSpent) return
  env.budgetSpent = true
  env.budgetStop = stop
}

/**
 * Charges a call's usage to its step, to the run and to the session's tracker. The run's own ledger is
 * charged synchronously; the effect returned, if any, charges the session.
 */
export const meter = (step: Step, model: string, usage: Usage): Effect.Effect<void> | undefined => {
  const env = step.node.env
  step.inputTokens += usage.inputTokens
  step.outputTokens += usage.outputTokens
  step.cachedInputTokens += usage.cachedInputTokens ?? 0
  step.cacheWriteInputTokens += usage.cacheWriteInputTokens ?? 0
  if (usage.estimated === true) step.estimated = true
  addUsage(env, usage)
  const record = env.record
  if (record === undefined) {
    chargeNode(step.node, 0, usage)
  } else {
    const recorded = record({ model, usage, agentId: step.agentId, tier: step.tier })
    step.cost += recorded.cost
    chargeNode(step.node, recorded.cost, usage)
    const limit = env.config.maxTotalCost
    if (limit !== undefined) {
      if (recorded.exhausted) stopRun(env, new BudgetExceeded({ spent: recorded.total, limit, scope: "run" }))
      if (recorded.crossedWarning) {
        emit(step.node, "budget_warning", {
          spent: recorded.total,
          limit,
          threshold: env.config.budgetWarningThreshold
        }, step.agentId)
      }
    }
  }
  return env.session === undefined ? undefined : meterSession(step, env.session, model, usage)
}

/**
 * Records a call in the session's tracker, whose agents are keyed by run: `taskId/agentId`. Only the charge
 * that spends the session's budget, or crosses its warning threshold, costs more than the `record`.
 */
const meterSession = (step: Step, session: CostTracker.Service, model: string, usage: Usage): Effect.Effect<void> => {
  const env = step.node.env
  const spent = (recorded: CostTracker.Recorded) =>
    Effect.catchAll(session.ensureBudget, ({ limit }) =>
      Effect.sync(() => stopRun(env, new BudgetExceeded({ spent: recorded.total, limit, scope: "session" }))))
  const warn = (recorded: CostTracker.Recorded) =>
    Effect.map(session.snapshot, ({ maxTotalCost, warningThreshold }) => {
      if (maxTotalCost === undefined) return
      const data = { spent: recorded.total, limit: maxTotalCost, threshold: warningThreshold }
      emit(step.node, "budget_warning", data, step.agentId)
    })
  return Effect.flatMap(
    session.record({ model, usage, agentId: `${env.taskId}/${step.agentId}`, tier: step.tier }),
    (recorded) => {
      const stop = recorded.exhausted && !env.budgetSpent ? spent(recorded) : Effect.void
      return recorded.crossedWarning ? Effect.zipRight(warn(recorded), stop) : stop
    }
  )
}

/**
 * Once a budget is spent no call may start. The step is cancelled, not failed: an interruption, which user
 * code cannot swallow by mistake with `catchAll`.
 */
const refuse = (step: Step): Effect.Effect<never> => {
  step.refusedByBudget = true
  return Effect.interrupt
}

const retryAfterMillis = (error: ProviderError): number =>
  error._tag === "RateLimited" && error.retryAfter !== undefined ? Duration.toMillis(error.retryAfter) : 0

/**
 * Attempt number `number` of a call on `model`, and the retries after it: each transient failure is fed to
 * the run's retry schedule (in state `state`), which says whether and when to try again; a rate limit's
 * `retryAfter` is waited at least. A call that succeeds costs one `matchEffect`: the schedule is stepped only
 * after a failure. Must be called lazily (inside an effect): it starts the call.
 */
const attempt = (
  step: Step,
  request: Provider.CompletionRequest,
  model: string,
  number: number,
  state: unknown
): Effect.Effect<Provider.Completion, ProviderError> => {
  const env = step.node.env
  if (env.budgetSpent) return refuse(step)
  const session = env.session
  if (session === undefined) return send(step, request, model, number, state)
  return Effect.matchEffect(session.ensureBudget, {
    onFailure: ({ limit, spent }) => {
      stopRun(env, new BudgetExceeded({ spent, limit, scope: "session" }))
      return refuse(step)
    },
    onSuccess: () => send(step, request, model, number, state)
  })
}

const send = (
  step: Step,
  request: Provider.CompletionRequest,
  model: string,
  number: number,
  state: unknown
): Effect.Effect<Provider.Completion, ProviderError> => {
  const env = step.node.env
  step.attempts++
  step.model = model
  // `Object.assign` rather than `{ ...request, model }`: once optimised, V8 gives every object that spread makes
  // a hidden class of its own (about 200 bytes more a call, and megamorphic code wherever requests are read).
  const call = callProvider(env, step, request.model === model ? request : Object.assign({}, request, { model }))
  const onSuccess = (completion: Provider.Completion) => {
    const charged = meter(step, completion.model, completion.usage)
    return charged === undefined ? Effect.succeed(completion) : Effect.as(charged, completion)
  }
  const telemetry = env.telemetry
  if (telemetry !== undefined) {
    const onFailure = (error: ProviderError) => failedAttempt(step, request, model, number, state, error)
    return telemetry.call(step, model, request, call, { onSuccess, onFailure })
  }
  // `matchCauseEffect` rather than `matchEffect`, which wraps the handlers again on every call. (Two closures
  // a call, held while it is in flight.)
  return Effect.matchCauseEffect(call, {
    onSuccess,
    onFailure: (cause) => {
      const failure = Cause.failureOrCause(cause)
      return Either.isLeft(failure)
        ? failedAttempt(step, request, model, number, state, failure.left)
        : Effect.failCause(failure.right)
    }
  })
}

/**
 * After a failed attempt: its usage is charged, and a transient failure is tried again as the schedule says
 * (after its delay, and never sooner than a rate limit's `retryAfter`).
 */
const failedAttempt = (
  step: Step,
  request: Provider.CompletionRequest,
  model: string,
  number: number,
  state: unknown,
  error: ProviderError
): Effect.Effect<Provider.Completion, ProviderError> => {
  const charged = error.usage === undefined ? undefined : meter(step, model, error.usage)
  const afterCharge = <A>(next: Effect.Effect<A, ProviderError>) =>
    charged === undefined ? next : Effect.zipRight(charged, next)
  if (!isTransient(error)) return afterCharge(Effect.fail(error))
  const env = step.node.env
  const now = env.clock.unsafeCurrentTimeMillis()
  return afterCharge(Effect.flatMap(env.retry.step(now, error, state), ([next, , decision]) => {
    if (ScheduleDecision.isDone(decision)) return Effect.fail(error)
    env.telemetry?.retried(error._tag, "retry")
    const delayMillis = Math.round(Math.max(ScheduleIntervals.start(decision.intervals) - now, retryAfterMillis(error), 0))
    emit(step.node, "agent_retry", {
      subtaskId: step.subtaskId,
      attempt: number,
      errorTag: error._tag,
      reason: error.message,
      model,
      nextModel: model,
      delayMillis
    }, step.agentId)
    const retry = Effect.suspend(() => attempt(step, request, model, number + 1, next))
    return delayMillis === 0 ? retry : Effect.zipRight(Effect.sleep(Duration.millis(delayMillis)), retry)
  }))
}

/** A provider call on behalf of a step: metered, budgeted, retried, then retried on the fallback model. */
const completeFor = (step: Step, request: Provider.CompletionRequest) => {
  const env = step.node.env
  const primary = request.model ?? step.defaultModel
  const initial = env.retry.initial
  const fallback = env.config.fallbackModel
  if (fallback === undefined || fallback === primary) return attempt(step, request, primary, 1, initial)
  const before = step.attempts
  return Effect.catchAll(attempt(step, request, primary, 1, initial), (error) => {
    if (!isTransient(error)) return Effect.fail(error)
    env.telemetry?.retried(error._tag, "fallback")
    emit(step.node, "agent_retry", {
      subtaskId: step.subtaskId,
      attempt: step.attempts - before,
      errorTag: error._tag,
      reason: error.message,
      model: primary,
      nextModel: fallback,
      delayMillis: 0
    }, step.agentId)
    return attempt(step, request, fallback, 1, initial)
  })
}

/**
 * The provider every step of a run sees. Calls are charged to the step running on the calling fiber; a call
 * made outside any step (say, in a custom condition) is charged to `unattributed`.
 */
export const meteredProvider = (env: RunEnv, unattributed: () => Step): Provider.Service => {
  const complete = (request: Provider.CompletionRequest): Effect.Effect<Provider.Completion, ProviderError> =>
    Effect.withFiberRuntime((fiber) => completeFor(fiber.getFiberRef(CurrentStep).step ?? unattributed(), request))
  return { name: env.provider.name, defaultModel: env.provider.defaultModel, complete, stream: meteredStream(complete) }
}
