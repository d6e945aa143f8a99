import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type { AgentResult } from "../AgentResult.js"
import * as CostTracker from "../CostTracker.js"
import type { RunOptions } from "../Orchestrator.js"
import * as OrchestratorConfig from "../OrchestratorConfig.js"
import { InvalidConfig, WorkflowCancelled } from "../OrchestratorError.js"
import type { OrchestratorEvent } from "../OrchestratorEvent.js"
import { OrchestratorResult } from "../OrchestratorResult.js"
import * as Pricing from "../Pricing.js"
import * as Provider from "../Provider.js"
import type { Usage } from "../Usage.js"
import type * as Workflow from "../Workflow.js"
import { emit, makeNode, type Node, type RunEnv } from "./env.js"
import { interpret } from "./interpret.js"
import type { Outcome } from "./outcome.js"
import { makeDeltas } from "./deltas.js"
import { makePool } from "./pool.js"
import { configuredRetry, meteredProvider } from "./calls.js"
import { runScheduler } from "./runScheduler.js"
import { CurrentStep, Step } from "./step.js"
import { recorderOf } from "./trackers.js"
import { annotateRun, makeRunTelemetry } from "./telemetry/run.js"
import { makeWatchdog } from "./watchdog.js"
import { durableMetadata, journalOf } from "./durable/options.js"
import { RemoteAgents } from "./cluster/remote.js"

/** A run whose inputs are valid, ready to execute. */
export interface Prepared {
  readonly config: OrchestratorConfig.OrchestratorConfig
  readonly task: string
  readonly title: string
  readonly taskId: string
  /** The `CostTracker` provided to the run, if any: the session's ledger. */
  readonly session: CostTracker.Service | undefined
  /** How long `onEvent` may take to receive the last events once the run is cancelled. */
  readonly gracePeriod: Duration.Duration
}

const defaultGracePeriod = Duration.seconds(1)

const gracePeriodOf = (input: Duration.DurationInput | undefined, problems: Array<string>): Duration.Duration => {
  if (input === undefined) return defaultGracePeriod
  // `Duration` reads a negative or NaN input as zero; here it is a mistake to report.
  const negative = typeof input === "number" ? !(input >= 0) : typeof input === "string" && input.trim().startsWith("-")
  const decoded = negative ? Option.none() : Duration.decodeUnknown(input)
  if (Option.isSome(decoded)) return decoded.value
  problems.push(`onEventGracePeriod must be a duration of 0 or more, got ${JSON.stringify(String(input))}`)
  return defaultGracePeriod
}

// Four random words, drawn in order from the `Random` service (a seeded one gives the same ids). Two pairs
// rather than `Effect.all`, whose general machinery costs more than the rest of a run's preparation.
const word = Random.nextIntBetween(0, 0x1_0000_0000)
const hexOf = (a: number, b: number) => a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0")
const pair = Effect.zipWith(word, word, hexOf)
const uuid = Effect.zipWith(pair, pair, (first, second) => {
  const hex = first + second
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
})

/** Validates everything that can be checked before a run starts; fails with every problem at once. */
export const prepare = (
  workflow: Workflow.Workflow<unknown>,
  task: string,
  options: RunOptions
): Effect.Effect<Prepared, InvalidConfig> =>
  Effect.gen(function*() {
    const problems: Array<string> = [...workflow.problems]
    if (typeof task !== "string" || task.trim() === "") problems.push("task must be a non-empty string")
    if (options.taskId !== undefined && options.taskId.trim() === "") problems.push("taskId must not be empty")
    const config = yield* OrchestratorConfig.decode(options.config).pipe(
      Effect.catchTag("InvalidConfig", (error) => {
        problems.push(...error.problems)
        return Effect.succeed(OrchestratorConfig.defaults)
      })
    )
    const gracePeriod = gracePeriodOf(options.onEventGracePeriod, problems)
    const session = Option.getOrUndefined(yield* Effect.serviceOption(CostTracker.CostTracker))
    if (session !== undefined && !config.enableCostTracking) {
      problems.push(
        "enableCostTracking must not be false under a CostTracker layer: the run would escape its ledger and budget"
      )
    }
    if (problems.length > 0) return yield* new InvalidConfig({ problems })
    const taskId = options.taskId ?? (yield* uuid)
    const title = options.title ?? (task.length > 100 ? `${task.slice(0, 97)}...` : task)
    return { config, task, title, taskId, session, gracePeriod }
  })

const isoTime = (millis: number): string => new Date(millis).toISOString()

const usageOfRun = ({ usage }: RunEnv): Usage => ({
  inputTokens: usage.inputTokens,
  outputTokens: usage.outputTokens,
  ...(usage.cachedInputTokens > 0 ? { cachedInputTokens: usage.cachedInputTokens } : {}),
  ...(usage.cacheWriteInputTokens > 0 ? { cacheWriteInputTokens: usage.cacheWriteInputTokens } : {})
})

const buildResult = (
  env: RunEnv,
  prepared: Prepared,
  started: number,
  outcome: Pick<Outcome, "status" | "agentResults" | "synthesisResults" | "finalSynthesis" | "failure" | "metadata">
): Effect.Effect<OrchestratorResult> =>
  Effect.gen(function*() {
    const costs = env.tracker === undefined ? undefined : yield* env.tracker.summary
    const now = env.clock.unsafeCurrentTimeMillis()
    return new OrchestratorResult({
      taskId: prepared.taskId,
      title: prepared.title,
      status: outcome.status,
      agentResults: outcome.agentResults,
      synthesisResults: outcome.synthesisResults,
      finalSynthesis: outcome.finalSynthesis,
      executionTime: (now - started) / 1000,
      totalCost: costs?.total.cost ?? 0,
      usage: usageOfRun(env),
      costs,
      documents: [],
      error: outcome.failure?.message,
      failure: outcome.failure,
      startedAt: isoTime(started),
      completedAt: isoTime(now),
      metadata: { ...outcome.metadata, config: { ...prepared.config }, ...durableMetadata(env, costs?.total.cost ?? 0) }
    }, true)
  })

const cancelledResult = (env: RunEnv, prepared: Prepared, started: number, reason: string) =>
  buildResult(env, prepared, started, {
    status: "cancelled",
    agentResults: [...env.finished] as ReadonlyArray<AgentResult>,
    synthesisResults: [],
    finalSynthesis: undefined,
    failure: new WorkflowCancelled({ reason }),
    metadata: { completedAgents: env.finished.filter((r) => r.status === "completed").length }
  })

const emitTerminal = (node: Node, result: OrchestratorResult): void => {
  const env = node.env
  if (result.status === "completed") {
    env.progress = 100
    emit(node, "workflow_complete", {
      status: result.status,
      executionTime: result.executionTime,
      totalCost: result.totalCost,
      usage: result.usage,
      result
    })
  } else if (result.status === "cancelled") {
    emit(node, "workflow_cancelled", {
      reason: result.failure?._tag === "WorkflowCancelled" ? result.failure.reason : "cancelled",
      completedAgents: result.agentResults.filter((r) => r.status === "completed").length,
      agentResults: result.agentResults,
      totalCost: result.totalCost,
      result
    })
  } else {
    emit(node, "workflow_error", {
      error: result.error ?? "failed",
      reason: result.failure?._tag ?? "Failed",
      executionTime: result.executionTime,
      totalCost: result.totalCost,
      result
    })
  }
}

/**
 * Runs a prepared workflow to its end and emits its terminal event. Interrupting it interrupts every agent,
 * then emits `workflow_cancelled` with what had finished.
 */
export const execute = <R>(
  workflow: Workflow.Workflow<R>,
  prepared: Prepared,
  options: RunOptions,
  sink: ((event: OrchestratorEvent) => void) | undefined
): Effect.Effect<OrchestratorResult, never, Provider.Provider | R> =>
  Effect.gen(function*() {
    const { config } = prepared
    const provider = yield* Provider.Provider
    const tracker = config.enableCostTracking
      ? yield* CostTracker.make({
        maxTotalCost: config.maxTotalCost,
        warningThreshold: config.budgetWarningThreshold,
        pricing: yield* Pricing.Pricing,
        byAgent: false
      })
      : undefined
    const clock = yield* Effect.clock
    const telemetry = yield* makeRunTelemetry(prepared.taskId, provider, config, clock)
    yield* annotateRun(telemetry)
    const started = clock.unsafeCurrentTimeMillis()
    const journal = journalOf(options)
    const env: RunEnv = {
      taskId: prepared.taskId,
      config,
      provider,
      tracker,
      record: tracker === undefined ? undefined : recorderOf(tracker),
      session: prepared.session,
      pool: makePool(config.concurrency),
      watchdog: yield* makeWatchdog(clock),
      retry: options.retry ?? configuredRetry(config),
      clock,
      context: options.context ?? {},
      sink: journal === undefined ? sink : journal.sink(sink),
      journal,
      deltas: options.streamTokens === true && sink !== undefined ? makeDeltas() : undefined,
      finished: [],
      usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0 },
      sequence: 0,
      progress: 0,
      budgetSpent: false,
      budgetStop: undefined,
      workflows: 0,
      telemetry,
      remote: Option.getOrUndefined(yield* Effect.serviceOption(RemoteAgents))?.forRun(workflow as Workflow.Workflow<never>)
    }
    // The top-level workflow gets 99 points of progress; the last one is workflow_complete's.
    const root: Node = makeNode(env, undefined, workflow.name, prepared.taskId, "", 99)

    // Every provider call of the run goes through the metered provider, charged to the step that makes it.
    let unattributed: Step | undefined
    const metered = meteredProvider(env, () =>
      unattributed ??= new Step(root, "(unattributed)", "(unattributed)", "other", provider.defaultModel))

    let cancelReason = "interrupted"
    let cancelled: OrchestratorResult | undefined
    const run = Effect.gen(function*() {
      yield* env.watchdog.start
      emit(root, "workflow_start", { task: prepared.task, title: prepared.title, workflow: workflow.name })
      const body = interpret(root, workflow, { task: prepared.task, context: env.context, previous: [] })
      const outcome = yield* (telemetry === undefined ? body : telemetry.workflow(root, body))
      const result = yield* buildResult(env, prepared, started, outcome)
      emitTerminal(root, result)
      return result
    }).pipe(
      Effect.provideService(Provider.Provider, metered),
      // Set here so that each fiber forked inside the run gets a holder of its own for free (see the pool).
      Effect.locally(CurrentStep, { step: undefined, callSpan: undefined }),
      // Every fiber of the run shares one task queue (see `runScheduler`).
      Effect.withScheduler(runScheduler),
      // Spans made inside the run get real parents in place of `currentWork` (see `CurrentWorkSpan`).
      (run) => telemetry?.tracer === undefined ? run : Effect.withTracer(run, telemetry.tracer),
      // Ending the run ends its agents: an interrupted run interrupts every one and waits for them, before the
      // cancellation event is built, so that event holds exactly what finished.
      Effect.onExit((exit) =>
        Effect.zipRight(
          env.watchdog.stop,
          Exit.isSuccess(exit)
            ? Effect.sync(() => env.pool.close())
            : Effect.tap(env.pool.interruptAll, () => telemetry?.runEnded())
        )
      ),
      Effect.onInterrupt(() =>
        Effect.map(cancelledResult(env, prepared, started, cancelReason), (result) => {
          cancelled = result
          emitTerminal(root, result)
        })
      )
    )

    if (options.cancelWhen === undefined) return yield* run
    return yield* Effect.raceWith(run, options.cancelWhen, {
      onSelfDone: (exit, signal) => Effect.zipRight(Fiber.interrupt(signal), exit),
      onOtherDone: (_, running) => {
        cancelReason = "cancelWhen fired"
        return Effect.flatMap(Fiber.interrupt(running), () =>
          cancelled === undefined
            ? cancelledResult(env, prepared, started, cancelReason)
            : Effect.succeed(cancelled))
      }
    })
  })
