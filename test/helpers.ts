import { type Duration, Effect } from "effect"
import {
  type AgentResult,
  type OrchestratorEvent,
  Provider,
  type ProviderError,
  SubTask,
  Workflow
} from "multi-agent-orchestration"

/** Collects the events of a run, in order. */
export const recorder = () => {
  const events: Array<OrchestratorEvent.OrchestratorEvent> = []
  return {
    events,
    onEvent: (event: OrchestratorEvent.OrchestratorEvent) => {
      events.push(event)
    },
    types: () => events.map((event) => event.type),
    ofType: <T extends OrchestratorEvent.Type>(type: T) =>
      events.filter((event): event is OrchestratorEvent.Of<T> => event.type === type)
  }
}

/** What a scripted provider saw: every call with its start time, and how many ran at once. */
export interface CallLog {
  readonly calls: Array<{ readonly request: Provider.CompletionRequest; readonly startedAt: number }>
  inFlight: number
  maxInFlight: number
  interrupted: number
}

/**
 * A provider that answers `reply(request, call)` after `latency`, and records what happened; `reply` may
 * fail. Time comes from the Clock, so TestClock controls it.
 */
export const scripted = (options: {
  readonly latency?: Duration.DurationInput | ((request: Provider.CompletionRequest) => Duration.DurationInput)
  readonly reply?: (
    request: Provider.CompletionRequest,
    call: number
  ) => Effect.Effect<string, ProviderError.ProviderError>
  readonly usage?: { readonly inputTokens: number; readonly outputTokens: number }
} = {}) => {
  const log: CallLog = { calls: [], inFlight: 0, maxInFlight: 0, interrupted: 0 }
  const layer = Provider.make((request) =>
    Effect.gen(function*() {
      const startedAt = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
      log.calls.push({ request, startedAt })
      const call = log.calls.length
      log.inFlight++
      log.maxInFlight = Math.max(log.maxInFlight, log.inFlight)
      const latency = typeof options.latency === "function" ? options.latency(request) : options.latency
      if (latency !== undefined) yield* Effect.sleep(latency)
      const content = options.reply === undefined
        ? `answer to ${Provider.messagesOf(request).at(-1)?.content ?? ""}`
        : yield* options.reply(request, call)
      return {
        content,
        model: request.model ?? "test-model",
        usage: options.usage ?? { inputTokens: 100, outputTokens: 50 }
      }
    }).pipe(
      Effect.onInterrupt(() => Effect.sync(() => log.interrupted++)),
      Effect.ensuring(Effect.sync(() => log.inFlight--))
    ), { name: "scripted", defaultModel: "test-model" })
  return { log, layer }
}

/** A workflow over fixed subtasks whose agents each make one provider call with their description. */
export const fixedWorkflow = (
  subtasks: ReadonlyArray<SubTask.SubTask>,
  options: { readonly name?: string; readonly synthesize?: boolean } = {}
) =>
  Workflow.make({
    name: options.name ?? "fixed",
    decompose: () => Effect.succeed(subtasks),
    execute: (subtask, context) =>
      Effect.map(
        Provider.complete({
          prompt: [subtask.description, ...context.dependencies.map((d) => `${d.subtaskId}: ${d.content}`)].join("\n")
        }),
        (completion) => completion.content
      ),
    ...(options.synthesize === true
      ? {
        synthesize: (results: ReadonlyArray<AgentResult.AgentResult>) =>
          Effect.map(
            Provider.complete({ prompt: results.map((r) => r.content).join("\n") }),
            (completion) => completion.content
          )
      }
      : {})
  })

export const tasks = (...ids: ReadonlyArray<string | { id: string; dependencies?: Array<string>; priority?: number }>) =>
  ids.map((spec) =>
    typeof spec === "string"
      ? new SubTask.SubTask({ id: spec, description: `do ${spec}` })
      : new SubTask.SubTask({ description: `do ${spec.id}`, ...spec })
  )
