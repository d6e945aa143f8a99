import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Schema from "effect/Schema"
import type * as CostTracker from "../CostTracker.js"
import { AgentFailure, BudgetExceeded, StepTimedOut } from "../OrchestratorError.js"
import type * as Provider from "../Provider.js"
import { isTransient, type ProviderError } from "../ProviderError.js"
import type { SubTask } from "../SubTask.js"
import type { Usage } from "../Usage.js"
import { describeCause } from "./describe.js"
import { addUsage, chargeNode, emit, type Node, type RunEnv } from "./env.js"
import type { Worker } from "./pool.js"
import type { Guarded } from "./watchdog.js"

/**
 * One step of a run: who its provider calls are charged to, and what they used so far. The step running on a
 * fiber is found through `CurrentStep`, so that `Provider.complete` in user code needs no extra argument.
 */
export class Step implements Guarded {
  cost = 0
  inputTokens = 0
  outputTokens = 0
  cachedInputTokens = 0
  estimated = false
  attempts = 0
  model: string | undefined = undefined
  refusedByBudget = false
  started = 0
  // Time bound, for the watchdog.
  deadline = Infinity
  fiber: Fiber.RuntimeFiber<unknown, unknown> = undefined as never
  timedOut = false
  slot = -1
  // Set for agent steps by the scheduler that runs them on a pool worker.
  index = -1
  subtask: SubTask | undefined = undefined
  worker: Worker | undefined = undefined
  /** How an agent step ends. */
  succeed: (value: unknown) => Effect.Effect<void> = () => Effect.void
  fail: (cause: Cause.Cause<unknown>) => Effect.Effect<void> = () => Effect.void
  timeOut: () => Effect.Effect<void> = () => Effect.void

  constructor(
    readonly node: Node,
    readonly agentId: string,
    readonly subtaskId: string,
    readonly tier: string,
    /** The model of requests that name none. */
    readonly defaultModel: string
  ) {}

  get usage(): Usage {
    const usage: { -readonly [K in keyof Usage]: Usage[K] } = {
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens
    }
    if (this.cachedInputTokens > 0) usage.cachedInputTokens = this.cachedInputTokens
    if (this.estimated) usage.estimated = true
    return usage
  }
}

/**
 * Which step the current fiber works for, in a mutable holder: a pool worker points its holder at each agent it
 * runs without touching its FiberRefs (a FiberRef update copies them all). A fiber forked by an agent gets a
 * holder of its own, pointing at that agent, so its calls stay charged to it after the worker moves on.
 */
export interface StepHolder {
  step: Step | undefined
}

export const CurrentStep: FiberRef.FiberRef<StepHolder> = FiberRef.unsafeMake<StepHolder>({ step: undefined }, {
  fork: (holder) => ({ step: holder.step }),
  join: (parent) => parent
})

/** Stops every further provider call of the run; the first budget to be spent is the one reported. */
const stopRun = (env: RunEnv, stop: BudgetExceeded): void => {
  if (env.budgetSpent) return
  env.budgetSpent = true
  env.budgetStop = stop
}

/**
 * Charges a call's usage to its step, to the run and to the session's tracker. The run's own ledger is
 * charged synchronously; the effect returned, if any, charges the session.
 */
const meter = (step: Step, model: string, usage: Usage): Effect.Effect<void> | undefined => {
  const env = step.node.env
  step.inputTokens += usage.inputTokens
  step.outputTokens += usage.outputTokens
  step.cachedInputTokens += usage.cachedInputTokens ?? 0
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

/** Records a call in the session's tracker, whose agents are keyed by run: `taskId/agentId`. */
const meterSession = (step: Step, session: CostTracker.Service, model: string, usage: Usage): Effect.Effect<void> => {
  const env = step.node.env
  return Effect.flatMap(
    session.record({ model, usage, agentId: `${env.taskId}/${step.agentId}`, tier: step.tier }),
    (recorded) =>
      !recorded.exhausted && !recorded.crossedWarning ? Effect.void : Effect.map(session.snapshot, (snapshot) => {
        const limit = snapshot.maxTotalCost
        if (limit === undefined) return
        if (recorded.exhausted) stopRun(env, new BudgetExceeded({ spent: recorded.total, limit, scope: "session" }))
        if (recorded.crossedWarning) {
          emit(step.node, "budget_warning", {
            spent: recorded.total,
            limit,
            threshold: snapshot.warningThreshold
          }, step.agentId)
        }
      })
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
  return Effect.matchEffect(env.provider.complete(request.model === model ? request : { ...request, model }), {
    onSuccess: (completion) => {
      const charged = meter(step, completion.model, completion.usage)
      return charged === undefined ? Effect.succeed(completion) : Effect.as(charged, completion)
    },
    onFailure: (error) => {
      const charged = error.usage === undefined ? undefined : meter(step, model, error.usage)
      const next = isTransient(error) ? retry(step, request, model, number, state, error) : Effect.fail(error)
      return charged === undefined ? next : Effect.zipRight(charged, next)
    }
  })
}

const retry = (
  step: Step,
  request: Provider.CompletionRequest,
  model: string,
  number: number,
  state: unknown,
  error: ProviderError
): Effect.Effect<Provider.Completion, ProviderError> => {
  const env = step.node.env
  const now = env.clock.unsafeCurrentTimeMillis()
  return Effect.flatMap(env.retry.step(now, error, state), ([next, , decision]) => {
    if (ScheduleDecision.isDone(decision)) return Effect.fail(error)
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
    const again = Effect.suspend(() => attempt(step, request, model, number + 1, next))
    return delayMillis === 0 ? again : Effect.zipRight(Effect.sleep(Duration.millis(delayMillis)), again)
  })
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
export const meteredProvider = (env: RunEnv, unattributed: () => Step): Provider.Service => ({
  name: env.provider.name,
  defaultModel: env.provider.defaultModel,
  complete: (request) =>
    Effect.withFiberRuntime((fiber) => completeFor(fiber.getFiberRef(CurrentStep).step ?? unattributed(), request))
})

/** How a step ended. */
export type StepOutcome<A> =
  | { readonly _tag: "Done"; readonly value: A; readonly step: Step; readonly seconds: number }
  | {
    readonly _tag: "Failed"
    readonly error: string
    /** The failure's `_tag`: see `AgentResult.errorTag`. */
    readonly errorTag: string
    /** The failure, when it is one of the library's own errors. */
    readonly failure: AgentFailure | undefined
    /** True when the step was stopped by the budget rather than failing. */
    readonly cancelled: boolean
    readonly step: Step
    readonly seconds: number
  }

const secondsSince = (step: Step): number => (step.node.env.clock.unsafeCurrentTimeMillis() - step.started) / 1000

/** A step that finished with `value`. */
export const succeeded = <A>(step: Step, value: A): StepOutcome<A> => ({
  _tag: "Done",
  value,
  step,
  seconds: secondsSince(step)
})

const isAgentFailure = Schema.is(AgentFailure)

/** Why a budget stopped a step, in words. */
export const budgetMessage = (stop: BudgetExceeded | undefined): string =>
  stop?.scope === "session"
    ? "the session budget (the CostTracker's maxTotalCost) is spent"
    : "the budget (maxTotalCost) is spent"

/** A step that failed, died, timed out or was stopped by the budget. */
export const failed = <A>(step: Step, cause: Cause.Cause<unknown>): StepOutcome<A> => {
  const env = step.node.env
  const seconds = secondsSince(step)
  if (step.refusedByBudget && env.budgetSpent) {
    const stop = env.budgetStop
    const error = `cancelled: ${budgetMessage(stop)}`
    return { _tag: "Failed", error, errorTag: "BudgetExceeded", failure: stop, cancelled: true, step, seconds }
  }
  const error = describeCause(cause)
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const value = failure.value
    const errorTag = Predicate.hasProperty(value, "_tag") && typeof value._tag === "string" ? value._tag : "UnknownError"
    const typed = isAgentFailure(value) ? value : undefined
    return { _tag: "Failed", error, errorTag, failure: typed, cancelled: false, step, seconds }
  }
  const errorTag = Cause.isDie(cause) ? "Defect" : "Interrupted"
  return { _tag: "Failed", error, errorTag, failure: undefined, cancelled: false, step, seconds }
}

/** Turns the exit of a step's body into an outcome. */
export const outcomeOf = <A>(step: Step, exit: Exit.Exit<A, unknown>): StepOutcome<A> =>
  Exit.isSuccess(exit) ? succeeded(step, exit.value) : failed(step, exit.cause)

/**
 * Runs a one-off step (a decomposition, a synthesis, a condition) with its own time bound: the body runs on a
 * child fiber that the run's watchdog interrupts at the deadline, which costs one fiber and no timer.
 * Agents do not come through here: the pool runs them on its workers.
 */
export const runStep = <A, E, R>(step: Step, timeoutSeconds: number, body: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const env = step.node.env
    step.started = env.clock.unsafeCurrentTimeMillis()
    step.deadline = step.started + timeoutSeconds * 1000
    return Effect.locally(Effect.fork(body), CurrentStep, { step }).pipe(
      Effect.flatMap((fiber) => {
        step.fiber = fiber
        env.watchdog.register(step)
        return Fiber.await(fiber)
      }),
      Effect.map((exit) => {
        env.watchdog.unregister(step)
        return step.timedOut
          ? failed<A>(step, Cause.fail(new StepTimedOut({ seconds: timeoutSeconds })))
          : outcomeOf(step, exit)
      })
    )
  })
