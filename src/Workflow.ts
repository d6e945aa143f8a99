/**
 * A workflow is a description of multi-agent work: how to break a task into subtasks, how an agent executes
 * one, and how to synthesise the results. It runs nothing by itself; `Orchestrator.run` interprets it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import type { AgentResult } from "./AgentResult.js"
import type { OrchestratorConfig } from "./OrchestratorConfig.js"
import type { Provider } from "./Provider.js"
import type { SubTask } from "./SubTask.js"
import type { SynthesisResult } from "./SynthesisResult.js"

/**
 * @since 0.1.0
 * @category Type IDs
 */
export const TypeId: unique symbol = Symbol.for("multi-agent-orchestration/Workflow")

/**
 * @since 0.1.0
 * @category Type IDs
 */
export type TypeId = typeof TypeId

/**
 * What every step of a workflow can see about its run.
 *
 * @since 0.1.0
 * @category Models
 */
export interface RunContext {
  /** The task the workflow was asked to do. */
  readonly task: string
  /** The run's context (`Orchestrator.run`'s `context` option), plus what enclosing workflows added. */
  readonly context: Readonly<Record<string, unknown>>
  readonly config: OrchestratorConfig
}

/**
 * What an agent sees when it executes its subtask.
 *
 * @since 0.1.0
 * @category Models
 */
export interface AgentContext extends RunContext {
  readonly agentId: string
  /** The model the agent's provider calls use unless they name one. */
  readonly model: string
  /** The results of this subtask's dependencies, in the order of `subtask.dependencies`; failed ones too. */
  readonly dependencies: ReadonlyArray<AgentResult>
}

/**
 * What the synthesis sees besides the agent results.
 *
 * @since 0.1.0
 * @category Models
 */
export interface SynthesisContext extends RunContext {
  readonly subtasks: ReadonlyArray<SubTask>
  /** The model the synthesis's provider calls use unless they name one. */
  readonly model: string
}

/**
 * A subtask, as an instance or as the plain fields (decoded, with defaults, before any agent runs).
 *
 * @since 0.1.0
 * @category Models
 */
export type SubTaskInput = SubTask | typeof SubTask.Encoded

/**
 * What a decomposition returns: the subtasks, or the subtasks with a note (for example that the model's reply
 * was unusable and default subtasks were used instead; the note goes into `decomposition_complete`).
 *
 * @since 0.1.0
 * @category Models
 */
export type DecompositionOutput =
  | ReadonlyArray<SubTaskInput>
  | { readonly subtasks: ReadonlyArray<SubTaskInput>; readonly fallbackReason?: string | undefined }

/**
 * What an agent returns: its text, or its text with metadata for its `AgentResult`.
 *
 * @since 0.1.0
 * @category Models
 */
export type AgentOutput =
  | string
  | { readonly content: string; readonly metadata?: Readonly<Record<string, unknown>> | undefined }

/**
 * What a synthesis returns: the final text, or the final text with intermediate syntheses and metadata.
 *
 * @since 0.1.0
 * @category Models
 */
export type SynthesisOutput =
  | string
  | {
    readonly finalSynthesis: string
    readonly synthesisResults?: ReadonlyArray<SynthesisResult> | undefined
    readonly metadata?: Readonly<Record<string, unknown>> | undefined
  }

/**
 * The three functions of a custom workflow (the README's custom orchestrator). Each may call
 * `Provider.complete`; the orchestrator meters, retries and time-bounds those calls.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Agents<R> {
  readonly _tag: "Agents"
  readonly decompose: (task: string, context: RunContext) => Effect.Effect<DecompositionOutput, unknown, R | Provider>
  readonly execute: (subtask: SubTask, context: AgentContext) => Effect.Effect<AgentOutput, unknown, R | Provider>
  readonly synthesize: (
    results: ReadonlyArray<AgentResult>,
    context: SynthesisContext
  ) => Effect.Effect<SynthesisOutput, unknown, R | Provider>
}

/**
 * The shapes a workflow can take.
 *
 * @since 0.1.0
 * @category Models
 */
export type Definition<R> = Agents<R>

/**
 * A workflow needing services `R` (besides the `Provider`, which the orchestrator supplies).
 *
 * @since 0.1.0
 * @category Models
 */
export interface Workflow<out R = never> extends Pipeable {
  readonly [TypeId]: { readonly _R: (_: never) => R }
  readonly name: string
  readonly definition: Definition<R>
}

/**
 * @since 0.1.0
 * @category Guards
 */
export const isWorkflow = (u: unknown): u is Workflow<unknown> => typeof u === "object" && u !== null && TypeId in u

const proto = {
  [TypeId]: { _R: (_: never) => _ },
  pipe() {
    return pipeArguments(this, arguments)
  }
}

/**
 * Builds a workflow value from a definition. Combinators use it; most users want `make`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const fromDefinition = <R>(name: string, definition: Definition<R>): Workflow<R> => {
  const workflow = Object.create(proto)
  workflow.name = name
  workflow.definition = definition
  return workflow
}

/**
 * The default synthesis: every completed agent's content under a heading with its subtask id.
 *
 * @since 0.1.0
 * @category Functions
 */
export const joinResults = (results: ReadonlyArray<AgentResult>): string =>
  results
    .filter((result) => result.status === "completed")
    .map((result) => `## ${result.subtaskId}\n\n${result.content.trim()}`)
    .join("\n\n")

/**
 * A custom workflow: decompose the task into subtasks, execute each with an agent, synthesise the results.
 * Without `synthesize`, the completed agents' contents are joined under headings.
 *
 * @since 0.1.0
 * @category Constructors
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Provider, SubTask, Workflow } from "multi-agent-orchestration"
 *
 * const research = Workflow.make({
 *   name: "research",
 *   decompose: (task) =>
 *     Effect.succeed([
 *       new SubTask({ id: "research", description: `Research: ${task}`, agentType: "researcher" }),
 *       new SubTask({ id: "analyze", description: "Analyze findings", agentType: "analyst", dependencies: ["research"] })
 *     ]),
 *   execute: (subtask, { dependencies }) =>
 *     Provider.complete({
 *       prompt: [subtask.description, ...dependencies.map((d) => d.content)].join("\n\n")
 *     }).pipe(Effect.map((completion) => completion.content)),
 *   synthesize: (results) => Effect.succeed(results.map((r) => r.content).join("\n\n"))
 * })
 * ```
 */
export const make = <E1, R1, E2, R2, E3 = never, R3 = never>(spec: {
  readonly name: string
  readonly decompose: (task: string, context: RunContext) => Effect.Effect<DecompositionOutput, E1, R1>
  readonly execute: (subtask: SubTask, context: AgentContext) => Effect.Effect<AgentOutput, E2, R2>
  readonly synthesize?:
    | ((results: ReadonlyArray<AgentResult>, context: SynthesisContext) => Effect.Effect<SynthesisOutput, E3, R3>)
    | undefined
}): Workflow<Exclude<R1 | R2 | R3, Provider>> =>
  fromDefinition<Exclude<R1 | R2 | R3, Provider>>(spec.name, {
    _tag: "Agents",
    decompose: spec.decompose as Agents<Exclude<R1 | R2 | R3, Provider>>["decompose"],
    execute: spec.execute as Agents<Exclude<R1 | R2 | R3, Provider>>["execute"],
    synthesize: (spec.synthesize ?? defaultSynthesize) as Agents<Exclude<R1 | R2 | R3, Provider>>["synthesize"]
  })

const defaultSynthesize = (results: ReadonlyArray<AgentResult>): Effect.Effect<SynthesisOutput> =>
  Effect.succeed(joinResults(results))
