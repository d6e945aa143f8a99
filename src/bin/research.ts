/**
 * What every run command does: check the options and everything the run will need (provider, event log,
 * report directory, port) before any call is made, run the workflow with progress, write the reports it asked
 * for, print the outcome and end with the exit code that says it.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Terminal from "@effect/platform/Terminal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as EffectConfigError from "effect/ConfigError"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Format from "../Format.js"
import { describeError } from "../internal/describe.js"
import * as OrchestratorConfig from "../OrchestratorConfig.js"
import * as OrchestratorEvent from "../OrchestratorEvent.js"
import * as OrchestratorResult from "../OrchestratorResult.js"
import * as ProgressBar from "../ProgressBar.js"
import type * as Workflow from "../Workflow.js"
import { approveFor, type CommandLine, durableRunOf, resumeCommand, runWith, storedEvents } from "./durable.js"
import { CommandFailed, exit, osReason, RunEnded, UsageError } from "./errors.js"
import type { ValuesOf } from "./flags.js"
import { complain, line, Output } from "./output.js"
import { describeConfigError, providerHint, providerLayer } from "./providers.js"
import type * as spec from "./spec.js"

/** Completes when the user asks the run to stop (the first Ctrl-C). */
export class CancelSignal extends Context.Tag("multi-agent-orchestration/orchestrate/CancelSignal")<CancelSignal, {
  readonly await: Effect.Effect<void>
}>() {}

/** The options of every run command. */
export type RunFlags = ValuesOf<typeof spec.runOptions>

const formatNames: Readonly<Record<string, OrchestratorConfig.DocumentFormat>> = { md: "markdown", markdown: "markdown", pdf: "pdf" }

/** The reports asked for: `--format`, or Markdown when only `--out` is given. */
export const formatsOf = (flags: RunFlags): Effect.Effect<ReadonlyArray<OrchestratorConfig.DocumentFormat>, UsageError> => {
  if (Option.isNone(flags.format)) return Effect.succeed(Option.isSome(flags.out) ? ["markdown"] : [])
  const parts = flags.format.value.split(",").map((part) => part.trim().toLowerCase()).filter((part) => part !== "")
  const hint = "Use --format md, --format pdf or --format md,pdf"
  if (parts.length === 0) return Effect.fail(new UsageError({ problem: "--format needs at least one report format", hint }))
  const unknown = parts.find((part) => formatNames[part] === undefined)
  if (unknown !== undefined) return Effect.fail(new UsageError({ problem: `unknown report format "${unknown}"`, hint }))
  return Effect.succeed([...new Set(parts.map((part) => formatNames[part]!))])
}

const configOf = (flags: RunFlags): OrchestratorConfig.Input => {
  const config: { -readonly [K in keyof OrchestratorConfig.Input]: OrchestratorConfig.Input[K] } = {}
  if (Option.isSome(flags.model)) config.primaryModel = flags.model.value
  if (Option.isSome(flags.fallbackModel)) config.fallbackModel = flags.fallbackModel.value
  if (Option.isSome(flags.maxConcurrent)) config.maxConcurrentAgents = flags.maxConcurrent.value
  if (Option.isSome(flags.timeout)) config.timeoutSeconds = flags.timeout.value
  if (Option.isSome(flags.retries)) config.maxRetries = flags.retries.value
  if (Option.isSome(flags.budget)) config.maxTotalCost = flags.budget.value
  return config
}

const badOptions = (problems: ReadonlyArray<string>) =>
  new UsageError({ problem: problems.join("; "), hint: "Fix the options; orchestrate <command> --help lists them" })

/** Opens the event log before the run, so that a path that cannot be written stops it before any call. */
const openEventLog = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const handle = yield* fs.open(file, { flag: "w" }).pipe(
      Effect.mapError((error) => new CommandFailed({ problem: `cannot write the event log ${file}: ${osReason(error)}` }))
    )
    const encoder = new TextEncoder()
    let failure: string | undefined
    const write = (event: OrchestratorEvent.OrchestratorEvent) =>
      failure !== undefined ? Effect.void : handle.writeAll(encoder.encode(`${OrchestratorEvent.toJson(event)}\n`)).pipe(
        Effect.catchAll((error) => Effect.sync(() => void (failure = `cannot write the event log ${file}: ${osReason(error)}`)))
      )
    return { write, failure: () => failure }
  })

/** Makes the report directory before the run, so that one that cannot be written stops it before any call. */
const prepareReportDirectory = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* fs.makeDirectory(directory, { recursive: true }).pipe(
      Effect.zipRight(fs.access(directory, { writable: true })),
      Effect.mapError((error) => new CommandFailed({ problem: `cannot write reports to ${directory}: ${osReason(error)}` }))
    )
  })

const agentsCompleted = (result: OrchestratorResult.OrchestratorResult) =>
  result.agentResults.filter((agent) => agent.status === "completed").length

/** The last line of the outcome: status, the one measured duration, and the cost. */
const outcomeLine = (result: OrchestratorResult.OrchestratorResult, planned: number): string => {
  const took = Format.formatSeconds(result.executionTime)
  const cost = Format.formatCost(result.totalCost)
  switch (result.status) {
    case "completed":
      return `completed in ${took}, ${cost}`
    case "cancelled":
      return `interrupted after ${took}: ${agentsCompleted(result)} of ${Math.max(planned, result.agentResults.length)} agents completed, ${cost} spent`
    default:
      return `${result.status} in ${took}, ${cost}: ${result.error ?? "no reason given"}`
  }
}

const summary = (result: OrchestratorResult.OrchestratorResult, planned: number): string => {
  const lines: Array<string> = []
  if (result.finalSynthesis !== undefined) lines.push("", result.finalSynthesis.trim(), "")
  if (result.costs !== undefined) lines.push(Format.costTable(result.costs), "")
  for (const document of result.documents) lines.push(`wrote ${document.path} (${Format.formatTokens(document.sizeBytes)} bytes)`)
  for (const agent of result.agentResults.filter((agent) => agent.status !== "completed")) {
    lines.push(`${agent.agentId} ${agent.status}: ${agent.error ?? ""}`)
  }
  lines.push(outcomeLine(result, planned))
  return lines.join("\n")
}

/** Writes the reports after the run (not for an interrupted one): the result with its documents, and what failed. */
const writeReports = (
  ran: OrchestratorResult.OrchestratorResult,
  formats: ReadonlyArray<OrchestratorConfig.DocumentFormat>,
  directory: string
) =>
  Effect.gen(function*() {
    if (formats.length === 0 || ran.status === "cancelled") return { result: ran, problems: [] }
    const Report = yield* Effect.promise(() => import("../Report.js"))
    const written = yield* Report.writeEach(ran, { formats, outputDirectory: directory })
    return {
      result: new OrchestratorResult.OrchestratorResult({ ...ran, documents: [...written.documents] }, true),
      problems: written.errors.map((error) =>
        `cannot write the ${error.format} report ${error.path ?? directory}: ${osReason(error.cause ?? error.reason)}`
      )
    }
  })

/** Prints the outcome the way the flags ask; with --json or --quiet, stdout holds only what they ask for. */
const printOutcome = (result: OrchestratorResult.OrchestratorResult, flags: RunFlags, planned: number) =>
  Effect.gen(function*() {
    if (flags.json) {
      yield* line(yield* Effect.orDie(OrchestratorResult.toJson(result)))
    } else if (flags.quiet) {
      if (result.finalSynthesis !== undefined) yield* line(result.finalSynthesis.trim())
    } else {
      yield* line(summary(result, planned))
    }
    if ((flags.json || flags.quiet) && result.status !== "completed") yield* complain(outcomeLine(result, planned))
  })

/** The cluster's client, set up before the run: a Postgres that does not answer is bad usage. */
const clusterOf = (url: string) =>
  Effect.flatMap(Effect.promise(() => import("../Cluster.js")), (Cluster) =>
    Layer.build(Cluster.layer({ url, ...clusterTimings() })).pipe(
      Effect.mapError((error) =>
        new UsageError({ problem: error.message, hint: "Give the postgres:// URL of the cluster's running server with --cluster" })
      )
    ))

/** The cluster's lock timings from the environment (see `orchestrate --help`). */
export const clusterTimings = () => {
  const millis = (name: string) => {
    const value = Number(process.env[name])
    return Number.isFinite(value) && value > 0 ? value : undefined
  }
  const lock = millis("ORCHESTRATE_CLUSTER_LOCK_MS")
  return {
    shardLockExpirationMillis: lock,
    shardLockRefreshMillis: lock === undefined ? undefined : Math.max(100, Math.floor(lock / 3)),
    refreshAssignmentsMillis: millis("ORCHESTRATE_CLUSTER_REFRESH_MS")
  }
}

/** A run whose workflow no runner knows failed because of how it was started: exit 2. */
const unknownToRunners = (result: OrchestratorResult.OrchestratorResult) =>
  result.status === "failed" && result.agentResults.some((agent) => agent.errorTag === "UnknownWorkflow")

/**
 * Runs a workflow the way the flags say and prints the outcome; fails with `RunEnded` (exit 1 or 130) when
 * the run did not complete or a report could not be written.
 */
export const research = <R = never>(
  workflow: Workflow.Workflow<R>,
  task: string,
  flags: RunFlags
): Effect.Effect<
  void,
  UsageError | CommandFailed | RunEnded,
  FileSystem.FileSystem | Path.Path | Terminal.Terminal | Output | CancelSignal | CommandLine | Scope.Scope | R
> =>
  Effect.gen(function*() {
    const output = yield* Output
    const cancel = yield* CancelSignal

    // Everything that can be checked is checked before the first call: options, provider, files, port.
    const formats = yield* formatsOf(flags)
    const config = configOf(flags)
    const problems = [...workflow.problems, ...OrchestratorConfig.validate(config)]
    if (problems.length > 0) return yield* badOptions(problems)
    const server = Option.isSome(flags.serve) ? yield* Effect.promise(() => import("./serve.js")) : undefined
    const address = server !== undefined && Option.isSome(flags.serve) ? yield* server.parseAddress(flags.serve.value) : undefined
    const choice = Option.getOrUndefined(flags.provider)
    const telemetry = Option.isSome(flags.otlp)
      ? (yield* Effect.promise(() => import("../Telemetry.js"))).layer({ serviceName: "orchestrate", otlpUrl: flags.otlp.value })
      : Layer.empty
    const provider = yield* Layer.build(Layer.merge(providerLayer(choice), telemetry)).pipe(
      Effect.mapError((error) =>
        EffectConfigError.isConfigError(error)
          ? new UsageError({ problem: `the provider is not configured: ${describeConfigError(error)}`, hint: providerHint(choice) })
          : new UsageError({ problem: describeError(error), hint: providerHint(choice) })
      ),
      Effect.catchAllDefect((defect) => new CommandFailed({ problem: describeError(defect) }))
    )
    const directory = Option.getOrElse(flags.out, () => "reports")
    if (formats.length > 0) yield* prepareReportDirectory(directory)
    const eventLog = Option.isSome(flags.events) ? yield* openEventLog(flags.events.value) : undefined
    const durable = yield* durableRunOf(flags)
    const cluster = Option.isSome(flags.cluster) ? yield* clusterOf(flags.cluster.value) : Context.empty()

    // What the run planned, for saying how far an interrupted run got.
    let seen = ProgressBar.initial
    const listeners: Array<(event: OrchestratorEvent.OrchestratorEvent) => Effect.Effect<void>> = [
      (event) => Effect.sync(() => void (seen = ProgressBar.update(seen, event)))
    ]
    if (server !== undefined && address !== undefined) {
      const live = yield* server.serve(address, task, durable === undefined ? undefined : approveFor(durable))
      // A resumed run's page shows it from its start.
      if (durable?.given === true) yield* Effect.forEach(yield* storedEvents(durable), live.publish, { discard: true })
      output.write("stderr", `Serving the run at ${live.url} (the page), ${live.url}events (SSE) and ${live.url}ws (WebSocket)\n`)
      listeners.push(live.publish)
    }
    if (!flags.json && !flags.quiet) listeners.push((yield* ProgressBar.make({ live: output.color })).onEvent)
    if (eventLog !== undefined) listeners.push(eventLog.write)

    let cancelled = false
    const ran = yield* runWith(workflow, task, {
      config,
      onEvent: (event) => Effect.forEach(listeners, (listener) => listener(event), { discard: true }),
      cancelWhen: Effect.tap(cancel.await, () => Effect.sync(() => void (cancelled = true)))
    }, durable).pipe(
      Effect.provide(provider),
      Effect.provide(cluster),
      Effect.catchTag("InvalidConfig", (error) => badOptions(error.problems))
    )

    // Reports are the step after the run.
    const { problems: unwritten, result } = yield* writeReports(ran, formats, directory)
    const logFailure = eventLog?.failure()
    const failures = logFailure === undefined ? unwritten : [...unwritten, logFailure]
    yield* printOutcome(result, flags, seen.planned)
    for (const failure of failures) yield* complain(failure)
    // A durable run stopped by Ctrl-C (also one waiting for an approval) is continued by `resume`.
    const interrupted = result.status === "cancelled" || (durable !== undefined && cancelled && result.status !== "completed")
    if (durable !== undefined && interrupted) output.write("stderr", `\nInterrupted. Continue with: ${resumeCommand(durable)}\n`)

    const code = interrupted
      ? exit.interrupted
      : unknownToRunners(result)
      ? exit.usage
      : result.status !== "completed" || failures.length > 0
      ? exit.failed
      : exit.completed
    if (address !== undefined && !interrupted) {
      output.write("stderr", "The run is over; the page stays up until you press Ctrl-C.\n")
      yield* cancel.await
    }
    if (code !== exit.completed) return yield* new RunEnded({ code })
  })
