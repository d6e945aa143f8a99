/**
 * Runs workflows: validates the input, decomposes, schedules the agents over the subtask DAG with the
 * concurrency limit, retries, timeouts, fallback model and budget, synthesises, and reports every step as an
 * event.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { identity } from "effect/Function"
import * as Stream from "effect/Stream"
import { type EventBuffer, makeEventBuffer } from "./internal/eventBuffer.js"
import { execute, prepare, type RunOptions } from "./internal/root.js"
import { InvalidConfig, type OrchestratorError } from "./OrchestratorError.js"
import { isTerminal, type OrchestratorEvent } from "./OrchestratorEvent.js"
import type { OrchestratorResult } from "./OrchestratorResult.js"
import type { Provider } from "./Provider.js"
import type { Workflow } from "./Workflow.js"
import * as Durable from "./internal/durable/run.js"
import type { DurableOptions } from "./internal/durable/options.js"
import type { ApprovalNotFound, DurableError, RunNotFound, RunStore, RunStoreError } from "./RunStore.js"


export type {
  /**
   * @since 0.1.0
   * @category Models
   */
  RunOptions
} from "./internal/root.js"

export type {
  /**
   * @since 0.2.0
   * @category Models
   */
  DurableOptions
} from "./internal/durable/options.js"

// Events reach `onEvent` through an unbounded queue read by a fiber of their own: a slow consumer never
// blocks an agent and never loses an event; the backlog waits in memory until it is read. The consumer takes
// whatever has queued up in one go, and calls a plain (non-Effect) callback without any Effect machinery.
const deliverOne = (onEvent: NonNullable<RunOptions["onEvent"]>, event: OrchestratorEvent): Effect.Effect<void> => {
  let out: Effect.Effect<void> | void
  try {
    out = onEvent(event)
  } catch (error) {
    return Effect.logWarning("onEvent threw; the run goes on", error)
  }
  return Effect.isEffect(out)
    ? Effect.catchAllCause(out, (cause) => Effect.logWarning("onEvent failed; the run goes on", cause))
    : Effect.void
}

const consume = (
  buffer: EventBuffer<OrchestratorEvent>,
  onEvent: NonNullable<RunOptions["onEvent"]>
): Effect.Effect<void> => {
  const deliverFrom = (events: ReadonlyArray<OrchestratorEvent>, start: number): Effect.Effect<void> => {
    for (let i = start; i < events.length; i++) {
      const event = events[i]!
      const delivered = deliverOne(onEvent, event)
      if (isTerminal(event)) return delivered
      if (delivered !== Effect.void) return Effect.zipRight(delivered, Effect.suspend(() => deliverFrom(events, i + 1)))
    }
    return loop
  }
  const loop: Effect.Effect<void> = Effect.flatMap(buffer.takeAll, (events) => deliverFrom(events, 0))
  return loop
}

/**
 * Runs a workflow on a task and returns its result.
 *
 * - Fails only with an `InvalidConfig`, before anything runs, when the configuration or options are invalid.
 * - Anything that goes wrong once the run has started ends in a result with status `failed` (and `error`,
 *   `failure`) that keeps what finished and what it cost; a failed agent is an `AgentResult` with status
 *   `failed`.
 * - Interrupting it interrupts every in-flight agent; `onEvent` then receives `workflow_cancelled`.
 *
 * @since 0.1.0
 * @category Running
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Orchestrator, Provider, SubTask, Workflow } from "multi-agent-orchestration"
 *
 * declare const workflow: Workflow.Workflow
 *
 * const program = Orchestrator.run(workflow, "Research quantum computing applications", {
 *   config: { maxConcurrentAgents: 3, maxRetries: 2 },
 *   onEvent: (event) => Effect.log(`[${event.type}] ${event.progress}%`)
 * }).pipe(Effect.provide(Provider.simulated()))
 * ```
 */
export const run: {
  <R>(
    workflow: Workflow<R>,
    task: string,
    options: RunOptions & { readonly durable: DurableOptions }
  ): Effect.Effect<OrchestratorResult, OrchestratorError | DurableError, Provider | R | RunStore>
  <R>(workflow: Workflow<R>, task: string, options?: RunOptions): Effect.Effect<OrchestratorResult, OrchestratorError, Provider | R>
} = <R>(workflow: Workflow<R>, task: string, options: RunOptions = {}) =>
  (options.durable === undefined
    ? runPlain(workflow, task, options)
    : Durable.run(workflow, task, { ...options, durable: options.durable }, runPlain)) as Effect.Effect<
      OrchestratorResult,
      OrchestratorError,
      Provider | R
    >

const runPlain = <R>(
  workflow: Workflow<R>,
  task: string,
  options: RunOptions
): Effect.Effect<OrchestratorResult, OrchestratorError, Provider | R> =>
  Effect.gen(function*() {
    const prepared = yield* prepare(workflow, task, options)
    const onEvent = options.onEvent
    if (onEvent === undefined) return yield* execute(workflow, prepared, options, undefined)
    const buffer = makeEventBuffer<OrchestratorEvent>()
    const consumer = yield* Effect.forkDaemon(consume(buffer, onEvent))
    // Wait for the consumer to deliver the last event, also when the run is interrupted.
    return yield* execute(workflow, prepared, options, buffer.push).pipe(
      Effect.ensuring(Fiber.join(consumer))
    )
  }).pipe(Effect.withSpan("Orchestrator.run", { attributes: { workflow: workflow.name }, captureStackTrace: false }))

/**
 * Runs a workflow and returns its events as a stream that ends with `workflow_complete`, `workflow_error` or
 * `workflow_cancelled` (whose `data.result` holds the `OrchestratorResult`). A consumer that stops early
 * interrupts the run and every in-flight agent.
 *
 * @since 0.1.0
 * @category Running
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Orchestrator, Provider, Workflow } from "multi-agent-orchestration"
 *
 * declare const workflow: Workflow.Workflow
 *
 * const program = Orchestrator.stream(workflow, "Compare three vector databases").pipe(
 *   Stream.runForEach((event) => Effect.log(event.type, event.progress)),
 *   Effect.provide(Provider.simulated())
 * )
 * ```
 */
export const stream = <R>(
  workflow: Workflow<R>,
  task: string,
  options: RunOptions = {}
): Stream.Stream<OrchestratorEvent, OrchestratorError, Provider | R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    if (options.durable !== undefined) {
      return yield* new InvalidConfig({ problems: ["durable runs go through Orchestrator.run (with onEvent for the events), not stream"] })
    }
    const prepared = yield* prepare(workflow, task, options)
    const buffer = makeEventBuffer<OrchestratorEvent>()
    yield* Effect.forkScoped(execute(workflow, prepared, options, buffer.push))
    const onEvent = options.onEvent
    return Stream.repeatEffectChunk(Effect.map(buffer.takeAll, Chunk.unsafeFromArray)).pipe(
      Stream.takeUntil(isTerminal),
      onEvent === undefined ? identity : Stream.tap((event) => deliverOne(onEvent, event))
    )
  }))

/**
 * Continues a durable run that stopped (a crash, a kill, Ctrl-C, an approval), from the `RunStore` in
 * context. Pass the same workflow: it is code, so the store keeps only its fingerprint, and a different
 * workflow, task or configuration fails with `RunMismatch`, naming what differs. The task and, unless given,
 * the configuration, context and title are the stored ones.
 *
 * - A step (decomposition, agent, synthesis, branch choice, iteration score) that finished before the stop
 *   is not run again: its stored result is used, and its cost is counted as paid before the restart
 *   (`result.metadata.durable.previousCost`; `resumedCost` is what this process paid).
 * - Steps that were in flight run again.
 * - A run that had finished returns its stored result and calls nothing.
 * - A run held by a live process fails with `RunHeld`.
 *
 * @since 0.2.0
 * @category Running
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { DreamCascade, Orchestrator, Provider, RunStore } from "multi-agent-orchestration"
 *
 * const workflow = DreamCascade.make({ belterCount: 3, drummerCount: 2, caminaCount: 1 })
 *
 * const program = Orchestrator.resume(workflow, "research-42").pipe(
 *   Effect.provide(Layer.merge(Provider.simulated(), RunStore.layerSqlite({ filename: ".orchestrate/runs.db" })))
 * )
 * ```
 */
export const resume = <R>(
  workflow: Workflow<R>,
  runId: string,
  options: Omit<RunOptions, "durable"> & { readonly durable?: Omit<DurableOptions, "runId"> | undefined } = {}
): Effect.Effect<OrchestratorResult, OrchestratorError | DurableError, Provider | R | RunStore> =>
  Durable.resume(workflow, runId, { ...options, durable: { ...options.durable, runId } }, runPlain).pipe(
    Effect.withSpan("Orchestrator.resume", { attributes: { workflow: workflow.name, runId }, captureStackTrace: false })
  )

/**
 * Decides a durable run's approval step: the run (waiting in its process, or resumed later) continues with
 * the decision. Approved, the step's output is the note (or "approved"), which later steps see; rejected,
 * the step fails with `ApprovalRejected`.
 *
 * @since 0.2.0
 * @category Running
 */
export const approve = (
  runId: string,
  step: string,
  decision: { readonly approved: boolean; readonly note?: string | undefined }
): Effect.Effect<void, RunNotFound | ApprovalNotFound | RunStoreError, RunStore> =>
  Durable.approve(runId, step, decision).pipe(Effect.withSpan("Orchestrator.approve", { captureStackTrace: false }))
