/**
 * Dream Cascade: hierarchical research in three tiers. Belters research subtasks in parallel, Drummers
 * synthesise groups of Belter findings, and Camina writes the executive synthesis from the Drummers' work.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import * as Agent from "./Agent.js"
import type { AgentError } from "./AgentError.js"
import type { AgentResult } from "./AgentResult.js"
import { plan } from "./internal/plans.js"
import {
  background,
  completedOf,
  countProblem,
  secondsProblem,
  splitEvenly,
  trustedSubTask
} from "./internal/research.js"
import { DependenciesFailed } from "./OrchestratorError.js"
import * as Provider from "./Provider.js"
import type { ProviderError } from "./ProviderError.js"
import { SubTask } from "./SubTask.js"
import { SynthesisResult } from "./SynthesisResult.js"
import * as Workflow from "./Workflow.js"

/**
 * Options of `DreamCascade.make`. Every field is optional.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options<A = never, I = never, R = never> {
  readonly name?: string | undefined
  /** Tier 1: research agents. Default: the configuration's `numAgents`. */
  readonly belterCount?: number | undefined
  /** Tier 2: group syntheses, each over an even share of the Belters. Default: one per five Belters. 0 skips it. */
  readonly drummerCount?: number | undefined
  /** Tier 3: executive syntheses, each from its own perspective. Default: 1. 0 skips it. */
  readonly caminaCount?: number | undefined
  /** The model of the planning call. Default: `primaryModel`. */
  readonly plannerModel?: string | undefined
  /** Default: `workerModel`, then `primaryModel`. */
  readonly belterModel?: string | undefined
  /** Default: `synthesisModel`, then `primaryModel`. */
  readonly drummerModel?: string | undefined
  /** Default: `synthesisModel`, then `primaryModel`. */
  readonly caminaModel?: string | undefined
  /** Per-tier time bounds; default: `timeoutSeconds`. */
  readonly belterTimeoutSeconds?: number | undefined
  readonly drummerTimeoutSeconds?: number | undefined
  readonly caminaTimeoutSeconds?: number | undefined
  /**
   * A Schema for each Belter's findings. Its JSON Schema is sent where the API takes one, each reply is
   * decoded (one repair attempt, then the Belter fails with `AgentError.InvalidOutput`), and each Belter's
   * `AgentResult.value` is the decoded value; Drummers read the findings as JSON.
   */
  readonly belterOutput?: Schema.Schema<A, I, R> | undefined
}

/**
 * The perspectives of successive Caminas. With more than one Camina, each writes from the next perspective,
 * and the final synthesis is their syntheses in this order, each under its perspective as a heading.
 *
 * @since 0.1.0
 * @category Constants
 */
export const perspectives: ReadonlyArray<string> = [
  "Executive summary",
  "Risks, gaps and open questions",
  "Recommendations and next steps",
  "Implications for decision makers"
]

/**
 * Problems with the options, as readable messages; `make` reports them before anything runs.
 *
 * @since 0.1.0
 * @category Validation
 */
export const validate = <A, I, R>(options: Options<A, I, R>): Array<string> => {
  const owner = options.name ?? "dream-cascade"
  const problems = [
    ...countProblem(owner, "belterCount", options.belterCount, 1),
    ...countProblem(owner, "drummerCount", options.drummerCount, 0),
    ...countProblem(owner, "caminaCount", options.caminaCount, 0),
    ...secondsProblem(owner, "belterTimeoutSeconds", options.belterTimeoutSeconds),
    ...secondsProblem(owner, "drummerTimeoutSeconds", options.drummerTimeoutSeconds),
    ...secondsProblem(owner, "caminaTimeoutSeconds", options.caminaTimeoutSeconds)
  ]
  if (options.belterCount !== undefined && options.drummerCount !== undefined && options.drummerCount > options.belterCount) {
    problems.push(`${owner}: drummerCount (${options.drummerCount}) cannot exceed belterCount (${options.belterCount})`)
  }
  return problems
}

const angles = [
  "Survey the current state of",
  "Identify the main approaches, methods and players in",
  "Collect recent results, data and case studies on",
  "Examine the obstacles, risks and open problems of",
  "Assess the practical, economic and policy implications of",
  "Compare the competing views and alternatives around",
  "Trace how it developed, and where it is heading, for"
]

const defaultAngle = (task: string) => (i: number) => {
  const round = Math.floor(i / angles.length)
  return `${angles[i % angles.length]} ${task}${round > 0 ? ` (part ${round + 1})` : ""}`
}

const plannerSystem =
  "You plan research for a team. Break the task into focused, non-overlapping research subtasks that together cover it. Reply with the subtasks only: in the JSON format you are asked for, or else as a numbered list, one subtask per line, no preamble."
const belterSystem =
  "You are a Belter, a research agent on a team. Research your subtask thoroughly and factually. Structure the answer with Markdown headings and bullet points, and name your sources."
const typedBelterSystem =
  "You are a Belter, a research agent on a team. Research your subtask thoroughly and factually, and reply with your findings in the JSON format you are asked for, naming your sources."
const drummerSystem =
  "You are a Drummer, a synthesis agent. Combine the research findings you are given into one coherent analysis: what they agree on, where they differ, and what follows. Keep the names of the sources."
const caminaSystem = (perspective: string) =>
  `You are Camina, the executive synthesizer. Write the final report for a decision maker from the material you are given, focused on: ${perspective}. Cite the research as [belter-N] where it supports a claim.`

const section = (result: AgentResult, subtasks: ReadonlyMap<string, SubTask>): string =>
  `## ${result.subtaskId}: ${subtasks.get(result.subtaskId)?.description ?? ""}\n\n${result.content.trim()}`

const tierOf = (result: AgentResult) => result.tier ?? ""

/**
 * A Dream Cascade workflow.
 *
 * - Decomposition: one model call breaks the task into exactly `belterCount` subtasks; numbered and bulleted
 *   lists are parsed, the list is trimmed or padded to size, and an unusable reply falls back to default
 *   research angles (said in `decomposition_complete.data.fallbackReason`).
 * - Belters run in parallel under the concurrency limit. Each Drummer synthesises an even share of them and
 *   starts as soon as its share is done. Each Camina writes from all Drummer syntheses, with the Belter
 *   findings listed for citations.
 * - It degrades gracefully: if every Drummer fails, Camina works from the Belter findings; if every Camina
 *   fails, the final synthesis is the combined Drummer syntheses (or, failing those, the Belter findings).
 *   `metadata.degraded` says what happened.
 * - Every Drummer and Camina synthesis is in `synthesisResults` (levels "drummer" and "camina"); every call is
 *   charged to its tier ("decomposition", "belter", "drummer", "camina").
 *
 * @since 0.1.0
 * @category Constructors
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DreamCascade, Orchestrator, Provider } from "multi-agent-orchestration"
 *
 * const result = Orchestrator.run(
 *   DreamCascade.make({ belterCount: 5, drummerCount: 2, caminaCount: 1 }),
 *   "Research quantum computing applications"
 * ).pipe(Effect.provide(Provider.simulated()))
 * ```
 */
export const make = <A = never, I = never, R = never>(
  options: Options<A, I, R> = {}
): Workflow.Workflow<NoInfer<R>> => {
  const name = options.name ?? "dream-cascade"
  const workflow = Workflow.make({
    name,
    decompose: (task, context) =>
      Effect.gen(function*() {
        const { config } = context
        const belters = options.belterCount ?? config.numAgents
        const drummers = Math.min(options.drummerCount ?? Math.ceil(belters / 5), belters)
        const caminas = options.caminaCount ?? 1
        const { items, note } = yield* plan("subtasks", {
          model: options.plannerModel,
          system: plannerSystem,
          prompt: `Break this task into exactly ${belters} research subtasks.\nTask: ${task}${background(context)}`,
          temperature: 0.5
        }, belters, defaultAngle(task))
        const synthesisModel = config.synthesisModelOrPrimary
        const belterTasks = items.map((description, i) =>
          trustedSubTask({
            id: `belter-${i + 1}`,
            description,
            agentType: "worker",
            tier: "belter",
            ...withModel(options.belterModel),
            ...withTimeout(options.belterTimeoutSeconds)
          })
        )
        const drummerTasks = splitEvenly(belterTasks, drummers).map((group, i) =>
          trustedSubTask({
            id: `drummer-${i + 1}`,
            description: `Synthesize the findings of ${group.map((t) => t.id).join(", ")}`,
            agentType: "synthesizer",
            tier: "drummer",
            dependencies: group.map((t) => t.id),
            ...withModel(options.drummerModel ?? synthesisModel),
            ...withTimeout(options.drummerTimeoutSeconds)
          })
        )
        const caminaTasks = Array.from({ length: caminas }, (_, i) =>
          trustedSubTask({
            id: `camina-${i + 1}`,
            description: perspectives[i % perspectives.length]!,
            agentType: "executive",
            tier: "camina",
            dependencies: [...drummerTasks, ...belterTasks].map((t) => t.id),
            ...withModel(options.caminaModel ?? synthesisModel),
            ...withTimeout(options.caminaTimeoutSeconds)
          })
        )
        return { subtasks: [...belterTasks, ...drummerTasks, ...caminaTasks], fallbackReason: note }
      }),
    execute: (
      subtask,
      context
    ): Effect.Effect<Workflow.AgentOutput<A>, ProviderError | AgentError | DependenciesFailed, Provider.Provider | R> => {
      const inputs = completedOf(context.dependencies)
      switch (subtask.tier) {
        case "drummer": {
          if (inputs.length === 0) return Effect.fail(new DependenciesFailed({ reason: "no Belter of this group finished" }))
          return reply({
            system: drummerSystem,
            prompt: `Task: ${context.task}\n\nSynthesize these research findings:\n\n${inputs.map((r) => `## ${r.subtaskId}\n\n${r.content.trim()}`).join("\n\n")}`,
            temperature: 0.6
          })
        }
        case "camina": {
          const drummers = inputs.filter((r) => tierOf(r) === "drummer")
          const belters = inputs.filter((r) => tierOf(r) === "belter")
          const material = drummers.length > 0 ? drummers : belters
          if (material.length === 0) return Effect.fail(new DependenciesFailed({ reason: "no Drummer or Belter finished" }))
          const sources = belters.map((r) => `- [${r.subtaskId}]`).join("\n")
          const heading = drummers.length > 0 ? "Analyses" : "Research findings (no Drummer synthesis was available)"
          return Effect.map(
            reply({
              system: caminaSystem(subtask.description),
              prompt: `Task: ${context.task}\n\n${heading}:\n\n${material.map((r) => `## ${r.subtaskId}\n\n${r.content.trim()}`).join("\n\n")}\n\nSources for citations:\n${sources}`,
              temperature: 0.5
            }),
            (content) => ({ content, metadata: { source: drummers.length > 0 ? "drummers" : "belters" } })
          )
        }
        default:
          if (options.belterOutput !== undefined) {
            return Agent.run({
              system: typedBelterSystem,
              prompt: `Task: ${context.task}\nSubtask: ${subtask.description}${background(context)}`,
              temperature: 0.7,
              output: options.belterOutput
            })
          }
          return reply({
            system: belterSystem,
            prompt: `Task: ${context.task}\nSubtask: ${subtask.description}${background(context)}`,
            temperature: 0.7
          })
      }
    },
    synthesize: (results, context) => Effect.succeed(finalSynthesis(results, context.subtasks))
  })
  const problems = validate(options)
  return Workflow.withSettings(problems.length === 0 ? workflow : Workflow.fromDefinition<R>(name, workflow.definition, problems), options)
}

// Options were validated by `make` and the rest is built here, so the constructors need not check it again.
const trusted = { disableValidation: true } as const

const withModel = (model: string | undefined) => (model === undefined ? {} : { model })
const withTimeout = (timeoutSeconds: number | undefined) => (timeoutSeconds === undefined ? {} : { timeoutSeconds })

const reply = (request: Provider.CompletionRequest) =>
  Effect.map(Provider.complete(request), (completion) => completion.content)

const finalSynthesis = (
  results: ReadonlyArray<AgentResult>,
  subtasks: ReadonlyArray<SubTask>
): Workflow.SynthesisOutput => {
  const byId = new Map(subtasks.map((subtask) => [subtask.id, subtask]))
  const tier = (name: string) => results.filter((result) => tierOf(result) === name)
  const belters = tier("belter")
  const drummers = tier("drummer")
  const caminas = tier("camina")
  const done = { belter: completedOf(belters), drummer: completedOf(drummers), camina: completedOf(caminas) }
  const count = (all: ReadonlyArray<AgentResult>, finished: ReadonlyArray<AgentResult>) => ({
    planned: all.length,
    completed: finished.length
  })
  const degraded: Array<string> = []
  if (drummers.length > 0 && done.drummer.length === 0) degraded.push("every Drummer failed: Camina worked from the Belter findings")
  let text: string
  if (done.camina.length > 0) {
    text = done.camina.length === 1
      ? done.camina[0]!.content
      : done.camina.map((r) => `# ${byId.get(r.subtaskId)?.description ?? r.subtaskId}\n\n${r.content.trim()}`).join("\n\n")
  } else if (done.drummer.length > 0) {
    if (caminas.length > 0) degraded.push("every Camina failed: the final synthesis combines the Drummer syntheses")
    text = `# Combined synthesis\n\n${done.drummer.map((r) => r.content.trim()).join("\n\n---\n\n")}`
  } else {
    if (caminas.length > 0) degraded.push("no synthesis finished: the final synthesis combines the Belter findings")
    text = `# Combined research findings\n\n${done.belter.map((r) => section(r, byId)).join("\n\n---\n\n")}`
  }
  const synthesisResults = [...drummers, ...caminas].map((result) =>
    new SynthesisResult({
      synthesisId: result.agentId,
      level: tierOf(result),
      content: result.content,
      sourceAgentIds: (byId.get(result.subtaskId)?.dependencies ?? [])
        .filter((id) => results.some((r) => r.subtaskId === id && r.status === "completed")),
      status: result.status,
      executionTime: result.executionTime,
      cost: result.cost,
      usage: result.usage,
      model: result.model,
      error: result.error,
      metadata: { perspective: byId.get(result.subtaskId)?.description, ...result.metadata }
    }, trusted)
  )
  return {
    finalSynthesis: text,
    synthesisResults,
    metadata: {
      tiers: {
        belter: count(belters, done.belter),
        drummer: count(drummers, done.drummer),
        camina: count(caminas, done.camina)
      },
      ...(degraded.length > 0 ? { degraded } : {})
    }
  }
}
