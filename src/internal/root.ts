import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import type { AgentResult } from "../AgentResult.js"
import * as CostTracker from "../CostTracker.js"
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
import { meteredProvider, Step } from "./step.js"
import { makeWatchdog } from "./watchdog.js"
import { generateDocuments } from "./documents.js"

/** Options of `Orchestrator.run` and `Orchestrator.stream`. */
export interface RunOptions {
  /** The configuration; every field is optional. Validated before anything runs. */
  readonly config?: OrchestratorConfig.Input | OrchestratorConfig.OrchestratorConfig | undefined
  /** The run's title, for events and reports. Default: the task, cut to 100 characters. */
  readonly title?: string | undefined
  /** Free-form values every step of the workflow can read. */
  readonly context?: Readonly<Record<string, unknown>> | undefined
  /** Called with every event, in order, on its own fiber (the README's `stream_callback`). */
  readonly onEvent?: ((event: OrchestratorEvent) => Effect.Effect<void> | void) | undefined
  /** The run's id. Default: a random UUID. */
  readonly taskId?: string | undefined
  /** When this effect completes, the run stops: in-flight agents are interrupted and the result is `cancelled`. */
  readonly cancelWhen?: Effect.Effect<unknown> | undefined
  /**
   * Stream every provider call of the run (with the provider's `stream`) and send the text as it is written
   * in `agent_delta` events, at most one per agent per 50 ms. Default: false.
   */
  readonly streamTokens?: boolean | undefined
}

/** A run whose inputs are valid, ready to execute. */
export interface Prepared {
  readonly config: OrchestratorConfig.OrchestratorConfig
  readonly task: string
  readonly title: string
  readonly taskId: string
}

const uuid = Effect.map(
  Effect.all(Array.from({ length: 4 }, () => Random.nextIntBetween(0, 0x1_0000_0000))),
  (words) => {
    const hex = words.map((w) => w.toString(16).padStart(8, "0")).join("")
    const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
  }
)

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
    if (problems.length > 0) return yield* new InvalidConfig({ problems })
    const taskId = options.taskId ?? (yield* uuid)
    const title = options.title ?? (task.length > 100 ? `${task.slice(0, 97)}...` : task)
    return { config, task, title, taskId }
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
      metadata: { ...outcome.metadata, config: { ...prepared.config } }
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
      documentCount: result.documents.length,
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
        pricing: yield* Pricing.Pricing
      })
      : undefined
    const clock = yield* Effect.clock
    const started = clock.unsafeCurrentTimeMillis()
    const env: RunEnv = {
      taskId: prepared.taskId,
      config,
      provider,
      tracker,
      pool: makePool(config.concurrency),
      watchdog: yield* makeWatchdog(clock),
      retryPolicy: {
        maxRetries: config.maxRetries,
        baseDelay: Duration.seconds(config.retryBaseDelaySeconds),
        maxDelay: Duration.seconds(config.retryMaxDelaySeconds)
      },
      clock,
      context: options.context ?? {},
      sink,
      deltas: options.streamTokens === true && sink !== undefined ? makeDeltas() : undefined,
      finished: [],
      usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0 },
      sequence: 0,
      progress: 0,
      budgetSpent: false,
      workflows: 0
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
      emit(root, "workflow_start", { task: prepared.task, title: prepared.title, workflow: workflow.name })
      const outcome = yield* interpret(root, workflow, { task: prepared.task, context: env.context, previous: [] })
      const result = yield* buildResult(env, prepared, started, outcome)
      return yield* Effect.tap(generateDocuments(root, result), (final) => emitTerminal(root, final))
    }).pipe(
      Effect.provideService(Provider.Provider, metered),
      // Ending the run ends its agents: an interrupted run interrupts every one and waits for them, before the
      // cancellation event is built, so that event holds exactly what finished.
      Effect.onExit((exit) =>
        Effect.zipRight(env.watchdog.stop, Exit.isSuccess(exit) ? Effect.sync(() => env.pool.close()) : env.pool.interruptAll)
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
