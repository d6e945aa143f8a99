/**
 * The runner's side of one agent, without any cluster code: finds the agents step in the workflow registry,
 * and runs the agent with the library's own engine (retries, fallback model, timeout, tool loop) on the
 * runner's provider, noting every provider call so that the submitter can charge it to the run.
 */
import type * as Tool from "@effect/ai/Tool"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { UnknownWorkflow } from "../../Cluster.js"
import * as DreamCascade from "../../DreamCascade.js"
import * as DreamSwarm from "../../DreamSwarm.js"
import { StepTimedOut } from "../../OrchestratorError.js"
import * as Provider from "../../Provider.js"
import { configuredRetry, meteredProvider } from "../calls.js"
import { agentResult } from "../agents.js"
import { makeDeltas } from "../deltas.js"
import { makeNode, type RunEnv } from "../env.js"
import { makePool } from "../pool.js"
import { CurrentStep, outcomeOf, Step } from "../step.js"
import type { Usage } from "../../Usage.js"
import type * as Workflow from "../../Workflow.js"
import { agentsAt } from "./paths.js"
import type { AgentEvent, AgentReply, AgentRequest } from "./wire.js"

/** The workflows a runner knows: the user's, by name, and the built-in presets rebuilt from their settings. */
export interface Registry {
  readonly find: (name: string, settings: unknown) => Workflow.Workflow<never> | undefined
  readonly names: ReadonlyArray<string>
}

type SwarmTools = DreamSwarm.SwarmTools<Record<string, Tool.Any>>

/**
 * The presets, rebuilt from the settings the submitter sent. A swarm's tools are not data: a swarm that
 * searches runs on runners given `swarmTools`, and is unknown elsewhere.
 */
const presetsWith = (swarmTools: SwarmTools | undefined): Record<string, (settings: Record<string, unknown>) => Workflow.Workflow<never> | undefined> => ({
  "dream-swarm": (settings) => {
    if (settings.tools === undefined) return DreamSwarm.make(settings) as Workflow.Workflow<never>
    if (swarmTools === undefined) return undefined
    const maxSteps = (settings.tools as { readonly maxSteps?: number | undefined }).maxSteps
    return DreamSwarm.make({ ...settings, tools: { ...swarmTools, maxSteps } }) as Workflow.Workflow<never>
  },
  "dream-cascade": (settings) => DreamCascade.make(settings) as Workflow.Workflow<never>
})

export const makeRegistry = (workflows: ReadonlyArray<Workflow.Workflow<never>>, swarmTools?: SwarmTools): Registry => {
  const presets = presetsWith(swarmTools)
  const byName = new Map(workflows.map((workflow) => [workflow.name, workflow]))
  const rebuilt = new Map<string, Workflow.Workflow<never>>()
  return {
    names: [...byName.keys()],
    find: (name, settings) => {
      const own = byName.get(name)
      if (own !== undefined) return own
      const preset = presets[name]
      if (preset === undefined) return undefined
      const key = `${name}\u0000${JSON.stringify(settings ?? {})}`
      let workflow = rebuilt.get(key)
      if (workflow === undefined) {
        workflow = preset(typeof settings === "object" && settings !== null ? settings as Record<string, unknown> : {})
        if (workflow !== undefined) rebuilt.set(key, workflow)
      }
      return workflow
    }
  }
}

/** The runner's provider, noting each answered call (failed ones that were billed too). */
const noting = (inner: Provider.Service, calls: Array<readonly [string, Usage]>): Provider.Service => {
  const complete = (request: Provider.CompletionRequest) =>
    Effect.tapBoth(inner.complete(request), {
      onSuccess: (completion) => Effect.sync(() => calls.push([completion.model, completion.usage])),
      onFailure: (error) =>
        error.usage === undefined
          ? Effect.void
          : Effect.sync(() => calls.push([request.model ?? inner.defaultModel, error.usage!]))
    })
  const streamOf = inner.stream
  if (streamOf === undefined) return { name: inner.name, defaultModel: inner.defaultModel, complete }
  const stream = (request: Provider.CompletionRequest) =>
    Stream.tap(streamOf(request), (chunk) =>
      chunk._tag === "Finish"
        ? Effect.sync(() => calls.push([chunk.completion.model, chunk.completion.usage]))
        : Effect.void)
  return { name: inner.name, defaultModel: inner.defaultModel, complete, stream }
}

/** The events of an agent that the submitter emits again; the rest it makes itself. */
const forwarded = new Set(["agent_retry", "agent_delta", "tool_call", "tool_result"])

/** A pool no agent here uses: the runner runs one agent per request, on the request's fiber. */
const noPool = makePool(1)

/**
 * Runs one agent as the engine would inside a run: its provider calls metered, retried and tried on the
 * fallback model by the engine's own call path, its events collected, its time bounded. Without a whole run
 * around it: no decomposition, no ledger (the submitter charges the calls), no budget (the submitter's holds).
 */
export const executeAgent = (
  registry: Registry,
  request: AgentRequest,
  runner: string,
  /** Takes the agent's events as they happen; without it, they go in the reply. */
  onEvent?: (event: AgentEvent) => void
): Effect.Effect<AgentReply, UnknownWorkflow, Provider.Provider> =>
  Effect.gen(function*() {
    const workflow = registry.find(request.workflow, request.settings)
    const target = workflow === undefined ? undefined : agentsAt(workflow, request.path)
    if (target === undefined) {
      return yield* new UnknownWorkflow({
        workflow: workflow === undefined ? request.workflow : `${request.workflow} (step ${request.path || "(root)"})`,
        runner,
        known: registry.names
      })
    }
    const provider = yield* Provider.Provider
    const clock = yield* Effect.clock
    const calls: Array<readonly [string, Usage]> = []
    const events: Array<AgentEvent> = []
    const sendOn = onEvent ?? ((event: AgentEvent) => void events.push(event))
    const subtask = request.subtask
    const config = request.config
    const env: RunEnv = {
      taskId: request.runId,
      config,
      provider: noting(provider, calls),
      tracker: undefined,
      record: undefined,
      session: undefined,
      pool: noPool,
      watchdog: undefined as never,
      retry: configuredRetry(config),
      clock,
      context: request.context as Readonly<Record<string, unknown>>,
      sink: (event) => {
        if (forwarded.has(event.type)) sendOn({ type: event.type, data: event.data })
      },
      deltas: request.streamTokens ? makeDeltas() : undefined,
      finished: [],
      usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0 },
      sequence: 0,
      progress: 0,
      budgetSpent: false,
      budgetStop: undefined,
      workflows: 0,
      telemetry: undefined
    }
    const node = makeNode(env, undefined, request.workflow, request.runId, "", 0)
    const tier = subtask.tier ?? subtask.agentType
    const step = new Step(node, request.agentId, subtask.id, tier, request.model)
    step.started = clock.unsafeCurrentTimeMillis()
    const seconds = subtask.timeoutSeconds ?? config.timeoutSeconds
    const body = target.execute(subtask, {
      task: request.task,
      context: env.context,
      config,
      previous: request.previous,
      agentId: request.agentId,
      model: request.model,
      dependencies: request.dependencies
    }) as Effect.Effect<Workflow.AgentOutput, unknown, Provider.Provider>
    const exit = yield* body.pipe(
      Effect.timeoutFail({ duration: Duration.seconds(seconds), onTimeout: () => new StepTimedOut({ seconds }) }),
      Effect.provideService(Provider.Provider, meteredProvider(env, () => step)),
      Effect.locally(CurrentStep, { step, callSpan: undefined }),
      Effect.exit
    )
    const outcome = outcomeOf(step, exit)
    return { result: agentResult(subtask, outcome), calls, runner, events }
  })

