/**
 * The journal of a durable run, as the engine sees it: what finished before (loaded once into a map, and
 * replayed instead of run), and what finishes now (queued, and written by one writer fiber in batches: each
 * write takes everything that queued up while the previous one ran, so that a fast run makes few, large
 * writes and a slow one loses at most the step that just finished).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { AgentResult } from "../../AgentResult.js"
import { BudgetExceeded } from "../../OrchestratorError.js"
import type { OrchestratorEvent } from "../../OrchestratorEvent.js"
import type * as Provider from "../../Provider.js"
import type { ProviderError } from "../../ProviderError.js"
import type { Batch, RunHeld, RunStoreError, Service as Store, StepRecord, StoredEvent } from "../../RunStore.js"
import { SubTask } from "../../SubTask.js"
import { SynthesisResult } from "../../SynthesisResult.js"
import type { Usage } from "../../Usage.js"
import { stopRun } from "../calls.js"
import { addUsage, chargeNode, emit, type Node } from "../env.js"
import { CurrentStep, type Step, type StepOutcome } from "../step.js"
import { unsafeMake } from "../unsafe.js"
import type { DurableOptions } from "./options.js"

/** A provider call as recorded: model, input tokens, output tokens, cached input tokens. */
type Call = readonly [model: string, input: number, output: number, cached?: number, cacheWrite?: number]

interface AgentRecord {
  readonly result: Record<string, unknown>
  readonly calls: ReadonlyArray<Call>
}

interface StepRecordData {
  readonly ok: boolean
  readonly value?: unknown
  readonly error?: string
  readonly errorTag?: string
  readonly seconds: number
  readonly attempts: number
  readonly model?: string | undefined
  readonly calls: ReadonlyArray<Call>
}

const encodeSubTask = Schema.encodeSync(SubTask)
const encodeSynthesis = Schema.encodeSync(SynthesisResult)
const decodeSynthesis = Schema.decodeUnknownSync(SynthesisResult)

/** A step's value as JSON-safe data, by the kind of step. */
const encodeValue = (kind: string, value: unknown): unknown => {
  if (kind === "decomposition") {
    const items = Array.isArray(value) ? value : (value as { subtasks: ReadonlyArray<unknown> }).subtasks
    const subtasks = items.map((item) => (item instanceof SubTask ? encodeSubTask(item) : item))
    return Array.isArray(value) ? subtasks : { ...(value as object), subtasks }
  }
  if (kind === "synthesis" && typeof value === "object" && value !== null) {
    const output = value as { readonly synthesisResults?: ReadonlyArray<SynthesisResult> | undefined }
    return output.synthesisResults === undefined
      ? value
      : { ...output, synthesisResults: output.synthesisResults.map((s) => encodeSynthesis(s)) }
  }
  return value
}

const decodeValue = (kind: string, value: unknown): unknown => {
  if (kind === "synthesis" && typeof value === "object" && value !== null) {
    const output = value as { readonly synthesisResults?: ReadonlyArray<unknown> | undefined }
    return output.synthesisResults === undefined
      ? value
      : { ...output, synthesisResults: output.synthesisResults.map((s) => decodeSynthesis(s)) }
  }
  return value
}

export interface Journal {
  readonly runId: string
  readonly store: Store
  readonly options: DurableOptions
  /** Ends the run at once, to wait for an approval with the process gone. */
  readonly suspend: (awaiting: { readonly step: string; readonly prompt: string }) => void
  /** Events of this process are numbered after the stored ones. */
  readonly sequenceOffset: number
  /** The records of steps that finished before, by key. */
  readonly replay: Map<string, StepRecord>
  /** Dollars replayed from the store (paid before the restart). */
  previousCost: number
  replayedSteps: number
  /** Set by an approval step that suspends the run. */
  awaiting: { readonly step: string; readonly prompt: string } | undefined
  readonly provider: (inner: Provider.Service) => Provider.Service
  /** Notes a call a step's agent made elsewhere (on a cluster runner), as `provider` does for calls made here. */
  readonly noteCall: (step: Step, model: string, usage: Usage) => void
  readonly sink: (inner: ((event: OrchestratorEvent) => void) | undefined) => (event: OrchestratorEvent) => void
  /** A stored agent result, with its calls charged to the run; undefined when it has to run. */
  readonly replayAgent: (node: Node, agentId: string, tier: string) => AgentResult | undefined
  readonly agentFinished: (result: AgentResult) => void
  readonly replayStep: <A>(step: Step) => StepOutcome<A> | undefined
  readonly stepFinished: (step: Step, outcome: StepOutcome<unknown>) => void
  /** Writes what is queued, repeatedly, until stopped. */
  readonly writer: Effect.Effect<never>
  /** Waits until everything queued so far is written; fails with the first write error. */
  readonly drain: Effect.Effect<void, RunStoreError | RunHeld>
  readonly progress: { value: number; cost: number; agents: number }
}

export const make = (options: {
  readonly runId: string
  readonly store: Store
  readonly durable: DurableOptions
  /** The lease holder: every write is made only while it holds the run. */
  readonly holder: string
  readonly onSuspend: () => void
  /** The lease was taken over: nothing more is written. */
  readonly onLost: (held: RunHeld) => void
  readonly steps: ReadonlyArray<StepRecord>
  readonly lastSequence: number
}): Journal => {
  const { runId, store } = options
  const replay = new Map<string, StepRecord>()
  for (const step of options.steps) replay.set(step.key, step)
  const calls = new Map<string, Array<Call>>()
  let pendingSteps: Array<StepRecord> = []
  let pendingEvents: Array<StoredEvent> = []
  let wake: ((effect: Effect.Effect<void>) => void) | undefined
  let writing = false
  let failure: RunStoreError | RunHeld | undefined
  const drained: Array<(effect: Effect.Effect<void, RunStoreError | RunHeld>) => void> = []
  const progress = { value: 0, cost: 0, agents: 0 }

  const notify = () => {
    if (wake !== undefined) {
      const resume = wake
      wake = undefined
      resume(Effect.void)
    }
  }
  const queueStep = (record: StepRecord) => {
    pendingSteps.push(record)
    notify()
  }

  const chargeCalls = (node: Node, step: { agentId: string; tier: string }, records: ReadonlyArray<Call>) => {
    const env = node.env
    let cost = 0
    for (const [model, inputTokens, outputTokens, cached, cacheWrite] of records) {
      const usage: Usage = {
        inputTokens,
        outputTokens,
        ...(cached === undefined ? {} : { cachedInputTokens: cached }),
        ...(cacheWrite === undefined ? {} : { cacheWriteInputTokens: cacheWrite })
      }
      addUsage(env, usage)
      // What was paid before the restart counts against the run's own budget, not again against the session's.
      const record = env.record
      if (record === undefined) {
        chargeNode(node, 0, usage)
        continue
      }
      const recorded = record({ model, usage, agentId: step.agentId, tier: step.tier })
      cost += recorded.cost
      chargeNode(node, recorded.cost, usage)
      const limit = env.config.maxTotalCost
      if (limit !== undefined) {
        if (recorded.exhausted) stopRun(env, new BudgetExceeded({ spent: recorded.total, limit, scope: "run" }))
        if (recorded.crossedWarning) {
          emit(node, "budget_warning", { spent: recorded.total, limit, threshold: env.config.budgetWarningThreshold }, step.agentId)
        }
      }
    }
    journal.previousCost += cost
    journal.replayedSteps++
    return cost
  }

  const takeCalls = (key: string): ReadonlyArray<Call> => {
    const taken = calls.get(key)
    if (taken === undefined) return []
    calls.delete(key)
    return taken
  }

  const writeOnce: Effect.Effect<void> = Effect.suspend(() => {
    if (pendingSteps.length === 0 && pendingEvents.length === 0) {
      writing = false
      for (const resume of drained.splice(0)) resume(failure === undefined ? Effect.void : Effect.fail(failure))
      return Effect.async<void>((resume) => {
        wake = resume
      })
    }
    writing = true
    const batch: Batch = {
      holder: options.holder,
      steps: pendingSteps,
      events: pendingEvents,
      progress: progress.value,
      cost: progress.cost,
      agents: progress.agents
    }
    pendingSteps = []
    pendingEvents = []
    // Once the lease is lost, what this process still finishes is dropped: the run is someone else's.
    if (failure?._tag === "RunHeld") return Effect.void
    return store.append(runId, batch).pipe(
      Effect.catchTag("RunHeld", (held) =>
        Effect.sync(() => {
          failure = held
          options.onLost(held)
        })),
      Effect.catchAll((error) =>
        Effect.zipRight(
          Effect.logWarning("A durable run could not write its journal", error.message),
          Effect.sync(() => {
            failure ??= error
          })
        )
      )
    )
  })

  // Every answered call of a step is noted, so that a step's record holds what it paid for.
  const note = (step: Step, model: string, usage: Usage) => {
    const call: Call = usage.cacheWriteInputTokens !== undefined
      ? [model, usage.inputTokens, usage.outputTokens, usage.cachedInputTokens ?? 0, usage.cacheWriteInputTokens]
      : usage.cachedInputTokens === undefined
      ? [model, usage.inputTokens, usage.outputTokens]
      : [model, usage.inputTokens, usage.outputTokens, usage.cachedInputTokens]
    const list = calls.get(step.agentId)
    if (list === undefined) calls.set(step.agentId, [call])
    else list.push(call)
  }

  const journal: Journal = {
    runId,
    store,
    options: options.durable,
    suspend: (awaiting) => {
      journal.awaiting = awaiting
      options.onSuspend()
    },
    sequenceOffset: options.lastSequence,
    replay,
    previousCost: 0,
    replayedSteps: 0,
    awaiting: undefined,
    progress,
    noteCall: (step, model, usage) => note(step, model, usage),
    provider: (inner) => {
      const complete = (request: Provider.CompletionRequest): Effect.Effect<Provider.Completion, ProviderError> =>
        Effect.withFiberRuntime<Provider.Completion, ProviderError>((fiber) => {
          const step = fiber.getFiberRef(CurrentStep).step
          if (step === undefined) return inner.complete(request)
          return Effect.tapBoth(inner.complete(request), {
            onSuccess: (completion) => Effect.sync(() => note(step, completion.model, completion.usage)),
            onFailure: (error) =>
              error.usage === undefined
                ? Effect.void
                : Effect.sync(() => note(step, request.model ?? inner.defaultModel, error.usage!))
          })
        })
      const streamOf = inner.stream
      const stream = streamOf === undefined ? undefined : (request: Provider.CompletionRequest) =>
        Stream.unwrap(Effect.withFiberRuntime<Stream.Stream<Provider.CompletionChunk, ProviderError>>((fiber) => {
          const step = fiber.getFiberRef(CurrentStep).step
          const chunks = streamOf(request)
          if (step === undefined) return Effect.succeed(chunks)
          return Effect.succeed(Stream.tap(chunks, (chunk) =>
            chunk._tag === "Finish"
              ? Effect.sync(() => note(step, chunk.completion.model, chunk.completion.usage))
              : Effect.void))
        }))
      return stream === undefined
        ? { name: inner.name, defaultModel: inner.defaultModel, complete }
        : { name: inner.name, defaultModel: inner.defaultModel, complete, stream }
    },
    sink: (inner) => (event) => {
      const numbered = event as { sequence: number }
      numbered.sequence += options.lastSequence
      progress.value = event.progress
      pendingEvents.push({ sequence: numbered.sequence, json: JSON.stringify(event) })
      notify()
      inner?.(event)
    },
    replayAgent: (node, agentId, tier) => {
      const stored = replay.get(agentId)
      if (stored === undefined) return undefined
      const record = JSON.parse(stored.record) as AgentRecord
      chargeCalls(node, { agentId, tier }, record.calls)
      return unsafeMake(AgentResult, record.result)
    },
    agentFinished: (result) => {
      if (result.status === "cancelled") return
      progress.agents++
      progress.cost += result.cost
      if (replay.has(result.agentId)) return
      const record: AgentRecord = { result: { ...result }, calls: takeCalls(result.agentId) }
      queueStep({ key: result.agentId, kind: "agent", record: JSON.stringify(record) })
    },
    replayStep: <A>(step: Step): StepOutcome<A> | undefined => {
      const stored = replay.get(step.agentId)
      if (stored === undefined) return undefined
      const record = JSON.parse(stored.record) as StepRecordData
      step.cost = chargeCalls(step.node, step, record.calls)
      progress.cost += step.cost
      for (const [, input, output, cached, cacheWrite] of record.calls) {
        step.inputTokens += input
        step.outputTokens += output
        step.cachedInputTokens += cached ?? 0
        step.cacheWriteInputTokens += cacheWrite ?? 0
      }
      step.attempts = record.attempts
      step.model = record.model
      return record.ok
        ? { _tag: "Done", value: decodeValue(stored.kind, record.value) as A, step, seconds: record.seconds }
        : {
          _tag: "Failed",
          error: record.error ?? "failed",
          errorTag: record.errorTag ?? "UnknownError",
          failure: undefined,
          cancelled: false,
          step,
          seconds: record.seconds
        }
    },
    stepFinished: (step, outcome) => {
      if (outcome._tag === "Failed" && outcome.cancelled) return
      progress.cost += step.cost
      const record: StepRecordData = {
        ok: outcome._tag === "Done",
        ...(outcome._tag === "Done"
          ? { value: encodeValue(step.tier, outcome.value) }
          : { error: outcome.error, errorTag: outcome.errorTag }),
        seconds: outcome.seconds,
        attempts: step.attempts,
        model: step.model,
        calls: takeCalls(step.agentId)
      }
      queueStep({ key: step.agentId, kind: step.tier, record: JSON.stringify(record) })
    },
    writer: Effect.forever(writeOnce),
    drain: Effect.suspend(() => {
      if (!writing && pendingSteps.length === 0 && pendingEvents.length === 0) {
        return failure === undefined ? Effect.void : Effect.fail(failure)
      }
      return Effect.async<void, RunStoreError | RunHeld>((resume) => {
        drained.push(resume)
        notify()
      })
    })
  }
  return journal
}
