/**
 * A progress display for the terminal, fed with a run's events. On a TTY it redraws one live line: a bar,
 * the percentage, agents done out of planned, the agents running, the elapsed time and the cost so far. Off a
 * TTY (a log file, CI) it prints one plain line per notable event instead. It writes through
 * `@effect/platform`'s `Terminal` (`NodeTerminal.layer` in Node), and works as `Orchestrator.run`'s `onEvent`
 * or as a `Sink` of `Orchestrator.stream`.
 *
 * @since 0.1.0
 */
import * as Terminal from "@effect/platform/Terminal"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import { formatCost, formatSeconds } from "./Format.js"
import { isTerminal, type OrchestratorEvent } from "./OrchestratorEvent.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** Draw a live, redrawn bar (true) or print one line per notable event (false). Default: the terminal's `isTTY`. */
  readonly live?: boolean | undefined
  /** The width of the bar itself, in characters. Default 24. */
  readonly barWidth?: number | undefined
  /** How often the live bar is redrawn while no event comes, so that the elapsed time moves. Default 1 second. */
  readonly refresh?: Duration.DurationInput | undefined
}

/**
 * What the display knows of the run, from the events it has seen.
 *
 * @since 0.1.0
 * @category Models
 */
export interface State {
  readonly title: string | undefined
  /** Agents planned by the decompositions seen so far. */
  readonly planned: number
  /** Agents that finished, failed ones included. */
  readonly done: number
  readonly failed: number
  /** The agents running, in the order they started. */
  readonly running: ReadonlyArray<string>
  /** What the run is doing besides agents: planning, a synthesis. */
  readonly activity: string | undefined
  readonly progress: number
  /** US dollars spent so far, as far as the events tell. */
  readonly cost: number
  /** When the run started (epoch milliseconds), from `workflow_start`. */
  readonly startedAt: number | undefined
  /** The run's measured duration in seconds, from its terminal event (the result's `executionTime`). */
  readonly executionTime: number | undefined
  /** The terminal event, once the run is over. */
  readonly finished: OrchestratorEvent | undefined
}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const initial: State = {
  title: undefined,
  planned: 0,
  done: 0,
  failed: 0,
  running: [],
  activity: undefined,
  progress: 0,
  cost: 0,
  startedAt: undefined,
  executionTime: undefined,
  finished: undefined
}

/**
 * The state after one more event.
 *
 * @since 0.1.0
 * @category Functions
 */
export const update = (state: State, event: OrchestratorEvent): State => {
  const next = { ...state, progress: Math.max(state.progress, event.progress) }
  switch (event.type) {
    case "workflow_start":
      return event.parentId === undefined ? { ...next, title: event.data.title, startedAt: event.timestamp } : next
    case "decomposition_start":
      return { ...next, activity: "planning" }
    case "decomposition_complete":
      return { ...next, planned: next.planned + event.data.subtaskCount, activity: undefined }
    case "synthesis_start":
      return { ...next, activity: `synthesis (${event.data.level})` }
    case "synthesis_complete":
      return { ...next, activity: undefined }
    case "agent_start":
      return event.agentId === undefined ? next : { ...next, running: [...next.running, event.agentId] }
    case "agent_complete":
    case "agent_error": {
      const failed = event.type === "agent_error" ? 1 : 0
      return {
        ...next,
        running: next.running.filter((id) => id !== event.agentId),
        done: next.done + 1,
        failed: next.failed + failed,
        cost: next.cost + event.data.cost
      }
    }
    case "budget_warning":
      return { ...next, cost: Math.max(next.cost, event.data.spent) }
    case "workflow_complete":
    case "workflow_error":
    case "workflow_cancelled":
      return isTerminal(event)
        ? { ...next, running: [], cost: event.data.totalCost, executionTime: executionTimeOf(event, next), finished: event }
        : next
    default:
      return next
  }
}

/** The run's own measure of its duration, so that the progress display, summaries and reports agree. */
const executionTimeOf = (event: OrchestratorEvent, state: State): number | undefined => {
  if (event.type === "workflow_complete" || event.type === "workflow_error") return event.data.executionTime
  if (event.type === "workflow_cancelled" && event.data.result !== undefined) return event.data.result.executionTime
  return state.startedAt === undefined ? undefined : Math.max(0, event.timestamp - state.startedAt) / 1000
}

const bar = (progress: number, width: number): string => {
  const filled = Math.round((Math.min(100, Math.max(0, progress)) / 100) * width)
  return `${"█".repeat(filled)}${"░".repeat(width - filled)}`
}

const percent = (progress: number): string => `${Math.round(progress)}%`.padStart(4)

const runningList = (running: ReadonlyArray<string>, activity: string | undefined): string => {
  if (running.length === 0) return activity ?? "waiting"
  const shown = running.slice(0, 3).join(", ")
  return running.length > 3 ? `running ${shown} +${running.length - 3}` : `running ${shown}`
}

const outcome = (event: OrchestratorEvent): string => {
  switch (event.type) {
    case "workflow_complete":
      return "completed"
    case "workflow_error":
      // The error itself is for the summary that follows: a progress line stays one short line.
      return `failed (${event.data.reason})`
    case "workflow_cancelled":
      return "cancelled"
    default:
      return event.type
  }
}

const clip = (line: string, columns: number): string =>
  columns > 1 && line.length > columns - 1 ? `${line.slice(0, columns - 2)}…` : line

/**
 * The live line for a state at time `now` (epoch milliseconds), clipped to `columns` (0 for no limit).
 *
 * @since 0.1.0
 * @category Rendering
 * @example
 * ```ts
 * // "… [██████████░░░░░░░░░░░░░░]  42% · 3/7 agents · running t4, t5 · 12s · $0.0123"
 * ```
 */
export const render = (state: State, now: number, options: { readonly columns?: number; readonly barWidth?: number } = {}): string => {
  const planned = Math.max(state.planned, state.done + state.running.length)
  const elapsed = state.executionTime ?? (state.startedAt === undefined ? 0 : Math.max(0, now - state.startedAt) / 1000)
  const failed = state.failed > 0 ? ` (${state.failed} failed)` : ""
  const parts = [
    `[${bar(state.progress, options.barWidth ?? 24)}] ${percent(state.progress)}`,
    `${state.done}/${planned} agents${failed}`,
    state.finished === undefined ? runningList(state.running, state.activity) : outcome(state.finished),
    formatSeconds(elapsed),
    formatCost(state.cost)
  ]
  const mark = state.finished === undefined ? "…" : state.finished.type === "workflow_complete" ? "✔" : "✖"
  return clip(`${mark} ${parts.join(" · ")}`, options.columns ?? 0)
}

/**
 * The plain line for a notable event, or `undefined` for the others (agent starts, synthesis starts, ...).
 * `state` is the state after the event.
 *
 * @since 0.1.0
 * @category Rendering
 */
export const describe = (event: OrchestratorEvent, state: State): string | undefined => {
  const prefix = `[${percent(event.progress)}]`
  const of = `(${state.done}/${Math.max(state.planned, state.done + state.running.length)})`
  const line = (text: string) => `${prefix} ${text}`
  switch (event.type) {
    case "workflow_start":
      return event.parentId === undefined ? line(`started "${event.data.title}" (${event.data.workflow})`) : undefined
    case "decomposition_complete":
      return line(`planned ${event.data.subtaskCount} agents`)
    case "agent_complete":
      return line(`${event.agentId ?? event.data.subtaskId} done in ${formatSeconds(event.data.executionTime)}, ${formatCost(event.data.cost)} ${of}`)
    case "agent_error":
      return line(`${event.agentId ?? event.data.subtaskId} ${event.data.status}: ${event.data.error} ${of}`)
    case "agent_retry":
      return line(
        `${event.agentId ?? event.data.subtaskId} retry ${event.data.attempt} in ${formatSeconds(event.data.delayMillis / 1000)}: ${event.data.errorTag}`
      )
    case "iteration_complete":
      return line(`iteration ${event.data.iteration} done${event.data.converged ? ", converged" : ""}`)
    case "synthesis_complete":
      return line(`synthesis (${event.data.level}) done`)
    case "budget_warning":
      return line(`budget warning: ${formatCost(event.data.spent)} of ${formatCost(event.data.limit)} spent`)
    case "workflow_complete":
    case "workflow_error":
    case "workflow_cancelled": {
      if (!isTerminal(event)) return undefined
      const elapsed = formatSeconds(state.executionTime ?? 0)
      return line(`${outcome(event)}: ${state.done}/${Math.max(state.planned, state.done)} agents in ${elapsed}, ${formatCost(state.cost)}`)
    }
    default:
      return undefined
  }
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface ProgressBar {
  /** Shows one event; fits `Orchestrator.run`'s `onEvent` as it is. Never fails. */
  readonly onEvent: (event: OrchestratorEvent) => Effect.Effect<void>
  /** The same as a `Sink`, for `Orchestrator.stream`. */
  readonly sink: Sink.Sink<void, OrchestratorEvent>
  /** What the display knows now. */
  readonly state: Effect.Effect<State>
}

const hideCursor = "\x1b[?25l"
const showCursor = "\x1b[?25h"
const redrawLine = "\r\x1b[2K"

/**
 * A progress display on the `Terminal`, for the life of the scope. A live bar hides the cursor while it runs
 * and leaves its last line on screen; closing the scope before the run ends puts the cursor back.
 *
 * @since 0.1.0
 * @category Constructors
 * @example
 * ```ts
 * import { NodeTerminal } from "@effect/platform-node"
 * import { Effect } from "effect"
 * import { Orchestrator, ProgressBar, Provider, Workflow } from "multi-agent-orchestration"
 *
 * declare const workflow: Workflow.Workflow
 *
 * const program = Effect.gen(function*() {
 *   const bar = yield* ProgressBar.make()
 *   return yield* Orchestrator.run(workflow, "Survey battery chemistries", { onEvent: bar.onEvent })
 * }).pipe(Effect.scoped, Effect.provide([Provider.simulated(), NodeTerminal.layer]))
 * ```
 */
export const make = (options: Options = {}): Effect.Effect<ProgressBar, never, Terminal.Terminal | Scope.Scope> =>
  Effect.gen(function*() {
    const terminal = yield* Terminal.Terminal
    const live = options.live ?? (yield* terminal.isTTY)
    const refresh = Duration.decode(options.refresh ?? "1 second")
    const barWidth = options.barWidth ?? 24
    const lock = yield* Effect.makeSemaphore(1)
    let state = initial
    let drawn = false
    let closed = false

    const display = (text: string) => Effect.ignore(terminal.display(text))
    const draw = lock.withPermits(1)(Effect.gen(function*() {
      if (closed) return
      const now = yield* Clock.currentTimeMillis
      const columns = yield* terminal.columns
      const line = render(state, now, { columns, barWidth })
      const opening = drawn ? "" : hideCursor
      drawn = true
      closed = state.finished !== undefined
      yield* display(state.finished === undefined ? `${opening}${redrawLine}${line}` : `${opening}${redrawLine}${line}\n${showCursor}`)
    }))

    if (live) {
      yield* Effect.addFinalizer(() => (drawn && !closed ? display(`\n${showCursor}`) : Effect.void))
      // Keeps the elapsed time moving while no event comes.
      yield* Effect.forkScoped(Effect.forever(Effect.zipRight(
        Effect.sleep(refresh),
        Effect.suspend(() => (state.startedAt !== undefined && state.finished === undefined ? draw : Effect.void))
      )))
    }

    const onEvent = (event: OrchestratorEvent): Effect.Effect<void> =>
      Effect.suspend(() => {
        // Streamed text changes nothing the line shows: the bar is not redrawn for it.
        if (state.finished !== undefined || event.type === "agent_delta") return Effect.void
        state = update(state, event)
        if (live) return draw
        const line = describe(event, state)
        return line === undefined ? Effect.void : display(`${line}\n`)
      })

    return { onEvent, sink: Sink.forEach(onEvent), state: Effect.sync(() => state) }
  })

/**
 * A progress display as a `Sink` of a run's events, for `Orchestrator.stream(...).pipe(Stream.run(ProgressBar.sink()))`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const sink = (options: Options = {}): Sink.Sink<void, OrchestratorEvent, never, never, Terminal.Terminal> =>
  Sink.unwrapScoped(Effect.map(make(options), (bar) => bar.sink))
