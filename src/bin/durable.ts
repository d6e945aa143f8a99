/**
 * Durable runs on the command line: `--durable`, `--store` and `--run-id` for the run commands (`runWith`),
 * and what the `runs`, `resume`, `approve` and `show` commands do. Their options are in `spec.ts`; the
 * commands are built in `cli.ts`.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import { AgentResult } from "../AgentResult.js"
import * as Format from "../Format.js"
import { isDeadLocalHolder } from "../internal/durable/run.js"
import * as Orchestrator from "../Orchestrator.js"
import type { InvalidConfig } from "../OrchestratorError.js"
import * as OrchestratorEvent from "../OrchestratorEvent.js"
import * as OrchestratorResult from "../OrchestratorResult.js"
import type * as Provider from "../Provider.js"
import * as RunStore from "../RunStore.js"
import type { TaskStatus } from "../TaskStatus.js"
import type * as Workflow from "../Workflow.js"
import { ApprovalFailed, type Approve } from "./approvalRoute.js"
import { CommandFailed, osReason, UsageError } from "./errors.js"
import type { ValuesOf } from "./flags.js"
import { line, Output } from "./output.js"
import type * as spec from "./spec.js"

/** The command line being run (the arguments after the program's name): a durable run records it, for `resume`. */
export class CommandLine extends Context.Tag("multi-agent-orchestration/orchestrate/CommandLine")<
  CommandLine,
  ReadonlyArray<string>
>() {}

/** A durable run of this process: its id and its store. */
export interface DurableRun {
  readonly runId: string
  readonly location: string
  /** An id given with `--run-id`: the run may exist already, and is then resumed. */
  readonly given: boolean
}

const storeOf = (flags: { readonly store: Option.Option<string> }) => Option.getOrElse(flags.store, () => RunStore.defaultFilename)

const storeFlag = (location: string) => (location === RunStore.defaultFilename ? "" : ` --store ${location}`)

/** Store problems are bad usage: exit 2, with what to do. */
const storeLayer = (location: string) =>
  Layer.mapError(RunStore.layer(location), (error) =>
    new UsageError({
      problem: error.message,
      hint: error._tag === "RunStoreTooNew"
        ? "Upgrade multi-agent-orchestration to read this store"
        : "Give a SQLite file this process can write, or a postgres:// URL of a running server, with --store"
    }))

const withStore = <A, E, R>(location: string, effect: Effect.Effect<A, E, R | RunStore.RunStore>) =>
  Effect.provide(effect, storeLayer(location))

const durableUsage = (error: RunStore.DurableError): UsageError =>
  new UsageError({
    problem: error.message,
    hint: error._tag === "RunHeld"
      ? "Wait for the other process to finish, or for its lease to expire"
      : error._tag === "RunMismatch"
      ? "Resume with the same workflow, task and options, or start a new run"
      : error._tag === "RunNotFound"
      ? "orchestrate runs lists the runs in the store"
      : "Check --store"
  })

/** The durable run the flags ask for, if any: `--durable`, or `--store` (which implies it). */
export const durableRunOf = (flags: ValuesOf<Pick<typeof spec.runOptions, "durable" | "store" | "runId">>) =>
  !flags.durable && Option.isNone(flags.store)
    ? Effect.succeed(undefined)
    : Effect.map(
      Option.match(flags.runId, {
        onNone: () => Effect.map(Random.nextIntBetween(0, 0x7fffffff), (n) => `run-${n.toString(36)}`),
        onSome: Effect.succeed
      }),
      (runId): DurableRun => ({ runId, location: storeOf(flags), given: Option.isSome(flags.runId) })
    )

/** The command that continues a run. */
export const resumeCommand = (run: DurableRun): string => `orchestrate resume ${run.runId}${storeFlag(run.location)}`

/** The flags that only change how a run is shown: `resume` takes them afresh. */
const presentation = new Map([["--cluster", 1], ["--serve", 1], ["--events", 1], ["--json", 0], ["--quiet", 0]])
const durableFlags = new Map([["--durable", 0], ["--store", 1], ["--run-id", 1]])

const without = (argv: ReadonlyArray<string>, flags: ReadonlyMap<string, number>): Array<string> => {
  const kept: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const takes = flags.get(arg.split("=", 1)[0]!)
    if (takes === undefined) kept.push(arg)
    else if (takes === 1 && !arg.includes("=")) i++
  }
  return kept
}

/** What the run was started with, minus the store, the id and how it was shown. */
const launchOf = (argv: ReadonlyArray<string>) => JSON.stringify(without(without(argv, durableFlags), presentation))

const approveLine = (run: DurableRun, step: string) =>
  `orchestrate approve ${run.runId} ${step} [--reject] [--note TEXT]${storeFlag(run.location)}`

/** Records a decision for a durable run: the live page's Approve and Reject buttons. */
export const approveFor = (run: DurableRun): Approve => (step, approved, note) =>
  withStore(run.location, Orchestrator.approve(run.runId, step, { approved, note })).pipe(
    Effect.mapError((error) => new ApprovalFailed({ reason: error.message }))
  )

/**
 * Runs a workflow, durably when `durable` is given: the run is recorded in the store, an approval it waits for
 * is announced with the command that decides it, and a run interrupted outright prints how to resume it.
 */
export const runWith = <R>(
  workflow: Workflow.Workflow<R>,
  task: string,
  runOptions: Orchestrator.RunOptions,
  durable: DurableRun | undefined
): Effect.Effect<OrchestratorResult.OrchestratorResult, InvalidConfig | UsageError, Provider.Provider | R | Output | CommandLine> => {
  if (durable === undefined) return Orchestrator.run(workflow, task, runOptions)
  return Effect.gen(function*() {
    const output = yield* Output
    const argv = yield* CommandLine
    const say = (text: string) => Effect.sync(() => output.write("stderr", `${text}\n`))
    yield* say(`Durable run ${durable.runId} in ${durable.location}`)
    const onEvent = runOptions.onEvent
    return yield* Orchestrator.run(workflow, task, {
      ...runOptions,
      onEvent: (event) =>
        Effect.zipRight(
          event.type === "approval_requested"
            ? say(`Waiting for approval "${event.data.step}": ${event.data.prompt}\n  ${approveLine(durable, event.data.step)}`)
            : Effect.void,
          Effect.suspend(() => onEvent?.(event) ?? Effect.void)
        ),
      durable: { runId: durable.runId, launch: launchOf(argv) }
    }).pipe(
      Effect.tap((result) =>
        result.status === "pending" && result.failure?._tag === "AwaitingApproval"
          ? say(`Waiting for approval "${result.failure.step}": ${approveLine(durable, result.failure.step)}`)
          : Effect.void
      ),
      // A second Ctrl-C interrupts the run outright; it can still be resumed.
      Effect.onInterrupt(() => say(`\nInterrupted. Continue with: ${resumeCommand(durable)}`)),
      Effect.catchIf(
        (error): error is RunStore.DurableError => error._tag !== "InvalidConfig",
        (error) => Effect.fail(durableUsage(error))
      ),
      Effect.provide(storeLayer(durable.location))
    )
  })
}

/** The stored events of a run, for the live page of a resumed run: viewers see it from its start. */
export const storedEvents = (run: DurableRun) =>
  withStore(
    run.location,
    Effect.gen(function*() {
      const store = yield* RunStore.RunStore
      const stored = yield* Effect.orElseSucceed(store.events(run.runId, 0), () => [])
      const events: Array<OrchestratorEvent.OrchestratorEvent> = []
      for (const { json } of stored) {
        const decoded = yield* Effect.option(OrchestratorEvent.decode(JSON.parse(json)))
        // The end of an earlier process is not the end of the run.
        if (Option.isSome(decoded) && !OrchestratorEvent.isTerminal(decoded.value)) events.push(decoded.value)
      }
      return events
    })
  )

/** Runs the CLI again with another command line: `resume` and `approve` start the stored command. */
export type Rerun<R> = (argv: ReadonlyArray<string>) => Effect.Effect<void, unknown, R>

const storedRun = (runId: string) =>
  Effect.flatMap(RunStore.RunStore, (store) =>
    Effect.flatMap(
      Effect.mapError(store.get(runId), durableUsage),
      Option.match({
        onNone: () => Effect.fail(durableUsage(new RunStore.RunNotFound({ runId }))),
        onSome: Effect.succeed
      })
    ))

type Shown = ValuesOf<Pick<typeof spec.runOptions, "cluster" | "serve" | "events" | "json" | "quiet">>

const shownArgv = (flags: Shown): Array<string> => [
  ...Option.match(flags.cluster, { onNone: () => [], onSome: (value) => ["--cluster", value] }),
  ...Option.match(flags.serve, { onNone: () => [], onSome: (value) => ["--serve", value] }),
  ...Option.match(flags.events, { onNone: () => [], onSome: (value) => ["--events", value] }),
  ...(flags.json ? ["--json"] : []),
  ...(flags.quiet ? ["--quiet"] : [])
]

/** Starts the stored command of a run again, with the given presentation flags. */
const restart = <R>(rerun: Rerun<R>, runId: string, location: string, shown: Shown) =>
  Effect.gen(function*() {
    const run = yield* withStore(location, storedRun(runId))
    if (run.launch === undefined) {
      return yield* new UsageError({
        problem: `run ${runId} was not started by orchestrate, so it does not know its workflow`,
        hint: "Resume it from your program with Orchestrator.resume(workflow, runId)"
      })
    }
    const argv = JSON.parse(run.launch) as Array<string>
    yield* rerun([...argv, "--durable", "--store", location, "--run-id", runId, ...shownArgv(shown)])
  })

const statusOf = (run: RunStore.RunInfo, now: number): string =>
  run.status === "running" && (run.leaseExpiresAt === undefined || run.leaseExpiresAt < now) ? "stopped" : run.status

/** `orchestrate runs`: a table of the runs in the store. */
export const listRuns = (flags: ValuesOf<typeof spec.runs.options>) =>
  withStore(
    storeOf(flags),
    Effect.gen(function*() {
      const list = yield* Effect.mapError(RunStore.list, durableUsage)
      const now = Date.now()
      const rows = [["RUN", "STATUS", "PROGRESS", "AGENTS", "COST", "UPDATED", "WORKFLOW"]]
      for (const run of list) {
        rows.push([
          run.runId,
          statusOf(run, now),
          `${Math.round(run.progress)}%`,
          String(run.agents),
          Format.formatCost(run.cost),
          new Date(run.updatedAt).toISOString().replace("T", " ").slice(0, 19),
          run.workflow
        ])
      }
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
      yield* line(rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n"))
    })
  )

/** `orchestrate resume RUN`: the stored command again, on the same run. */
export const resumeRun = <R>(rerun: Rerun<R>, flags: ValuesOf<typeof spec.resume.options> & { readonly run: string }) =>
  restart(rerun, flags.run, storeOf(flags), flags)

/** `orchestrate approve RUN STEP`: records the decision, then continues the run unless a process waits on it. */
export const approveRun = <R>(
  rerun: Rerun<R>,
  flags: ValuesOf<typeof spec.approve.options> & { readonly run: string; readonly step: string }
) =>
  Effect.gen(function*() {
    const output = yield* Output
    const location = storeOf(flags)
    const run = yield* withStore(
      location,
      Effect.zipRight(
        Orchestrator.approve(flags.run, flags.step, { approved: !flags.reject, note: Option.getOrUndefined(flags.note) }).pipe(
          Effect.mapError((error) =>
            error._tag === "ApprovalNotFound"
              ? new UsageError({ problem: error.message, hint: "orchestrate runs lists the runs; the step is the approval's name" })
              : durableUsage(error)
          )
        ),
        storedRun(flags.run)
      )
    )
    output.write("stderr", `${flags.reject ? "Rejected" : "Approved"} "${flags.step}" of run ${flags.run}\n`)
    // A process that waits on the approval takes the decision itself; otherwise this one continues the run.
    const held = run.leaseHolder !== undefined && (run.leaseExpiresAt ?? 0) > Date.now() && !isDeadLocalHolder(run.leaseHolder)
    if (flags.noResume || held || (run.status !== "waiting" && run.status !== "running" && run.status !== "interrupted")) return
    yield* restart(rerun, flags.run, location, flags)
  })

const formatNames: Readonly<Record<string, "markdown" | "pdf">> = { md: "markdown", markdown: "markdown", pdf: "pdf" }

/** `orchestrate show RUN`: the reports of a stored run. */
export const showRun = (flags: ValuesOf<typeof spec.show.options> & { readonly run: string }) =>
  Effect.gen(function*() {
    const parts = flags.format.split(",").map((part) => part.trim().toLowerCase()).filter((part) => part !== "")
    const unknown = parts.find((part) => formatNames[part] === undefined)
    if (parts.length === 0 || unknown !== undefined) {
      return yield* new UsageError({
        problem: unknown === undefined ? "--format needs at least one report format" : `unknown report format "${unknown}"`,
        hint: "Use --format md, --format pdf or --format md,pdf"
      })
    }
    const result = yield* withStore(storeOf(flags), resultOf(flags.run))
    const Report = yield* Effect.promise(() => import("../Report.js"))
    const written = yield* Report.writeEach(result, { formats: [...new Set(parts.map((part) => formatNames[part]!))], outputDirectory: flags.out })
    for (const document of written.documents) yield* line(`wrote ${document.path}`)
    const failed = written.errors[0]
    if (failed !== undefined) {
      return yield* new CommandFailed({
        problem: `cannot write the ${failed.format} report ${failed.path ?? flags.out}: ${osReason(failed.cause ?? failed.reason)}`
      })
    }
  })

const decodeAgent = Schema.decodeUnknown(AgentResult)

/** A stored run's result: the final one, or one made of the agents finished so far. */
const resultOf = (runId: string) =>
  Effect.gen(function*() {
    const run = yield* storedRun(runId)
    if (run.result !== undefined) {
      return yield* Effect.mapError(OrchestratorResult.fromJson(run.result), (error) =>
        new UsageError({ problem: `the stored result of ${runId} is unreadable: ${error.message}`, hint: "Check the store" }))
    }
    const store = yield* RunStore.RunStore
    const steps = yield* Effect.mapError(store.steps(runId), durableUsage)
    const agents: Array<AgentResult> = []
    for (const step of steps) {
      if (step.kind !== "agent") continue
      const record = JSON.parse(step.record) as { result: unknown }
      const agent = yield* Effect.option(decodeAgent(record.result))
      if (Option.isSome(agent)) agents.push(agent.value)
    }
    const status: TaskStatus = run.status === "waiting" ? "pending" : run.status === "interrupted" ? "cancelled" : "running"
    return new OrchestratorResult.OrchestratorResult({
      taskId: runId,
      title: run.title,
      status,
      agentResults: agents,
      totalCost: run.cost,
      usage: {
        inputTokens: agents.reduce((sum, agent) => sum + agent.usage.inputTokens, 0),
        outputTokens: agents.reduce((sum, agent) => sum + agent.usage.outputTokens, 0)
      },
      startedAt: new Date(run.createdAt).toISOString()
    })
  })
