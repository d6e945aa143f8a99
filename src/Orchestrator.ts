/**
 * Runs workflows: validates the input, decomposes, schedules the agents over the subtask DAG with the
 * concurrency limit, retries, timeouts, fallback model and budget, synthesises, and reports every step as an
 * event.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { identity } from "effect/Function"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { deliverOne, makeDelivery } from "./internal/delivery.js"
import { makeEventBuffer } from "./internal/eventBuffer.js"
import { execute, prepare } from "./internal/root.js"
import { TelemetrySettings } from "./internal/telemetry/run.js"
import type * as OrchestratorConfig from "./OrchestratorConfig.js"
import { InvalidConfig, type OrchestratorError } from "./OrchestratorError.js"
import { isTerminal, type OrchestratorEvent } from "./OrchestratorEvent.js"
import type { OrchestratorResult } from "./OrchestratorResult.js"
import type { Provider } from "./Provider.js"
import type { ProviderError } from "./ProviderError.js"
import type { Workflow } from "./Workflow.js"
import * as Durable from "./internal/durable/run.js"
import type { DurableOptions } from "./internal/durable/options.js"
import type { ApprovalNotFound, DurableError, RunNotFound, RunStore, RunStoreError } from "./RunStore.js"

/**
 * Options of `Orchestrator.run` and `Orchestrator.stream`. All are optional.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RunOptions {
  /** The configuration; every field is optional. Validated before anything runs. */
  readonly config?: OrchestratorConfig.Input | OrchestratorConfig.OrchestratorConfig | undefined
  /** The run's title, for events and reports. Default: the task, cut to 100 characters. */
  readonly title?: string | undefined
  /** Free-form values every step of the workflow can read. */
  readonly context?: Readonly<Record<string, unknown>> | undefined
  /**
   * Called with every event, in order (the README's `stream_callback`). A callback that returns nothing is
   * called as each event happens; once it returns an effect, that effect and the later events run on a fiber
   * of their own, so that a slow consumer never holds an agent back.
   */
  readonly onEvent?: ((event: OrchestratorEvent) => Effect.Effect<void> | void) | undefined
  /** The run's id. Default: a random UUID. */
  readonly taskId?: string | undefined
  /** When this effect completes, the run stops: in-flight agents are interrupted and the result is `cancelled`. */
  readonly cancelWhen?: Effect.Effect<unknown> | undefined
  /**
   * The retry policy of every provider call of the run. After each transient failure (see
   * `ProviderError.isTransient`) the schedule is stepped with the error: it says whether to try again and
   * after what delay, which is never shorter than a rate limit's `retryAfter`. Permanent errors are never
   * retried. Once the schedule is done, `fallbackModel` (if set) gets a fresh run of it.
   *
   * Default: `Retry.transientProviderErrors` built from the configuration's `maxRetries`,
   * `retryBaseDelaySeconds` and `retryMaxDelaySeconds`, with jitter.
   */
  readonly retry?: Schedule.Schedule<unknown, ProviderError> | undefined
  /**
   * How long `onEvent` may take, once `run` is interrupted or cancelled, to receive the events still queued
   * (`workflow_cancelled` last). Past it, `onEvent` is interrupted, a warning is logged, and `run` returns. A
   * run that ends on its own always waits until `onEvent` has received every event. (`stream` has no need of
   * it: there `onEvent` runs in the stream's consumer, and stopping the consumer stops the run at once.)
   * Default: 1 second (on the `Clock`).
   */
  readonly onEventGracePeriod?: Duration.DurationInput | undefined
  /**
   * Stream every provider call of the run (with the provider's `stream`) and send the text as it is written
   * in `agent_delta` events, at most one per agent per 50 ms. Default: false.
   */
  readonly streamTokens?: boolean | undefined
  /** Records the run in the `RunStore` in context as it goes, so that it can be resumed (see `resume`). */
  readonly durable?: DurableOptions | undefined
}

export type {
  /**
   * @since 0.2.0
   * @category Models
   */
  DurableOptions
} from "./internal/durable/options.js"

/**
 * Waits for `onEvent` to receive the last event. A run that ended on its own waits as long as that takes; a
 * cancelled or interrupted one only for the grace period, so that a stuck consumer cannot hold it.
 */
const finishDelivery = (
  consumer: Fiber.RuntimeFiber<void>,
  exit: Exit.Exit<OrchestratorResult>,
  gracePeriod: Duration.Duration
): Effect.Effect<void> => {
  const delivered = Effect.asVoid(Fiber.await(consumer))
  if (Exit.isSuccess(exit) && exit.value.status !== "cancelled") return delivered
  if (!Duration.isFinite(gracePeriod)) return delivered
  // Runs in the run's finalizer, which is uninterruptible: only the wait itself may be cut short.
  return Effect.interruptible(delivered).pipe(
    Effect.timeoutTo({
      duration: gracePeriod,
      onSuccess: () => Effect.void,
      onTimeout: () =>
        Effect.zipRight(
          Fiber.interruptFork(consumer),
          Effect.logWarning(
            `onEvent was cut off: it had not received the run's last events ${Duration.format(gracePeriod)} ` +
              "after the run stopped (see the onEventGracePeriod option)"
          )
        )
    }),
    Effect.flatten
  )
}

/**
 * Runs a workflow on a task and returns its result.
 *
 * - Fails only with an `InvalidConfig`, before anything runs, when the configuration or options are invalid.
 * - Anything that goes wrong once the run has started ends in a result with status `failed` (and `error`,
 *   `failure`) that keeps what finished and what it cost; a failed agent is an `AgentResult` with status
 *   `failed`.
 * - Interrupting it interrupts every in-flight agent; `onEvent` then receives `workflow_cancelled`, if it
 *   takes it within `onEventGracePeriod` (1 second by default): a stuck `onEvent` never holds the run.
 * - Calls are recorded in the `CostTracker` of the context too, when one is provided: several runs under one
 *   `CostTracker.layer` share its ledger and its budget.
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

// Effect's own tracer, in place when a program provides none: its spans go nowhere.
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/**
 * The run as a span, when spans go somewhere: under `Telemetry`'s layers, or a tracer the program provides.
 * Under Effect's default tracer no one reads it, and making one costs more than an agent's bookkeeping.
 */
const withRunSpan = (name: string, workflow: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(TelemetrySettings, (settings) =>
    Effect.tracerWith((tracer) =>
      settings.enabled || tracer !== nativeTracer
        ? Effect.withSpan(self, name, { attributes: { workflow }, captureStackTrace: false })
        : self
    ))

const runPlain = <R>(
  workflow: Workflow<R>,
  task: string,
  options: RunOptions
): Effect.Effect<OrchestratorResult, OrchestratorError, Provider | R> =>
  Effect.gen(function*() {
    const prepared = yield* prepare(workflow, task, options)
    const onEvent = options.onEvent
    if (onEvent === undefined) return yield* execute(workflow, prepared, options, undefined)
    const delivery = makeDelivery(onEvent)
    const consumer = yield* Effect.forkDaemon(delivery.consume)
    return yield* execute(workflow, prepared, options, delivery.push).pipe(
      Effect.onExit((exit) => delivery.settled() ? Effect.void : finishDelivery(consumer, exit, prepared.gracePeriod))
    )
  }).pipe(withRunSpan("Orchestrator.run", workflow.name))

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
    yield* Effect.forkScoped(
      execute(workflow, prepared, options, buffer.push).pipe(withRunSpan("Orchestrator.stream", workflow.name))
    )
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
