/**
 * Dream Swarm: broad, parallel information gathering. Agents spread over search domains, each with its own
 * specialist instructions, and a synthesis groups their findings by domain.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type { AgentResult } from "./AgentResult.js"
import {
  background,
  completedOf,
  countProblem,
  exactly,
  parseList,
  secondsProblem,
  trustedSubTask
} from "./internal/research.js"
import * as Provider from "./Provider.js"
import * as Workflow from "./Workflow.js"

/**
 * The specialist instructions of every known domain: the README's arxiv, github, news and wikipedia, and the
 * original's text, image, video, academic, social, product and technical.
 *
 * @since 0.1.0
 * @category Constants
 */
export const domainInstructions: Readonly<Record<string, string>> = {
  arxiv:
    "You search arXiv preprints. Report the most relevant recent papers with titles, authors and years, what each found, and how solid the evidence is.",
  github:
    "You search GitHub. Report the most relevant repositories and projects with their purpose, activity, maturity and licence.",
  news:
    "You search recent news. Report what happened, when, and according to which outlets; separate facts from commentary.",
  wikipedia:
    "You consult encyclopedic sources like Wikipedia. Give the established background: definitions, history and the consensus view.",
  text: "You search articles and blogs. Report the most useful writing on the topic and what each piece argues.",
  image: "You search images and figures. Describe the most relevant visual material, where it comes from and what it shows.",
  video: "You search videos. Report the most relevant talks, lectures and explainers, who made them and what they cover.",
  academic:
    "You search peer-reviewed literature. Report key studies with their methods, findings and limitations.",
  social:
    "You search forums and social media. Report what practitioners and the public say, and how widely views are shared.",
  product: "You search products and reviews. Report the relevant offerings, their prices, strengths and weaknesses.",
  technical:
    "You search technical documentation, APIs and code. Report how things work in practice, with concrete interfaces and examples."
}

/**
 * Every domain `make` accepts.
 *
 * @since 0.1.0
 * @category Constants
 */
export const knownDomains: ReadonlyArray<string> = Object.keys(domainInstructions)

/**
 * The README's default domains.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultDomains: ReadonlyArray<string> = ["arxiv", "github", "news", "wikipedia"]

/**
 * Options of `DreamSwarm.make`. Every field is optional.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  readonly name?: string | undefined
  /** How many search agents. Default: the configuration's `numAgents`. */
  readonly numAgents?: number | undefined
  /** Where the agents search; they are spread evenly over these. Default: `defaultDomains`. */
  readonly domains?: ReadonlyArray<string> | undefined
  /** The most swarm agents running at once (under the run's `maxConcurrentAgents`). */
  readonly maxParallel?: number | undefined
  /** Default: `workerModel`, then `primaryModel`. */
  readonly agentModel?: string | undefined
  /** Default: `synthesisModel`, then `primaryModel`. */
  readonly synthesisModel?: string | undefined
  /** The time bound of each search agent. Default: `timeoutSeconds`. */
  readonly agentTimeoutSeconds?: number | undefined
}

/**
 * Problems with the options; `make` reports them before anything runs.
 *
 * @since 0.1.0
 * @category Validation
 */
export const validate = (options: Options): Array<string> => {
  const owner = options.name ?? "dream-swarm"
  const domains = options.domains ?? defaultDomains
  const unknown = domains.filter((domain) => !Object.hasOwn(domainInstructions, domain))
  return [
    ...countProblem(owner, "numAgents", options.numAgents, 1),
    ...countProblem(owner, "maxParallel", options.maxParallel, 1),
    ...secondsProblem(owner, "agentTimeoutSeconds", options.agentTimeoutSeconds),
    ...(domains.length === 0 ? [`${owner}: domains must not be empty (known domains: ${knownDomains.join(", ")})`] : []),
    ...unknown.map((domain) => `${owner}: unknown domain "${domain}" (known domains: ${knownDomains.join(", ")})`)
  ]
}

const plannerSystem =
  "You plan searches. Write distinct search queries that together cover the task from different angles. Reply with a numbered list only: one query per line."
const synthesisSystem =
  "You synthesise search results. Summarise what was found for the task, domain by domain (one heading per domain), then say what the domains agree on and where they differ."

const domainOf = (result: AgentResult): string => String(result.metadata.domain ?? result.tier ?? "")

/**
 * A Dream Swarm workflow: one planning call writes `numAgents` search queries (padded with defaults when the
 * reply is unusable), the agents are spread round-robin over `domains` and run at most `maxParallel` at a
 * time, each with its domain's instructions, and the synthesis groups the findings by domain. Calls are
 * charged to the tier of their domain. The domains are specialist instructions for the model; to search for
 * real, give the agents tools in a custom workflow.
 *
 * @since 0.1.0
 * @category Constructors
 * @example
 * ```ts
 * import { DreamSwarm } from "multi-agent-orchestration"
 *
 * const swarm = DreamSwarm.make({ numAgents: 5, domains: ["arxiv", "github", "news", "wikipedia"], maxParallel: 3 })
 * ```
 */
export const make = (options: Options = {}): Workflow.Workflow => {
  const name = options.name ?? "dream-swarm"
  const domains = options.domains ?? defaultDomains
  const workflow = Workflow.make({
    name,
    maxParallel: options.maxParallel,
    decompose: (task, context) =>
      Effect.gen(function*() {
        const count = options.numAgents ?? context.config.numAgents
        const plan = yield* Provider.complete({
          system: plannerSystem,
          prompt: `Write ${count} search queries, a numbered list, for this task.\nTask: ${task}${background(context)}`,
          temperature: 0.6
        })
        const { items, note } = exactly(parseList(plan.content), count, (i) => `${task} (${domains[i % domains.length]} angle)`)
        const subtasks = items.map((query, i) => {
          const domain = domains[i % domains.length]!
          return trustedSubTask({
            id: `swarm-${i + 1}`,
            description: query,
            agentType: "specialized",
            tier: domain,
            metadata: { domain },
            ...(options.agentModel === undefined ? {} : { model: options.agentModel }),
            ...(options.agentTimeoutSeconds === undefined ? {} : { timeoutSeconds: options.agentTimeoutSeconds })
          })
        })
        return { subtasks, fallbackReason: note }
      }),
    execute: (subtask, context) => {
      const domain = String(subtask.metadata.domain)
      return Effect.map(
        Provider.complete({
          system: `${domainInstructions[domain]} Structure the answer with Markdown headings and bullet points.`,
          prompt: `Task: ${context.task}\nSearch: ${subtask.description}\nDomain: ${domain}${background(context)}`,
          temperature: 0.7
        }),
        (completion) => ({ content: completion.content, metadata: { domain } })
      )
    },
    synthesize: (results, context) =>
      Effect.gen(function*() {
        const found = completedOf(results)
        const grouped = domains
          .map((domain) => ({ domain, results: found.filter((result) => domainOf(result) === domain) }))
          .filter((group) => group.results.length > 0)
        const material = grouped
          .map((group) =>
            `## ${group.domain}\n\n${group.results.map((r) => `### ${r.subtaskId}\n\n${r.content.trim()}`).join("\n\n")}`
          )
          .join("\n\n")
        const summary = yield* Provider.complete({
          model: options.synthesisModel,
          system: synthesisSystem,
          prompt: `Task: ${context.task}\n\n${material}`,
          temperature: 0.5
        })
        const descriptions = new Map(context.subtasks.map((subtask) => [subtask.id, subtask.description]))
        const index = grouped
          .map((group) =>
            `### ${group.domain}\n\n${group.results.map((r) => `- ${r.subtaskId}: ${descriptions.get(r.subtaskId) ?? ""}`).join("\n")}`
          )
          .join("\n\n")
        return {
          finalSynthesis: `${summary.content.trim()}\n\n## Findings by domain\n\n${index}`,
          metadata: {
            domains: Object.fromEntries(
              domains.map((domain) => [domain, {
                agents: results.filter((r) => domainOf(r) === domain).length,
                completed: found.filter((r) => domainOf(r) === domain).length
              }])
            )
          }
        }
      })
  })
  const problems = validate(options)
  return Workflow.withSettings(problems.length === 0 ? workflow : Workflow.fromDefinition<never>(name, workflow.definition, problems), options)
}
