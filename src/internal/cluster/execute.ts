/**
 * The runner's side of one agent, without any cluster code: finds the agents step in the workflow registry,
 * and runs the agent with the library's own engine (retries, fallback model, timeout, tool loop) on the
 * runner's provider, noting every provider call so that the submitter can charge it to the run.
 */
import type * as Tool from "@effect/ai/Tool"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { AgentResult } from "../../AgentResult.js"
import { UnknownWorkflow } from "../../Cluster.js"
import * as DreamCascade from "../../DreamCascade.js"
import * as DreamSwarm from "../../DreamSwarm.js"
import * as Orchestrator from "../../Orchestrator.js"
import type { OrchestratorEvent } from "../../OrchestratorEvent.js"
import * as Provider from "../../Provider.js"
import { SubTask } from "../../SubTask.js"
import type { Usage } from "../../Usage.js"
import * as Workflow from "../../Workflow.js"
import { agentsAt } from "./paths.js"
import type { AgentReply, AgentRequest } from "./wire.js"

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

export const executeAgent = (
  registry: Registry,
  request: AgentRequest,
  runner: string
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
    const calls: Array<readonly [string, Usage]> = []
    const events: Array<{ readonly type: string; readonly data: unknown }> = []
    const subtask = request.subtask
    // One agent, run by the engine: the subtask alone (its dependencies' results come with the request).
    const single = new SubTask({ ...subtask, dependencies: [], model: request.model }, true)
    const context = request.context as Readonly<Record<string, unknown>>
    const agent = Workflow.fromDefinition<never>(request.workflow, {
      _tag: "Agents",
      maxParallel: undefined,
      decompose: () => Effect.succeed([single]),
      execute: (_, own) =>
        target.execute(subtask, {
          ...own,
          task: request.task,
          context,
          config: request.config,
          previous: request.previous,
          agentId: request.agentId,
          model: request.model,
          dependencies: request.dependencies
        }) as Effect.Effect<Workflow.AgentOutput, unknown, Provider.Provider>,
      synthesize: () => Effect.succeed("")
    })
    const { maxTotalCost: _, ...config } = request.config
    const result = yield* Orchestrator.run(agent, request.task, {
      config: { ...config, enableCostTracking: false, maxConcurrentAgents: 1 },
      context,
      taskId: request.runId,
      streamTokens: request.streamTokens,
      onEvent: (event: OrchestratorEvent) => {
        if (forwarded.has(event.type)) events.push({ type: event.type, data: event.data })
      }
    }).pipe(
      Effect.provideService(Provider.Provider, noting(provider, calls)),
      Effect.orDie
    )
    const agentResult: AgentResult | undefined = result.agentResults[0]
    if (agentResult === undefined) return yield* Effect.dieMessage(`the agent ${request.agentId} did not run: ${result.error}`)
    return { result: agentResult, calls, runner, events }
  })
