/**
 * Dream Swarm: broad, parallel information gathering. Agents spread over search domains, each with its own
 * specialist instructions, and a synthesis groups their findings by domain.
 *
 * @since 0.1.0
 */
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Agent from "./Agent.js"
import type { AgentResult } from "./AgentResult.js"
import { plan } from "./internal/plans.js"
import { background, completedOf, countProblem, secondsProblem, trustedSubTask } from "./internal/research.js"
import { citedSources, type Listed, sourcesSection } from "./internal/sources.js"
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
export interface Options<Tools extends Record<string, Tool.Any> = {}> {
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
  /**
   * Tools to search with: each agent gets `toolFor(domain)` (all of `toolkit` without `toolFor`), runs a tool
   * loop of at most `maxSteps` model calls, and cites what it found as Markdown links; agents of a domain
   * without a tool work from the model alone. `SearchTools` has a real tool for most domains:
   * `{ toolkit: SearchTools.toolkit, toolFor: SearchTools.toolFor }`.
   */
  readonly tools?: SwarmTools<Tools> | undefined
}

/**
 * The tools of a swarm.
 *
 * @since 0.1.0
 * @category Models
 */
export interface SwarmTools<Tools extends Record<string, Tool.Any>> {
  readonly toolkit: Toolkit.Toolkit<Tools>
  readonly toolFor?: ((domain: string) => Tool.Any | undefined) | undefined
  /** The most model calls of each agent's tool loop. Default: 4. */
  readonly maxSteps?: number | undefined
}

/**
 * Problems with the options; `make` reports them before anything runs.
 *
 * @since 0.1.0
 * @category Validation
 */
export const validate = <Tools extends Record<string, Tool.Any>>(options: Options<Tools>): Array<string> => {
  const owner = options.name ?? "dream-swarm"
  const domains = options.domains ?? defaultDomains
  const unknown = domains.filter((domain) => !Object.hasOwn(domainInstructions, domain))
  return [
    ...countProblem(owner, "numAgents", options.numAgents, 1),
    ...countProblem(owner, "maxParallel", options.maxParallel, 1),
    ...countProblem(owner, "tools.maxSteps", options.tools?.maxSteps, 1),
    ...secondsProblem(owner, "agentTimeoutSeconds", options.agentTimeoutSeconds),
    ...(domains.length === 0 ? [`${owner}: domains must not be empty (known domains: ${knownDomains.join(", ")})`] : []),
    ...unknown.map((domain) => `${owner}: unknown domain "${domain}" (known domains: ${knownDomains.join(", ")})`)
  ]
}

const plannerSystem =
  "You plan searches. Write distinct search queries that together cover the task from different angles. Reply with the queries only: in the JSON format you are asked for, or else as a numbered list, one query per line."
const synthesisCiteInstruction =
  "Cite the sources the findings link to, as Markdown links to their URLs."
const synthesisSystem =
  "You synthesise search results. Summarise what was found for the task, domain by domain (one heading per domain), then say what the domains agree on and where they differ."

const domainOf = (result: AgentResult): string => String(result.metadata.domain ?? result.tier ?? "")

const citeInstruction = (tools: ReadonlyArray<string>) =>
  `Search with the ${tools.join(", ")} tool${tools.length === 1 ? "" : "s"} first (refine the query and search again if the results are poor), then report what you found. Cite every source you use as a Markdown link to its URL, and cite nothing you did not find.`

/**
 * A Dream Swarm workflow: one planning call writes `numAgents` search queries (padded with defaults when the
 * reply is unusable), the agents are spread round-robin over `domains` and run at most `maxParallel` at a
 * time, each with its domain's instructions, and the synthesis groups the findings by domain. Calls are
 * charged to the tier of their domain. The plan is asked for as typed output (a JSON list of queries); a
 * numbered list is read too.
 *
 * Without `tools` the domains are specialist instructions for the model. With `tools`, each agent searches its
 * domain's source in a tool loop and cites the sources it uses as links (`metadata.sources` of its result),
 * and the final synthesis ends with a "Sources" list of every source the agents cited.
 *
 * @since 0.1.0
 * @category Constructors
 * @example
 * ```ts
 * import { DreamSwarm } from "multi-agent-orchestration"
 * import * as SearchTools from "multi-agent-orchestration/SearchTools"
 *
 * const swarm = DreamSwarm.make({ numAgents: 5, domains: ["arxiv", "github", "news", "wikipedia"], maxParallel: 3 })
 *
 * // Each agent searches its domain's source (provide SearchTools.layerSimulated() or a real layer to run it).
 * const searching = DreamSwarm.make({
 *   numAgents: 4,
 *   tools: { toolkit: SearchTools.toolkit, toolFor: SearchTools.toolFor }
 * })
 * ```
 */
export const make = <Tools extends Record<string, Tool.Any> = {}>(
  options: Options<Tools> = {}
): Workflow.Workflow<NoInfer<Agent.ToolRequirements<Tools>>> => {
  const name = options.name ?? "dream-swarm"
  const domains = options.domains ?? defaultDomains
  const tools = options.tools
  /** The names of the tools a domain's agents may call; empty when they have none. */
  const toolsOf = (domain: string): ReadonlyArray<string> => {
    if (tools === undefined) return []
    if (tools.toolFor === undefined) return Object.values(tools.toolkit.tools).map((tool) => tool.name)
    const tool = tools.toolFor(domain)
    return tool === undefined ? [] : [tool.name]
  }
  const workflow = Workflow.make({
    name,
    maxParallel: options.maxParallel,
    decompose: (task, context) =>
      Effect.gen(function*() {
        const count = options.numAgents ?? context.config.numAgents
        const { items, note } = yield* plan("queries", {
          system: plannerSystem,
          prompt: `Write ${count} search queries, a numbered list, for this task.\nTask: ${task}${background(context)}`,
          temperature: 0.6
        }, count, (i) => `${task} (${domains[i % domains.length]} angle)`)
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
      const prompt = `Task: ${context.task}\nSearch: ${subtask.description}\nDomain: ${domain}${background(context)}`
      const names = toolsOf(domain)
      if (tools === undefined || names.length === 0) {
        return Effect.map(
          Provider.complete({
            system: `${domainInstructions[domain]} Structure the answer with Markdown headings and bullet points.`,
            prompt,
            temperature: 0.7
          }),
          (completion) => ({ content: completion.content, metadata: { domain } })
        )
      }
      return Effect.map(
        Agent.run({
          system: `${domainInstructions[domain]} ${citeInstruction(names)} Structure the answer with Markdown headings and bullet points.`,
          prompt,
          temperature: 0.7,
          tools: tools.toolkit,
          only: names,
          maxSteps: tools.maxSteps ?? 4
        }),
        (answer) => ({
          content: answer.content,
          metadata: {
            domain,
            ...answer.metadata,
            sources: citedSources(answer.content, answer.toolCalls)
          }
        })
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
          system: tools === undefined ? synthesisSystem : `${synthesisSystem} ${synthesisCiteInstruction}`,
          prompt: `Task: ${context.task}\n\n${material}`,
          temperature: 0.5
        })
        const descriptions = new Map(context.subtasks.map((subtask) => [subtask.id, subtask.description]))
        const index = grouped
          .map((group) =>
            `### ${group.domain}\n\n${group.results.map((r) => `- ${r.subtaskId}: ${descriptions.get(r.subtaskId) ?? ""}`).join("\n")}`
          )
          .join("\n\n")
        const sources = tools === undefined ? [] : sourcesSection(found, domainOf)
        const listed = sources.length === 0
          ? ""
          : `\n\n## Sources\n\n${sources.map((s) => `- [${s.title}](${s.url}) (${s.cited.join(", ")})`).join("\n")}`
        return {
          finalSynthesis: `${summary.content.trim()}\n\n## Findings by domain\n\n${index}${listed}`,
          metadata: {
            domains: Object.fromEntries(
              domains.map((domain) => [domain, {
                agents: results.filter((r) => domainOf(r) === domain).length,
                completed: found.filter((r) => domainOf(r) === domain).length
              }])
            ),
            ...(tools === undefined ? {} : { sources })
          }
        }
      })
  })
  const problems = validate(options)
  return Workflow.withSettings(
    problems.length === 0 ? workflow : Workflow.fromDefinition(name, workflow.definition, problems),
    options
  ) as Workflow.Workflow<NoInfer<Agent.ToolRequirements<Tools>>>
}

/**
 * A source of a swarm's synthesis (in `metadata.sources` of its result): its title, URL and date, the domain
 * whose agent found it, and the agents that cite it.
 *
 * @since 0.1.0
 * @category Models
 */
export type Source = Listed
