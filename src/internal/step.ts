import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Random from "effect/Random"
import type * as Provider from "../Provider.js"
import { isTransient, type ProviderError } from "../ProviderError.js"
import * as Retry from "../Retry.js"
import type { Usage } from "../Usage.js"
import { unsafeRecord } from "../CostTracker.js"
import { callProvider, meteredStream } from "./deltas.js"
import { describeCause } from "./describe.js"
import { addUsage, chargeNode, emit, type Node, type RunEnv } from "./env.js"
import type { SubTask } from "../SubTask.js"
import type { Worker } from "./pool.js"
import type { Guarded } from "./watchdog.js"

/** A step (an agent, a decomposition, a synthesis) took longer than its time bound. */
export class StepTimedOut extends Data.TaggedError("StepTimedOut")<{ readonly seconds: number }> {
  override get message(): string {
    return `timed out after ${Duration.format(Duration.seconds(this.seconds))}`
  }
}

/**
 * One step of a run: who its provider calls are charged to, and what they used so far. The step running on a
 * fiber is found through `CurrentStep`, so that `Provider.complete` in user code needs no extra argument.
 */
export class Step implements Guarded {
  cost = 0
  inputTokens = 0
  outputTokens = 0
  cachedInputTokens = 0
  cacheWriteInputTokens = 0
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
    if (this.cacheWriteInputTokens > 0) usage.cacheWriteInputTokens = this.cacheWriteInputTokens
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

/** Charges a call's usage to its step and to the run; returns whether a budget warning is due. */
const meter = (step: Step, model: string, usage: Usage): void => {
  const env = step.node.env
  step.inputTokens += usage.inputTokens
  step.outputTokens += usage.outputTokens
  step.cachedInputTokens += usage.cachedInputTokens ?? 0
  step.cacheWriteInputTokens += usage.cacheWriteInputTokens ?? 0
  if (usage.estimated === true) step.estimated = true
  addUsage(env, usage)
  const tracker = env.tracker
  if (tracker === undefined) return chargeNode(step.node, 0, usage)
  const recorded = unsafeRecord(tracker, { model, usage, agentId: step.agentId, tier: step.tier })!
  step.cost += recorded.cost
  chargeNode(step.node, recorded.cost, usage)
  if (recorded.exhausted) env.budgetSpent = true
  if (recorded.crossedWarning && env.config.maxTotalCost !== undefined) {
    emit(step.node, "budget_warning", {
      spent: recorded.total,
      limit: env.config.maxTotalCost,
      threshold: env.config.budgetWarningThreshold
    }, step.agentId)
  }
}

/**
 * One attempt, then retries of transient errors with backoff (and at least a rate limit's `retryAfter`) up to
 * `maxRetries`. Must be called lazily (inside an effect): it starts the call.
 */
const attempts = (
  step: Step,
  request: Provider.CompletionRequest,
  model: string,
  number: number
): Effect.Effect<Provider.Completion, ProviderError> => {
  const env = step.node.env
  // Once the budget is spent no call may start. The step is cancelled, not failed: an interruption, which
  // user code cannot swallow by mistake with `catchAll`.
  if (env.budgetSpent) {
    step.refusedByBudget = true
    return Effect.interrupt
  }
  step.attempts++
  step.model = model
  return Effect.matchEffect(callProvider(env, step, request.model === model ? request : { ...request, model }), {
    onSuccess: (completion) => {
      meter(step, completion.model, completion.usage)
      return Effect.succeed(completion)
    },
    onFailure: (error) => {
      if (error.usage !== undefined) meter(step, model, error.usage)
      const policy = env.retryPolicy
      if (!isTransient(error) || number > policy.maxRetries) return Effect.fail(error)
      return Effect.flatMap(Random.next, (random) => {
        const delay = Retry.delayFor(policy, number, error, random)
        emit(step.node, "agent_retry", {
          subtaskId: step.subtaskId,
          attempt: number,
          errorTag: error._tag,
          reason: error.message,
          model,
          nextModel: model,
          delayMillis: Duration.toMillis(delay)
        }, step.agentId)
        return Effect.zipRight(
          Effect.sleep(delay),
          Effect.suspend(() => attempts(step, request, model, number + 1))
        )
      })
    }
  })
}

/** A provider call on behalf of a step: metered, budgeted, retried, then retried on the fallback model. */
const completeFor = (step: Step, request: Provider.CompletionRequest) => {
  const env = step.node.env
  const primary = request.model ?? step.defaultModel
  const first = attempts(step, request, primary, 1)
  const fallback = env.config.fallbackModel
  if (fallback === undefined || fallback === primary) return first
  return Effect.catchAll(first, (error) => {
    if (!isTransient(error)) return Effect.fail(error)
    emit(step.node, "agent_retry", {
      subtaskId: step.subtaskId,
      attempt: env.retryPolicy.maxRetries + 1,
      errorTag: error._tag,
      reason: error.message,
      model: primary,
      nextModel: fallback,
      delayMillis: 0
    }, step.agentId)
    return attempts(step, request, fallback, 1)
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

/** How a step ended. */
export type StepOutcome<A> =
  | { readonly _tag: "Done"; readonly value: A; readonly step: Step; readonly seconds: number }
  | {
    readonly _tag: "Failed"
    readonly error: string
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

/** A step that failed, died, timed out or was stopped by the budget. */
export const failed = <A>(step: Step, cause: Cause.Cause<unknown>): StepOutcome<A> => {
  const cancelled = step.refusedByBudget && step.node.env.budgetSpent
  const error = cancelled ? "cancelled: the budget (maxTotalCost) is spent" : describeCause(cause)
  return { _tag: "Failed", error, cancelled, step, seconds: secondsSince(step) }
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
