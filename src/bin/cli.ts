/**
 * The `orchestrate` command line: Dream Cascade, Dream Swarm or a workflow module of your own, with progress,
 * reports, event logs and a live page.
 */
import { Args, Command, Options, ValidationError } from "@effect/cli"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Terminal from "@effect/platform/Terminal"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as EffectConfigError from "effect/ConfigError"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as DreamCascade from "../DreamCascade.js"
import * as DreamSwarm from "../DreamSwarm.js"
import * as Format from "../Format.js"
import type * as OrchestratorConfig from "../OrchestratorConfig.js"
import * as OrchestratorEvent from "../OrchestratorEvent.js"
import * as OrchestratorResult from "../OrchestratorResult.js"
import * as ProgressBar from "../ProgressBar.js"
import * as Telemetry from "../Telemetry.js"
import * as Workflow from "../Workflow.js"
import { providerChoices, providerHint, providerLayer } from "./providers.js"
import { RunFailed, UsageError } from "./errors.js"
import { parseAddress, serve } from "./serve.js"
import { approveCurrent, commands as durableCommands, durableOptions, runWith, storedEvents } from "./durable.js"
import { searchTools, toolChoices } from "./tools.js"


const shared = {
  provider: Options.choice("provider", providerChoices).pipe(
    Options.withDescription("simulated (offline), openai, anthropic or compatible; default: from the environment"),
    Options.optional
  ),
  model: Options.text("model").pipe(Options.withDescription("the primary model"), Options.optional),
  fallbackModel: Options.text("fallback-model").pipe(
    Options.withDescription("the model tried once the primary's retries are used up"),
    Options.optional
  ),
  maxConcurrent: Options.integer("max-concurrent").pipe(Options.withDescription("agents at once"), Options.optional),
  timeout: Options.float("timeout").pipe(Options.withDescription("seconds per agent"), Options.optional),
  retries: Options.integer("retries").pipe(Options.withDescription("retries of a transient error"), Options.optional),
  budget: Options.float("budget").pipe(Options.withDescription("the most to spend, in US dollars"), Options.optional),
  format: Options.text("format").pipe(Options.withDescription("reports to write: md, pdf or md,pdf"), Options.optional),
  out: Options.text("out").pipe(Options.withDescription("where reports go (default: reports)"), Options.optional),
  events: Options.text("events").pipe(Options.withDescription("write every event to this file, one JSON line each"), Options.optional),
  json: Options.boolean("json").pipe(Options.withDescription("print the result as JSON on stdout")),
  quiet: Options.boolean("quiet").pipe(Options.withDescription("print only the final synthesis")),
  serve: Options.text("serve").pipe(
    Options.withDescription("serve a live page, /events (SSE) and /ws (WebSocket) at HOST:PORT (host default 127.0.0.1)"),
    Options.optional
  ),
  ...durableOptions,
  otlp: Options.text("otlp").pipe(
    Options.withDescription("export traces and metrics over OTLP/HTTP to this base URL (e.g. http://localhost:4318)"),
    Options.optional
  )
}

/** The values of the shared options. */
export type Shared = Command.Command.ParseConfig<typeof shared>

const formatsOf = (value: string): Effect.Effect<ReadonlyArray<OrchestratorConfig.DocumentFormat>, UsageError> => {
  const formats: Array<OrchestratorConfig.DocumentFormat> = []
  for (const part of value.split(",").map((p) => p.trim().toLowerCase()).filter((p) => p !== "")) {
    const format = part === "md" || part === "markdown" ? "markdown" : part === "pdf" ? "pdf" : undefined
    if (format === undefined) {
      return Effect.fail(new UsageError({ problem: `unknown report format "${part}"`, hint: "use --format md, --format pdf or --format md,pdf" }))
    }
    if (!formats.includes(format)) formats.push(format)
  }
  return Effect.succeed(formats)
}

const configOf = (options: Shared, formats: ReadonlyArray<OrchestratorConfig.DocumentFormat>): OrchestratorConfig.Input => {
  const config: { -readonly [K in keyof OrchestratorConfig.Input]: OrchestratorConfig.Input[K] } = {}
  if (Option.isSome(options.model)) config.primaryModel = options.model.value
  if (Option.isSome(options.fallbackModel)) config.fallbackModel = options.fallbackModel.value
  if (Option.isSome(options.maxConcurrent)) config.maxConcurrentAgents = options.maxConcurrent.value
  if (Option.isSome(options.timeout)) config.timeoutSeconds = options.timeout.value
  if (Option.isSome(options.retries)) config.maxRetries = options.retries.value
  if (Option.isSome(options.budget)) config.maxTotalCost = options.budget.value
  if (formats.length > 0) {
    config.generateDocuments = true
    config.documentFormats = formats
  }
  if (Option.isSome(options.out)) config.outputDirectory = options.out.value
  return config
}

/** Writes every event as a line of JSON, in order. */
const eventLog = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const handle = yield* fs.open(file, { flag: "w" })
    const encoder = new TextEncoder()
    return (event: OrchestratorEvent.OrchestratorEvent) =>
      Effect.orDie(handle.writeAll(encoder.encode(`${OrchestratorEvent.toJson(event)}\n`)))
  })

const summary = (result: OrchestratorResult.OrchestratorResult): string => {
  const lines: Array<string> = []
  if (result.finalSynthesis !== undefined) lines.push("", result.finalSynthesis.trim(), "")
  if (result.costs !== undefined) lines.push(Format.costTable(result.costs), "")
  for (const document of result.documents) lines.push(`wrote ${document.path} (${Format.formatTokens(document.sizeBytes)} bytes)`)
  const failed = result.agentResults.filter((agent) => agent.status !== "completed")
  for (const agent of failed) lines.push(`${agent.agentId} ${agent.status}: ${agent.error ?? ""}`)
  lines.push(
    `${result.status} in ${Format.formatDuration(result.executionTime)}, ${Format.formatCost(result.totalCost)}` +
      (result.error === undefined ? "" : `: ${result.error}`)
  )
  return lines.join("\n")
}

/** The exit code of the last run, for when `--serve` keeps the process up until it is interrupted. */
export const lastRun = { code: 0 }

/**
 * Runs a workflow the way the options say, prints the outcome and returns the exit code: 0 for a completed
 * run, 1 for any other.
 */
export const execute = <R>(workflow: Workflow.Workflow<R>, task: string, options: Shared) =>
  Effect.gen(function*() {
    const formats = Option.isSome(options.format) ? yield* formatsOf(options.format.value) : []
    const listeners: Array<(event: OrchestratorEvent.OrchestratorEvent) => Effect.Effect<void>> = []
    if (!options.json && !options.quiet) listeners.push((yield* ProgressBar.make()).onEvent)
    if (Option.isSome(options.events)) listeners.push(yield* eventLog(options.events.value))
    if (Option.isSome(options.serve)) {
      const address = yield* parseAddress(options.serve.value)
      const live = yield* serve(address, task, approveCurrent(options))
      if (Option.isSome(options.runId)) yield* Effect.forEach(yield* storedEvents(options.runId.value, Option.getOrElse(options.store, () => ".orchestrate/runs.db")), live.publish)
      yield* Console.error(`Serving the run at ${live.url} (the page), ${live.url}events (SSE) and ${live.url}ws (WebSocket)`)
      listeners.push(live.publish)
    }
    const choice = Option.getOrUndefined(options.provider)
    const result = yield* runWith(workflow, task, {
      config: configOf(options, formats),
      // The live page shows each agent's text as it is written.
      streamTokens: Option.isSome(options.serve),
      onEvent: (event) => Effect.forEach(listeners, (listener) => listener(event), { discard: true })
    }, options, (code) => (lastRun.code = code)).pipe(
      Effect.catchTag("InvalidConfig", (error) =>
        new UsageError({ problem: error.message, hint: "fix the options; orchestrate <command> --help lists them" })),
      Effect.provide(Layer.merge(
        providerLayer(choice),
        Option.isSome(options.otlp) ? Telemetry.layer({ serviceName: "orchestrate", otlpUrl: options.otlp.value }) : Layer.empty
      )),
      Effect.catchTag("InvalidConfig", (error) => new UsageError({ problem: error.message, hint: providerHint(choice) })),
      Effect.catchIf(EffectConfigError.isConfigError, (error) =>
        new UsageError({ problem: `the provider is not configured: ${String(error)}`, hint: providerHint(choice) }))
    )
    if (options.json) {
      yield* Console.log(JSON.stringify(yield* Effect.orDie(OrchestratorResult.toJson(result).pipe(Effect.map(JSON.parse)))))
    } else if (options.quiet) {
      if (result.finalSynthesis !== undefined) yield* Console.log(result.finalSynthesis.trim())
    } else {
      yield* Console.log(summary(result))
    }
    lastRun.code = result.status === "completed" ? 0 : 1
    if (Option.isSome(options.serve)) {
      yield* Console.error("The run is over; the page stays up until you press Ctrl-C.")
      return yield* Effect.never
    }
    if (result.status !== "completed") return yield* new RunFailed({ status: result.status })
  })

const task = Args.text({ name: "task" }).pipe(Args.withDescription("what to research, in quotes"))

const cascade = Command.make("cascade", {
  task,
  belters: Options.integer("belters").pipe(Options.withDefault(5), Options.withDescription("research agents (tier 1)")),
  drummers: Options.integer("drummers").pipe(Options.withDefault(2), Options.withDescription("group syntheses (tier 2)")),
  caminas: Options.integer("caminas").pipe(Options.withDefault(1), Options.withDescription("executive syntheses (tier 3)")),
  ...shared
}, (options) =>
  execute(
    DreamCascade.make({ belterCount: options.belters, drummerCount: options.drummers, caminaCount: options.caminas }),
    options.task,
    options
  )).pipe(Command.withDescription("hierarchical research: Belters, then Drummers, then Camina"))

const swarm = Command.make("swarm", {
  task,
  agents: Options.integer("agents").pipe(Options.withDefault(5), Options.withDescription("search agents")),
  domains: Options.text("domains").pipe(
    Options.withDefault(DreamSwarm.defaultDomains.join(",")),
    Options.withDescription(`comma-separated, from: ${DreamSwarm.knownDomains.join(", ")}`)
  ),
  maxParallel: Options.integer("max-parallel").pipe(Options.withDefault(3), Options.withDescription("swarm agents at once")),
  tools: Options.choice("tools", toolChoices).pipe(
    Options.withDefault("simulated" as const),
    Options.withDescription("search tools: simulated (offline) or real (arXiv, GitHub, Wikipedia, Hacker News)")
  ),
  ...shared
}, (options) =>
  Effect.flatMap(searchTools(options.tools), ({ layer, tools }) =>
    execute(
      DreamSwarm.make({
        numAgents: options.agents,
        domains: options.domains.split(",").map((d) => d.trim()).filter((d) => d !== ""),
        maxParallel: options.maxParallel,
        tools
      }),
      options.task,
      options
    ).pipe(Effect.provide(layer)))).pipe(Command.withDescription("parallel search over several domains"))

/** The default export of a module the user wrote, which must be a Workflow. */
const loadWorkflow = (file: string) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const absolute = path.resolve(file)
    const url = yield* path.toFileUrl(absolute).pipe(Effect.orDie)
    const typescript = /\.[cm]?tsx?$/.test(absolute)
    const module = yield* Effect.tryPromise({
      try: async () => {
        if (!typescript) return await import(url.href) as { readonly default?: unknown }
        const { tsImport } = await import("tsx/esm/api") as { tsImport: (specifier: string, parent: string) => Promise<unknown> }
        return await tsImport(url.href, import.meta.url) as { readonly default?: unknown }
      },
      catch: (error) =>
        new UsageError({
          problem: `could not load ${file}: ${error instanceof Error ? error.message : String(error)}`,
          hint: typescript ? "running a .ts file needs tsx (npm install tsx); or compile it to .js first" : "check the path"
        })
    })
    const candidate = module.default
    if (!Workflow.isWorkflow(candidate)) {
      return yield* new UsageError({
        problem: `the default export of ${file} is not a Workflow`,
        hint: "export default Workflow.make({ ... }) (or a pattern such as DreamCascade.make(...))"
      })
    }
    return candidate as Workflow.Workflow
  })

const run = Command.make("run", {
  file: Args.text({ name: "file" }).pipe(Args.withDescription("a module whose default export is a Workflow")),
  task,
  ...shared
}, (options) => Effect.flatMap(loadWorkflow(options.file), (workflow) => execute(workflow, options.task, options))).pipe(
  Command.withDescription("run a workflow module you wrote")
)

export const command = Command.make("orchestrate").pipe(
  Command.withDescription("multi-agent LLM workflows: research with Dream Cascade or Dream Swarm, or run your own"),
  Command.withSubcommands([cascade, swarm, run, ...durableCommands((argv): Effect.Effect<void, unknown, Environment> => cli([...process.argv.slice(0, 2), ...argv]))])
)

/** The whole command line, for `NodeRuntime.runMain`. */
export const cli = (argv: ReadonlyArray<string>) =>
  Command.run(command, { name: "orchestrate", version: "0.1.0" })(argv)

/** How each way of ending maps to an exit code: 0 completed, 1 failed, 2 bad usage. */
export const exitCodeOf = (error: unknown): number =>
  error instanceof UsageError || ValidationError.isValidationError(error) ? 2 : 1

export type Environment = FileSystem.FileSystem | Path.Path | Terminal.Terminal | Scope.Scope
