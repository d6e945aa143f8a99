/**
 * How a run behaves: agents, models, retries, timeouts, concurrency and budget. Validation lists every
 * problem at once, in plain words, before anything runs. Reports are not part of a run: write them after it
 * with `Report.generate`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidConfig } from "./OrchestratorError.js"

export {
  /**
   * @since 0.1.0
   * @category Errors
   */
  InvalidConfig
} from "./OrchestratorError.js"

/**
 * The report formats `Report.generate` and `Report.write` can produce.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const DocumentFormat = Schema.Literal("markdown", "pdf").annotations({
  identifier: "DocumentFormat",
  message: (issue) => ({
    message: `Invalid document format: ${JSON.stringify(issue.actual)} (must be one of markdown, pdf)`,
    override: true
  })
})

/**
 * @since 0.1.0
 * @category Models
 */
export type DocumentFormat = typeof DocumentFormat.Type

const atLeast = (field: string, n: number) =>
  Schema.Int.pipe(Schema.greaterThanOrEqualTo(n, { message: () => `${field} must be at least ${n}` }))

const positive = (field: string, what = "positive") =>
  Schema.Number.pipe(Schema.positive({ message: () => `${field} must be ${what}` }))

const model = (field: string) =>
  Schema.String.pipe(Schema.nonEmptyString({ message: () => `${field} must not be empty` }))

/**
 * The configuration. Every field has a default, so `{}` is a valid configuration.
 *
 * | field | default | meaning |
 * |---|---|---|
 * | numAgents | 5 | how many agents a pattern's decomposition creates |
 * | maxConcurrentAgents | 10 | the most agents running at once (across nested workflows) |
 * | timeoutSeconds | 300 | the time bound of each agent, retries included |
 * | maxRetries | 2 | retries of a transient provider error, per model (\*) |
 * | retryBaseDelaySeconds | 1 | the first backoff delay; doubled for each further retry (\*) |
 * | retryMaxDelaySeconds | 60 | the longest backoff delay (\*) |
 * | maxTotalCost | none | the budget in US dollars |
 * | budgetWarningThreshold | 0.8 | the share of the budget at which `budget_warning` fires |
 * | primaryModel | the provider's | the model agents use |
 * | fallbackModel | none | the model tried once the primary's attempts are used up |
 * | workerModel | primaryModel | the model of worker agents (Belters, swarm agents) |
 * | synthesisModel | primaryModel | the model of syntheses (Drummers, Camina, final synthesis) |
 * | parallelExecution | true | false runs one agent at a time |
 * | enableCostTracking | true | price every call |
 *
 * (\*) These build the default retry policy, `Retry.transientProviderErrors`; a run given its own `retry`
 * schedule (an option of `Orchestrator.run`) uses that instead.
 *
 * @since 0.1.0
 * @category Models
 */
export class OrchestratorConfig extends Schema.Class<OrchestratorConfig>("multi-agent-orchestration/OrchestratorConfig")({
  numAgents: Schema.optionalWith(atLeast("numAgents", 1), { default: () => 5 }),
  maxConcurrentAgents: Schema.optionalWith(atLeast("maxConcurrentAgents", 1), { default: () => 10 }),
  timeoutSeconds: Schema.optionalWith(positive("timeoutSeconds"), { default: () => 300 }),
  maxRetries: Schema.optionalWith(atLeast("maxRetries", 0), { default: () => 2 }),
  retryBaseDelaySeconds: Schema.optionalWith(
    Schema.Number.pipe(Schema.nonNegative({ message: () => "retryBaseDelaySeconds must be non-negative" })),
    { default: () => 1 }
  ),
  retryMaxDelaySeconds: Schema.optionalWith(positive("retryMaxDelaySeconds"), { default: () => 60 }),
  maxTotalCost: Schema.optional(positive("maxTotalCost", "positive if specified")),
  budgetWarningThreshold: Schema.optionalWith(
    Schema.Number.pipe(Schema.between(0, 1, { message: () => "budgetWarningThreshold must be between 0 and 1" })),
    { default: () => 0.8 }
  ),
  primaryModel: Schema.optional(model("primaryModel")),
  fallbackModel: Schema.optional(model("fallbackModel")),
  workerModel: Schema.optional(model("workerModel")),
  synthesisModel: Schema.optional(model("synthesisModel")),
  parallelExecution: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  enableCostTracking: Schema.optionalWith(Schema.Boolean, { default: () => true })
}) {
  /** The model of worker agents: `workerModel`, else `primaryModel`. */
  get workerModelOrPrimary(): string | undefined {
    return this.workerModel ?? this.primaryModel
  }
  /** The model of syntheses: `synthesisModel`, else `primaryModel`. */
  get synthesisModelOrPrimary(): string | undefined {
    return this.synthesisModel ?? this.primaryModel
  }
  /** The most agents that may run at once. */
  get concurrency(): number {
    return this.parallelExecution ? this.maxConcurrentAgents : 1
  }
}

/**
 * What users write: some or all of the fields, each optional.
 *
 * @since 0.1.0
 * @category Models
 */
export type Input = typeof OrchestratorConfig.Encoded

const fieldNames: ReadonlyArray<string> = Object.keys(OrchestratorConfig.fields)

const camelCase = (name: string): string => name.replace(/[_-]+([a-z0-9])/g, (_, c: string) => c.toUpperCase())

// The original wrote documents inside the run; here a run does no file IO, and reports are a step of their own.
const movedToReport: ReadonlyArray<string> = ["generateDocuments", "documentFormats", "outputDirectory"]

const unknownField = (name: string): string => {
  const moved = movedToReport.find((field) => field.toLowerCase() === camelCase(name).toLowerCase())
  if (moved !== undefined) {
    return `${name} is not a run option: write reports after the run with Report.generate(result, { formats, outputDirectory })`
  }
  const guess = fieldNames.find((field) => field.toLowerCase() === camelCase(name).toLowerCase())
  return guess === undefined ? `unknown field "${name}"` : `unknown field "${name}" (did you mean "${guess}"?)`
}

const withArticle = (expected: string): string =>
  /^(a|an|the) /.test(expected) ? expected : `${/^[aeiou]/.test(expected) ? "an" : "a"} ${expected}`

const describeIssue = (issue: ParseResult.ArrayFormatterIssue): string => {
  const field = issue.path.map(String).join(".")
  if (issue._tag === "Unexpected") return unknownField(field)
  const mismatch = /^Expected (.+), actual (.+)$/s.exec(issue.message)
  if (mismatch !== null) return `${field} must be ${withArticle(mismatch[1]!)}, got ${mismatch[2]}`
  if (field === "" || issue.message.startsWith(String(issue.path[0])) || issue.message.startsWith("Invalid")) {
    return issue.message
  }
  return `${field}: ${issue.message}`
}

// An optional field fails twice (as its type and as `undefined`): keep the first, more telling, issue, and
// drop any later issue about a path that an earlier one already reported on or inside.
const firstIssuePerPath = (issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>) => {
  const kept: Array<ParseResult.ArrayFormatterIssue> = []
  for (const issue of issues) {
    const covered = kept.some((earlier) => issue.path.every((key, i) => earlier.path[i] === key))
    if (!covered) kept.push(issue)
  }
  return kept
}

const crossFieldProblems = (input: Record<string, unknown>): Array<string> => {
  const problems: Array<string> = []
  if (input.maxTotalCost !== undefined && input.enableCostTracking === false) {
    problems.push("maxTotalCost needs enableCostTracking: a budget cannot be enforced without pricing calls")
  }
  const base = input.retryBaseDelaySeconds
  const max = input.retryMaxDelaySeconds
  if (typeof base === "number" && typeof max === "number" && base > max) {
    problems.push("retryBaseDelaySeconds must not be greater than retryMaxDelaySeconds")
  }
  return problems
}

const decodeEither = Schema.decodeUnknownEither(OrchestratorConfig, { errors: "all", onExcessProperty: "error" })

/**
 * Every problem with a configuration, as readable messages; empty when it is valid.
 *
 * @since 0.1.0
 * @category Validation
 * @example
 * ```ts
 * import { OrchestratorConfig } from "multi-agent-orchestration"
 *
 * OrchestratorConfig.validate({ numAgents: 0, num_agents: 3 })
 * // ["unknown field \"num_agents\" (did you mean \"numAgents\"?)", "numAgents must be at least 1"]
 * ```
 */
export const validate = (input: unknown): Array<string> => check(input).problems

/** Decodes once: the problems, and the configuration when there are none. */
const check = (input: unknown): { readonly problems: Array<string>; readonly config?: OrchestratorConfig } => {
  if (input instanceof OrchestratorConfig) {
    const problems = crossFieldProblems(input as unknown as Record<string, unknown>)
    return problems.length === 0 ? { problems, config: input } : { problems }
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { problems: ["the configuration must be an object"] }
  }
  // The empty configuration is by far the most common: its defaults are decoded once, below.
  if (Object.keys(input).length === 0) return { problems: [], config: defaults }
  const key = keyOf(input as Record<string, unknown>)
  const known = key === undefined ? undefined : recentlyDecoded.get(key)
  if (known !== undefined) return { problems: [], config: known }
  const result = decodeEither(input)
  const problems = [
    ...(Either.isLeft(result)
      ? firstIssuePerPath(ParseResult.ArrayFormatter.formatErrorSync(result.left)).map(describeIssue)
      : []),
    ...crossFieldProblems(input as Record<string, unknown>)
  ]
  if (problems.length > 0 || Either.isLeft(result)) return { problems }
  if (key !== undefined) {
    if (recentlyDecoded.size >= 256) recentlyDecoded.clear()
    recentlyDecoded.set(key, result.right)
  }
  return { problems, config: result.right }
}

// An application runs with a few configurations many times over: each is decoded once (a decode is a good
// share of a short run's own cost), then found by its fields and values. Configurations are immutable.
const recentlyDecoded = new Map<string, OrchestratorConfig>()

/** The fields and values of a configuration of plain values, as a string; `undefined` for anything else. */
const keyOf = (input: Record<string, unknown>): string | undefined => {
  let key = ""
  for (const name of Object.keys(input)) {
    const value = input[name]
    const type = typeof value
    if ((type === "object" && value !== null) || type === "function" || type === "symbol") return undefined
    key += `${JSON.stringify(name)}:${type}:${type === "string" ? JSON.stringify(value) : String(value)};`
  }
  return key
}

/**
 * Decodes a configuration, applying defaults; fails with an `InvalidConfig` listing every problem.
 *
 * @since 0.1.0
 * @category Validation
 */
export const decode = (input: Input | OrchestratorConfig | undefined): Effect.Effect<OrchestratorConfig, InvalidConfig> =>
  Effect.suspend(() => {
    const { config, problems } = check(input ?? {})
    return config === undefined ? Effect.fail(new InvalidConfig({ problems })) : Effect.succeed(config)
  })

/**
 * The defaults.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const defaults: OrchestratorConfig = Schema.decodeUnknownSync(OrchestratorConfig)({})
