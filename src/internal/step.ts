import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Tracer from "effect/Tracer"
import { AgentFailure, type BudgetExceeded, StepTimedOut } from "../OrchestratorError.js"
import type { SubTask } from "../SubTask.js"
import type { Usage } from "../Usage.js"
import { describeCause } from "./describe.js"
import type { Node } from "./env.js"
import type { Guarded } from "./watchdog.js"

const endsWithNothing = (): Effect.Effect<void> => Effect.void

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
  // Set for agent steps by the scheduler that runs them on a pool worker (`holder` is that worker's).
  index = -1
  subtask: SubTask | undefined = undefined
  holder: StepHolder | undefined = undefined
  /** How an agent step ends. (Shared defaults: a closure per step would cost 100,000 of them a run.) */
  succeed: (value: unknown) => Effect.Effect<void> = endsWithNothing
  fail: (cause: Cause.Cause<unknown>) => Effect.Effect<void> = endsWithNothing
  timeOut: () => Effect.Effect<void> = endsWithNothing
  /** With telemetry on, an agent's open span, and that of its provider call in progress. */
  span: Tracer.Span | undefined = undefined
  callSpan: Tracer.Span | undefined = undefined

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
  /**
   * With telemetry on, the span of the provider call in progress on this fiber: spans the provider makes hang
   * under it (see `CurrentWorkSpan`). A fiber forked during the call keeps it.
   */
  callSpan: Tracer.Span | undefined
}

/**
 * The holder of fibers whose ancestors never set `CurrentStep`, shared by all of them. One for the process,
 * like `CurrentStep` itself.
 */
export const sharedHolder: StepHolder = globalValue(
  Symbol.for("multi-agent-orchestration/CurrentStep/shared"),
  (): StepHolder => ({ step: undefined, callSpan: undefined })
)

// One FiberRef for the process, even when a workflow module loaded apart (the CLI's `run FILE`) brings its own
// copy of this module: its `Agent.run` must see the step the engine runs it for.
export const CurrentStep: FiberRef.FiberRef<StepHolder> = globalValue(
  Symbol.for("multi-agent-orchestration/CurrentStep"),
  () =>
    FiberRef.unsafeMake<StepHolder>(sharedHolder, {
      fork: (holder) => ({ step: holder.step, callSpan: holder.callSpan }),
      join: (parent) => parent
    })
)

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
    const telemetry = env.telemetry
    const traced = telemetry === undefined ? body : telemetry.step(step, body)
    return Effect.fork(traced).pipe(
      Effect.flatMap((fiber) => {
        // The child has a holder of its own (the run set `CurrentStep` at its root) and has not run yet:
        // pointing it at this step costs no FiberRef update.
        const holder = fiber.getFiberRef(CurrentStep)
        if (holder === sharedHolder) return Effect.dieMessage("runStep outside a run")
        holder.step = step
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
