/**
 * A workflow is a description of multi-agent work: how to break a task into subtasks, how an agent executes
 * one, and how to synthesise the results. It runs nothing by itself; `Orchestrator.run` interprets it.
 *
 * @since 0.1.0
 */
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Schema from "effect/Schema"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Agent from "./Agent.js"
import { type AgentResult, type Typed as AgentResultTyped, valuesOf } from "./AgentResult.js"
import type { OrchestratorConfig } from "./OrchestratorConfig.js"
import { complete, type Provider } from "./Provider.js"
import type { SubTask } from "./SubTask.js"
import type { SynthesisResult } from "./SynthesisResult.js"
import type { TaskStatus } from "./TaskStatus.js"

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
  /** The outputs of earlier steps when this workflow runs inside `Workflow.sequential`, oldest first. */
  readonly previous: ReadonlyArray<StepOutput>
}

/**
 * The output of one finished step of a pipeline.
 *
 * @since 0.1.0
 * @category Models
 */
export interface StepOutput {
  readonly name: string
  readonly output: string
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
 * What the synthesis of `Workflow.make` sees: the synthesis context, and the typed values of the completed
 * agents that returned one, in the order of the results.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TypedSynthesisContext<A> extends SynthesisContext {
  readonly values: ReadonlyArray<A>
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
 * What an agent returns: its text, or its text with metadata for its `AgentResult`, and, for an agent with
 * typed output, its decoded `value` (`Agent.run` returns this shape).
 *
 * @since 0.1.0
 * @category Models
 */
export type AgentOutput<A = unknown> =
  | string
  | {
    readonly content: string
    readonly value?: A | undefined
    readonly metadata?: Readonly<Record<string, unknown>> | undefined
  }

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
  /** A bound on this workflow's own agents running at once, under the run's `maxConcurrentAgents`. */
  readonly maxParallel: number | undefined
  readonly decompose: (task: string, context: RunContext) => Effect.Effect<DecompositionOutput, unknown, R | Provider>
  readonly execute: (subtask: SubTask, context: AgentContext) => Effect.Effect<AgentOutput, unknown, R | Provider>
  readonly synthesize: (
    results: ReadonlyArray<AgentResult>,
    context: SynthesisContext
  ) => Effect.Effect<SynthesisOutput, unknown, R | Provider>
}

/**
 * Steps run strictly one after another, each seeing the outputs of the earlier ones.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Sequential<R> {
  readonly _tag: "Sequential"
  readonly steps: ReadonlyArray<Workflow<R>>
  readonly continueOnFailure: boolean
}

/**
 * What each branch of a `Workflow.parallel` produced, for its merge.
 *
 * @since 0.1.0
 * @category Models
 */
export interface BranchOutput {
  readonly name: string
  readonly status: TaskStatus
  readonly finalSynthesis: string | undefined
  readonly error: string | undefined
}

/**
 * Workflows run side by side, their outputs merged.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Parallel<R> {
  readonly _tag: "Parallel"
  readonly workflows: ReadonlyArray<Workflow<R>>
  readonly merge: (
    outputs: ReadonlyArray<BranchOutput>,
    context: RunContext
  ) => Effect.Effect<string, unknown, R | Provider>
}

/**
 * One of several workflows, chosen at run time.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Conditional<R> {
  readonly _tag: "Conditional"
  readonly select: (context: RunContext) => Effect.Effect<string, unknown, R | Provider>
  readonly branches: Readonly<Record<string, Workflow<R>>>
  readonly defaultBranch: string | undefined
}

/**
 * One iteration of `Workflow.iterate`, scored.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Iteration {
  /** From 1. */
  readonly iteration: number
  /** From 0 to 1. */
  readonly score: number
  /** What the judge said could be better, when it said anything. */
  readonly critique: string | undefined
  readonly finalSynthesis: string
  readonly agentResults: ReadonlyArray<AgentResult>
}

/**
 * A score with the reason for it.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Judgement {
  readonly score: number
  readonly critique?: string | undefined
}

/**
 * A workflow run again and again, each time on a task refined with the previous result and its critique.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Iterate<R> {
  readonly _tag: "Iterate"
  readonly workflow: Workflow<R>
  readonly maxIterations: number
  readonly until: (iteration: Iteration) => boolean
  readonly score: (
    iteration: Omit<Iteration, "score" | "critique">,
    context: RunContext
  ) => Effect.Effect<number | Judgement, unknown, R | Provider>
  readonly refine: (task: string, previous: Iteration) => string
}

/**
 * A step that waits for a person to approve or reject (see `approval`).
 *
 * @since 0.2.0
 * @category Models
 */
export interface Approval {
  readonly _tag: "Approval"
  readonly prompt: (context: RunContext) => string
  /** How long to wait for a decision before the step fails; undefined waits forever. */
  readonly timeout: Duration.Duration | undefined
}

/**
 * The shapes a workflow can take.
 *
 * @since 0.1.0
 * @category Models
 */
export type Definition<R> = Agents<R> | Sequential<R> | Parallel<R> | Conditional<R> | Iterate<R> | Approval

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
  /** What is wrong with how the workflow was built, found before anything runs; empty when it is valid. */
  readonly problems: ReadonlyArray<string>
  /**
   * The values the workflow was built from that its functions close over (see `withSettings`): part of a
   * durable run's fingerprint, which cannot see inside closures.
   */
  readonly settings?: object | undefined
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
export const fromDefinition = <R>(
  name: string,
  definition: Definition<R>,
  problems: ReadonlyArray<string> = []
): Workflow<R> => {
  const workflow = Object.create(proto)
  workflow.name = name
  workflow.definition = definition
  workflow.problems = [...problems, ...childProblems(definition)]
  return workflow
}

const children = <R>(definition: Definition<R>): ReadonlyArray<Workflow<R>> => {
  switch (definition._tag) {
    case "Agents":
      return []
    case "Sequential":
      return definition.steps
    case "Parallel":
      return definition.workflows
    case "Conditional":
      return Object.values(definition.branches)
    case "Iterate":
      return [definition.workflow]
    case "Approval":
      return []
  }
}

const childProblems = <R>(definition: Definition<R>): ReadonlyArray<string> =>
  children(definition).flatMap((child) => child.problems)

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
 * Agents that return a typed `value` (say, through `Agent.run` with an `output` Schema of `A`) make the
 * synthesis receive `AgentResult.Typed<A>` results and `context.values`, a `ReadonlyArray<A>`.
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
 *       new SubTask.SubTask({ id: "research", description: `Research: ${task}`, agentType: "researcher" }),
 *       new SubTask.SubTask({
 *         id: "analyze", description: "Analyze findings", agentType: "analyst", dependencies: ["research"]
 *       })
 *     ]),
 *   execute: (subtask, { dependencies }) =>
 *     Provider.complete({
 *       prompt: [subtask.description, ...dependencies.map((d) => d.content)].join("\n\n")
 *     }).pipe(Effect.map((completion) => completion.content)),
 *   synthesize: (results) => Effect.succeed(results.map((r) => r.content).join("\n\n"))
 * })
 * ```
 */
export const make = <E1, R1, E2, R2, E3 = never, R3 = never, A = never>(spec: {
  readonly name: string
  /** A bound on this workflow's own agents running at once, under the run's `maxConcurrentAgents`. */
  readonly maxParallel?: number | undefined
  readonly decompose: (task: string, context: RunContext) => Effect.Effect<DecompositionOutput, E1, R1>
  readonly execute: (subtask: SubTask, context: AgentContext) => Effect.Effect<AgentOutput<A>, E2, R2>
  readonly synthesize?:
    | ((
      results: ReadonlyArray<AgentResultTyped<A>>,
      context: TypedSynthesisContext<A>
    ) => Effect.Effect<SynthesisOutput, E3, R3>)
    | undefined
}): Workflow<Exclude<R1 | R2 | R3, Provider>> =>
  fromDefinition<Exclude<R1 | R2 | R3, Provider>>(spec.name, {
    _tag: "Agents",
    maxParallel: spec.maxParallel,
    decompose: spec.decompose as Agents<Exclude<R1 | R2 | R3, Provider>>["decompose"],
    execute: spec.execute as Agents<Exclude<R1 | R2 | R3, Provider>>["execute"],
    synthesize: (spec.synthesize === undefined
      ? defaultSynthesize
      : withValues(spec.synthesize)) as Agents<Exclude<R1 | R2 | R3, Provider>>["synthesize"]
  }, [
    ...(spec.name.trim() === "" ? ["a workflow's name must not be empty"] : []),
    ...(spec.maxParallel !== undefined && !(Number.isInteger(spec.maxParallel) && spec.maxParallel >= 1)
      ? [`${spec.name}: maxParallel must be an integer of at least 1, got ${spec.maxParallel}`]
      : [])
  ])

const defaultSynthesize = (results: ReadonlyArray<AgentResult>): Effect.Effect<SynthesisOutput> =>
  Effect.succeed(joinResults(results))

const withValues = <A, E, R>(
  synthesize: (results: ReadonlyArray<AgentResultTyped<A>>, context: TypedSynthesisContext<A>) => Effect.Effect<
    SynthesisOutput,
    E,
    R
  >
) =>
(results: ReadonlyArray<AgentResultTyped<A>>, context: SynthesisContext) =>
  synthesize(results, { ...context, values: valuesOf(results) })

// ============================================================================================================
// Combinators
// ============================================================================================================

type Requirements<W> = W extends Workflow<infer R> ? R : never

const lift = <A, E, R>(value: A | Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.isEffect(value) ? value : Effect.succeed(value)

const positiveInteger = (name: string, field: string, value: number): ReadonlyArray<string> =>
  Number.isInteger(value) && value >= 1 ? [] : [`${name}: ${field} must be an integer of at least 1, got ${value}`]

/**
 * A pipeline: the steps run strictly one after another, whatever `parallelExecution` says, and each sees the
 * original task plus every earlier step's output (`context.previous`). A failing step stops the pipeline
 * (the result's `failure` names it) unless `continueOnFailure` is set.
 *
 * @since 0.1.0
 * @category Combinators
 * @example
 * ```ts
 * import { Workflow } from "multi-agent-orchestration"
 *
 * const pipeline = Workflow.sequential([
 *   Workflow.agent({ name: "outline", system: "Write an outline." }),
 *   Workflow.agent({ name: "draft", system: "Write the article from the outline." })
 * ])
 * ```
 */
export const sequential = <const Steps extends ReadonlyArray<Workflow<unknown>>>(
  steps: Steps,
  options: { readonly name?: string | undefined; readonly continueOnFailure?: boolean | undefined } = {}
): Workflow<NoInfer<Requirements<Steps[number]>>> => {
  const name = options.name ?? "sequential"
  return fromDefinition(name, {
    _tag: "Sequential",
    steps: steps as ReadonlyArray<Workflow<Requirements<Steps[number]>>>,
    continueOnFailure: options.continueOnFailure ?? false
  }, steps.length === 0 ? [`${name}: a pipeline needs at least one step`] : [])
}

/**
 * The default merge of `Workflow.parallel`: each branch's final synthesis under its name.
 *
 * @since 0.1.0
 * @category Functions
 */
export const joinBranches = (outputs: ReadonlyArray<BranchOutput>): string =>
  outputs
    .filter((output) => output.finalSynthesis !== undefined)
    .map((output) => `## ${output.name}\n\n${output.finalSynthesis!.trim()}`)
    .join("\n\n")

/**
 * Workflows run side by side (their agents share the run's concurrency limit), then their final syntheses
 * are merged: by `synthesize` (which may call the provider), or joined under the workflows' names.
 *
 * @since 0.1.0
 * @category Combinators
 */
export const parallel = <const Workflows extends ReadonlyArray<Workflow<unknown>>, E = never, R = never>(
  workflows: Workflows,
  options: {
    readonly name?: string | undefined
    readonly synthesize?:
      | ((outputs: ReadonlyArray<BranchOutput>, context: RunContext) => Effect.Effect<string, E, R>)
      | undefined
  } = {}
): Workflow<NoInfer<Requirements<Workflows[number]> | Exclude<R, Provider>>> => {
  const name = options.name ?? "parallel"
  const merge = options.synthesize ?? ((outputs: ReadonlyArray<BranchOutput>) => Effect.succeed(joinBranches(outputs)))
  return fromDefinition(name, {
    _tag: "Parallel",
    workflows: workflows as ReadonlyArray<Workflow<Requirements<Workflows[number]> | Exclude<R, Provider>>>,
    merge: merge as Parallel<Requirements<Workflows[number]> | Exclude<R, Provider>>["merge"]
  }, workflows.length === 0 ? [`${name}: parallel needs at least one workflow`] : [])
}

/**
 * Branches at run time. Either a `condition` with `onTrue` and `onFalse`, or a keyed form: `select` names one
 * of the `branches`, and `default` is taken when it names none. The condition or selector reads the run
 * context; it may be a plain function or an effect (one that asks a model, say). The chosen branch is
 * recorded in the result's metadata and in a `branch_selected` event.
 *
 * @since 0.1.0
 * @category Combinators
 * @example
 * ```ts
 * import { DreamCascade, Workflow } from "multi-agent-orchestration"
 *
 * const adaptive = Workflow.conditional({
 *   condition: ({ context }) => Number(context.complexity) > 0.7,
 *   onTrue: DreamCascade.make({ belterCount: 5, drummerCount: 2, caminaCount: 1 }),
 *   onFalse: Workflow.agent({ name: "quick-answer" })
 * })
 * ```
 */
export const conditional: {
  <WT extends Workflow<unknown>, WF extends Workflow<unknown>, E = never, R = never>(options: {
    readonly name?: string | undefined
    readonly condition: (context: RunContext) => boolean | Effect.Effect<boolean, E, R>
    readonly onTrue: WT
    readonly onFalse: WF
  }): Workflow<NoInfer<Requirements<WT> | Requirements<WF> | Exclude<R, Provider>>>
  <const Branches extends Readonly<Record<string, Workflow<unknown>>>, E = never, R = never>(options: {
    readonly name?: string | undefined
    readonly select: (context: RunContext) => string | Effect.Effect<string, E, R>
    readonly branches: Branches
    readonly default?: (keyof Branches & string) | undefined
  }): Workflow<NoInfer<Requirements<Branches[keyof Branches]> | Exclude<R, Provider>>>
} = (options: {
  readonly name?: string | undefined
  readonly condition?: (context: RunContext) => boolean | Effect.Effect<boolean, unknown, unknown>
  readonly onTrue?: Workflow<unknown>
  readonly onFalse?: Workflow<unknown>
  readonly select?: (context: RunContext) => string | Effect.Effect<string, unknown, unknown>
  readonly branches?: Readonly<Record<string, Workflow<unknown>>>
  readonly default?: string | undefined
}): Workflow<unknown> => {
  const name = options.name ?? "conditional"
  if (options.condition !== undefined) {
    const condition = options.condition
    return fromDefinition(name, {
      _tag: "Conditional",
      select: (context) => Effect.map(lift(condition(context)), (chosen) => (chosen ? "true" : "false")),
      branches: { true: options.onTrue!, false: options.onFalse! },
      defaultBranch: undefined
    } as Conditional<unknown>)
  }
  const branches = options.branches ?? {}
  const keys = Object.keys(branches)
  const problems = [
    ...(keys.length === 0 ? [`${name}: a conditional needs at least one branch`] : []),
    ...(options.default !== undefined && !keys.includes(options.default)
      ? [`${name}: the default branch "${options.default}" is not one of ${keys.join(", ")}`]
      : [])
  ]
  const select = options.select!
  return fromDefinition(name, {
    _tag: "Conditional",
    select: (context) => lift(select(context)),
    branches,
    defaultBranch: options.default
  } as Conditional<unknown>, problems)
}

/**
 * The default refinement of `Workflow.iterate`: the task, the previous draft with its score, and the critique.
 *
 * @since 0.1.0
 * @category Functions
 */
export const refineWithCritique = (task: string, previous: Iteration): string =>
  [
    task,
    `Previous draft (iteration ${previous.iteration}, score ${previous.score.toFixed(2)}):\n${previous.finalSynthesis}`,
    ...(previous.critique === undefined ? [] : [`Critique of the previous draft:\n${previous.critique}`]),
    "Improve on the previous draft: keep what works, fix what the critique points out."
  ].join("\n\n")

/**
 * The judge's reply: a score from 0 to 1 and a critique.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const JudgementSchema = Schema.Struct({
  score: Schema.Number.pipe(Schema.between(0, 1)),
  critique: Schema.optional(Schema.String)
})

const judgementFromReply = Schema.decodeUnknown(Schema.parseJson(JudgementSchema))

/** The first `{ ... }` of a reply: models like to wrap JSON in prose or code fences. */
const jsonObjectIn = (text: string): string => {
  const start = text.indexOf("{")
  const end = text.lastIndexOf("}")
  return start >= 0 && end > start ? text.slice(start, end + 1) : text
}

/**
 * Asks the model for a judgement of `subject` as JSON (`{"score": 0..1, "critique": "..."}`), decoded with
 * Schema. Fails with the parse error when the reply is not such a judgement.
 *
 * @since 0.1.0
 * @category Functions
 * @example
 * ```ts
 * import { Workflow } from "multi-agent-orchestration"
 *
 * // A model-rated condition for Workflow.conditional:
 * const complex = ({ task }: Workflow.RunContext) =>
 *   Workflow.rate(`How complex is this task, from 0 (trivial) to 1 (very complex)?\nTask: ${task}`)
 * ```
 */
export const rate = (
  subject: string,
  options: { readonly system?: string | undefined; readonly model?: string | undefined } = {}
) =>
  Effect.flatMap(
    complete({
      system: options.system ??
        "You are a strict, fair judge. Reply with JSON only: {\"score\": <number from 0 to 1>, \"critique\": \"<one or two sentences>\"}.",
      prompt: subject,
      model: options.model,
      temperature: 0
    }),
    (completion) => judgementFromReply(jsonObjectIn(completion.content))
  )

const judge = (iteration: Omit<Iteration, "score" | "critique">, context: RunContext) =>
  rate(`Task:\n${context.task}\n\nDraft to score (iteration ${iteration.iteration}):\n${iteration.finalSynthesis}`)

/**
 * Looped refinement: runs the workflow, scores the result, and runs it again on a refined task until `until`
 * holds (the Python README's `convergence_fn`, e.g. `(r) => r.score > 0.9`) or `maxIterations` is reached.
 * Scores come from `score`, or from a judge call whose JSON reply is decoded with Schema. The next iteration's
 * task carries the previous synthesis and the critique (`refine`). The result keeps every iteration; when the
 * loop ends without converging, it is the best-scoring iteration, marked `converged: false`.
 *
 * @since 0.1.0
 * @category Combinators
 * @example
 * ```ts
 * import { DreamCascade, Workflow } from "multi-agent-orchestration"
 *
 * const polished = DreamCascade.make({ belterCount: 3, drummerCount: 1, caminaCount: 1 }).pipe(
 *   Workflow.iterate({ maxIterations: 5, until: (r) => r.score > 0.9 })
 * )
 * ```
 */
export const iterate: {
  <E = never, R2 = never>(
    options: IterateOptions<E, R2>
  ): <R>(self: Workflow<R>) => Workflow<NoInfer<R | Exclude<R2, Provider>>>
  <R, E = never, R2 = never>(self: Workflow<R>, options: IterateOptions<E, R2>): Workflow<NoInfer<R | Exclude<R2, Provider>>>
} = dual(2, <R, E, R2>(self: Workflow<R>, options: IterateOptions<E, R2>): Workflow<R | Exclude<R2, Provider>> => {
  const name = options.name ?? `iterate(${self.name})`
  const score = options.score
  return fromDefinition<R | Exclude<R2, Provider>>(name, {
    _tag: "Iterate",
    workflow: self,
    maxIterations: options.maxIterations,
    until: options.until ?? (() => false),
    score: (score === undefined
      ? judge
      : (iteration, context) => lift(score(iteration, context))) as Iterate<R | Exclude<R2, Provider>>["score"],
    refine: options.refine ?? refineWithCritique
  }, positiveInteger(name, "maxIterations", options.maxIterations))
})

/**
 * Options of `Workflow.iterate`.
 *
 * @since 0.1.0
 * @category Models
 */
export interface IterateOptions<E, R> {
  readonly name?: string | undefined
  readonly maxIterations: number
  /** Convergence: stop once this holds. Without it, every iteration runs and the best one is kept. */
  readonly until?: ((iteration: Iteration) => boolean) | undefined
  /** Your own scorer; a number from 0 to 1, or a judgement with a critique. Default: a judge call. */
  readonly score?:
    | ((
      iteration: Omit<Iteration, "score" | "critique">,
      context: RunContext
    ) => number | Judgement | Effect.Effect<number | Judgement, E, R>)
    | undefined
  /** The next iteration's task from the original task and the previous iteration. */
  readonly refine?: ((task: string, previous: Iteration) => string) | undefined
}

/**
 * Options of `Workflow.agent`.
 *
 * - `output`: a Schema for the agent's answer: its JSON Schema is sent where the API takes one, the reply is
 *   decoded (with one repair attempt), and the decoded value is the `AgentResult`'s `value`; the final
 *   synthesis is its JSON.
 * - `tools`: an `@effect/ai` `Toolkit`; the agent runs a tool loop of at most `maxSteps` model calls (see
 *   `Agent.run`), and the workflow needs the toolkit's handlers.
 *
 * @since 0.1.0
 * @category Models
 */
export interface AgentOptions<A, I, R, Tools extends Record<string, Tool.Any>> {
  readonly name: string
  readonly system?: string | undefined
  readonly prompt?: ((context: RunContext) => string) | undefined
  readonly model?: string | undefined
  readonly agentType?: SubTask["agentType"] | undefined
  readonly temperature?: number | undefined
  readonly maxTokens?: number | undefined
  readonly output?: Schema.Schema<A, I, R> | undefined
  readonly tools?: Toolkit.Toolkit<Tools> | undefined
  readonly maxSteps?: number | undefined
  readonly toolTimeout?: Duration.DurationInput | undefined
}

/**
 * A workflow of one agent: its prompt is the task (or `prompt(context)`), followed by the outputs of earlier
 * pipeline steps, and its output is the final synthesis. With `output` its answer is typed, with `tools` it
 * runs a tool loop (see `AgentOptions`).
 *
 * @since 0.1.0
 * @category Constructors
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Workflow } from "multi-agent-orchestration"
 *
 * const Finding = Schema.Struct({
 *   claim: Schema.String,
 *   evidence: Schema.Array(Schema.String),
 *   confidence: Schema.Number.pipe(Schema.between(0, 1))
 * })
 *
 * // Its AgentResult's `value` is a decoded Finding.
 * const analyst = Workflow.agent({ name: "analyst", output: Finding })
 * ```
 */
export const agent = <A = never, I = never, R = never, Tools extends Record<string, Tool.Any> = {}>(
  options: AgentOptions<A, I, R, Tools>
): Workflow<NoInfer<R | Agent.ToolRequirements<Tools>>> => {
  const workflow = oneAgent(options)
  const problems = options.maxSteps === undefined ? [] : positiveInteger(options.name, "maxSteps", options.maxSteps)
  return (problems.length === 0 ? workflow : fromDefinition(options.name, workflow.definition, problems)) as Workflow<
    NoInfer<R | Agent.ToolRequirements<Tools>>
  >
}

const oneAgent = <A, I, R, Tools extends Record<string, Tool.Any>>(options: AgentOptions<A, I, R, Tools>) =>
  make({
    name: options.name,
    decompose: (task, context) =>
      Effect.succeed([{
        id: options.name,
        description: options.prompt === undefined ? task : options.prompt(context),
        agentType: options.agentType ?? "worker",
        ...(options.model === undefined ? {} : { model: options.model })
      }]),
    execute: (subtask, context): Effect.Effect<AgentOutput<unknown>, unknown, unknown> => {
      const prompt = [
        subtask.description,
        ...context.previous.map((step) => `## Output of "${step.name}"\n\n${step.output}`)
      ].join("\n\n")
      if (options.output === undefined && options.tools === undefined) {
        return Effect.map(
          complete({ system: options.system, prompt, temperature: options.temperature, maxTokens: options.maxTokens }),
          (completion) => completion.content
        )
      }
      return Agent.run({
        system: options.system,
        prompt,
        temperature: options.temperature,
        maxTokens: options.maxTokens,
        output: options.output as Schema.Schema<unknown, unknown, unknown> | undefined,
        tools: options.tools as Toolkit.Toolkit<Record<string, Tool.Any>> | undefined,
        maxSteps: options.maxSteps,
        toolTimeout: options.toolTimeout
      })
    },
    synthesize: (results) => Effect.succeed(results[0]?.content ?? "")
  })

/**
 * A step that waits for a person to approve or reject, in a durable run (`Orchestrator.run` with `durable`).
 * It emits `approval_requested` with the prompt; `Orchestrator.approve(runId, name, { approved, note })` (or
 * `orchestrate approve RUN NAME`) decides. Approved, its output is the note (or "approved"), which later
 * steps of a `sequential` see in `previous`; rejected, it fails with `ApprovalRejected`; with no decision
 * within `timeout`, it fails with `ApprovalTimedOut`. While it waits, the process may end: the request and
 * the decision live in the store, and a resumed run continues from here.
 *
 * @since 0.2.0
 * @category Constructors
 * @example
 * ```ts
 * import { Workflow } from "multi-agent-orchestration"
 *
 * const reviewed = Workflow.sequential([
 *   Workflow.agent({ name: "draft" }),
 *   Workflow.approval({ name: "review", prompt: "Publish this draft?", timeout: "3 days" }),
 *   Workflow.agent({ name: "publish" })
 * ])
 * ```
 */
export const approval = (options: {
  readonly name: string
  readonly prompt: string | ((context: RunContext) => string)
  readonly timeout?: Duration.DurationInput | undefined
}): Workflow => {
  const prompt = options.prompt
  const problems: Array<string> = []
  if (typeof options.name !== "string" || options.name.trim() === "") problems.push("an approval needs a name")
  return fromDefinition(options.name, {
    _tag: "Approval",
    prompt: typeof prompt === "string" ? () => prompt : prompt,
    timeout: options.timeout === undefined ? undefined : Duration.decode(options.timeout)
  }, problems)
}

/**
 * Records the values a workflow was built from (a preset's counts and models, say), which its functions close
 * over and a durable run's fingerprint cannot otherwise see: resuming a run with a workflow built from other
 * values then fails with `RunMismatch` instead of replaying what the first one decided.
 *
 * @since 0.2.0
 * @category Combinators
 */
export const withSettings = <R>(workflow: Workflow<R>, settings: object): Workflow<R> => {
  const copy = fromDefinition(workflow.name, workflow.definition, workflow.problems) as { -readonly [K in keyof Workflow<R>]: Workflow<R>[K] }
  copy.problems = workflow.problems
  copy.settings = settings
  return copy
}
