/**
 * Durable runs on the command line: `--durable`, `--store` and `--run-id` for the run commands, and the
 * `runs`, `resume`, `approve` and `show` commands.
 */
import { Args, Command, Options } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import { AgentResult } from "../AgentResult.js"
import * as Format from "../Format.js"
import * as Orchestrator from "../Orchestrator.js"
import type { InvalidConfig } from "../OrchestratorError.js"
import * as OrchestratorEvent from "../OrchestratorEvent.js"
import * as OrchestratorResult from "../OrchestratorResult.js"
import type * as Provider from "../Provider.js"
import * as Report from "../Report.js"
import * as RunStore from "../RunStore.js"
import type { TaskStatus } from "../TaskStatus.js"
import type * as Workflow from "../Workflow.js"
import type { Environment } from "./cli.js"
import { UsageError } from "./errors.js"
import { isDeadLocalHolder } from "../internal/durable/run.js"

/** The options every run command takes. */
export const durableOptions = {
  durable: Options.boolean("durable").pipe(
    Options.withDescription(`record the run in the store (${RunStore.defaultFilename}), to resume it after a crash or Ctrl-C`)
  ),
  store: Options.text("store").pipe(
    Options.withDescription(`the run store: a SQLite FILE or a postgres:// URL (default ${RunStore.defaultFilename}); implies --durable`),
    Options.optional
  ),
  runId: Options.text("run-id").pipe(Options.withDescription("the durable run's id (default: a new one)"), Options.optional)
}

interface DurableFlags {
  readonly durable: boolean
  readonly store: Option.Option<string>
  readonly runId: Option.Option<string>
}

const storeOf = (flags: { readonly store: Option.Option<string> }) => Option.getOrElse(flags.store, () => RunStore.defaultFilename)

/** Store problems are bad usage: exit 2, with what to do. */
const storeLayer = (location: string) =>
  Layer.mapError(RunStore.layer(location), (error) =>
    new UsageError({
      problem: error.message,
      hint: error._tag === "RunStoreTooNew"
        ? "upgrade multi-agent-orchestration to read this store"
        : "give a SQLite file this process can write, or a postgres:// URL of a running server, with --store"
    }))

const durableUsage = (error: RunStore.DurableError): UsageError =>
  new UsageError({
    problem: error.message,
    hint: error._tag === "RunHeld"
      ? "wait for the other process to finish, or for its lease to expire"
      : error._tag === "RunMismatch"
      ? "resume with the same workflow, task and options, or start a new run"
      : error._tag === "RunNotFound"
      ? "orchestrate runs lists the runs in the store"
      : "check --store"
  })

const newRunId = Effect.map(Random.nextIntBetween(0, 0x7fffffff), (n) => `run-${n.toString(36)}`)

/** The flags that only change how a run is shown: `resume` takes them afresh. */
const presentation = new Map([["--serve", 1], ["--events", 1], ["--json", 0], ["--quiet", 0]])
const durableFlags = new Map([["--durable", 0], ["--store", 1], ["--run-id", 1]])

const without = (argv: ReadonlyArray<string>, flags: ReadonlyMap<string, number>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [name] = arg.split("=", 1)
    const takes = flags.get(name!)
    if (takes === undefined) out.push(arg)
    else if (takes === 1 && !arg.includes("=")) i++
  }
  return out
}

/** What the run was started with, minus the store, the id and how it was shown. */
const launchOf = (argv: ReadonlyArray<string>) => JSON.stringify(without(without(argv, durableFlags), presentation))

/** The durable run this process runs, for the live page's approval buttons. */
const current: { runId: string | undefined; location: string } = { runId: undefined, location: RunStore.defaultFilename }

/** Records a decision for this process's durable run (the live page's buttons); undefined when not durable. */
export const approveCurrent = (flags: { readonly durable: boolean; readonly store: Option.Option<string> }) =>
  !flags.durable && Option.isNone(flags.store)
    ? undefined
    : (step: string, approved: boolean, note: string | undefined): Effect.Effect<void, string> =>
      current.runId === undefined
        ? Effect.fail("no durable run yet")
        : withStore(current.location, Orchestrator.approve(current.runId, step, { approved, note })).pipe(
          Effect.mapError((error) => error.message)
        )

/** Set by the CLI when a durable run is interrupted, so that it exits with 130 after printing how to resume. */
export const interrupted = { code: 130 }

/**
 * Runs a workflow, durably when the flags say so. `report` is told how to announce the resume command when
 * the run is interrupted.
 */
export const runWith = <R>(
  workflow: Workflow.Workflow<R>,
  task: string,
  runOptions: Orchestrator.RunOptions,
  flags: DurableFlags,
  onInterrupt: (code: number) => void
): Effect.Effect<OrchestratorResult.OrchestratorResult, InvalidConfig | UsageError, Provider.Provider | R> => {
  if (!flags.durable && Option.isNone(flags.store)) return Orchestrator.run(workflow, task, runOptions)
  return Effect.gen(function*() {
    const location = storeOf(flags)
    const runId = Option.isSome(flags.runId) ? flags.runId.value : yield* newRunId
    current.runId = runId
    current.location = location
    const resume = `orchestrate resume ${runId}${location === RunStore.defaultFilename ? "" : ` --store ${location}`}`
    yield* Console.error(`Durable run ${runId} in ${location}`)
    const onEvent = runOptions.onEvent
    return yield* Orchestrator.run(workflow, task, {
      ...runOptions,
      onEvent: (event) =>
        Effect.zipRight(
          event.type === "approval_requested"
            ? Console.error(
              `Waiting for approval "${event.data.step}": ${event.data.prompt}\n  orchestrate approve ${runId} ${event.data.step} [--reject] [--note TEXT]${
                location === RunStore.defaultFilename ? "" : ` --store ${location}`
              }`
            )
            : Effect.void,
          Effect.suspend(() => onEvent?.(event) ?? Effect.void)
        ),
      durable: { runId, launch: launchOf(process.argv.slice(2)) }
    }).pipe(
      Effect.tap((result) =>
        result.status === "pending" && result.failure?._tag === "AwaitingApproval"
          ? Console.error(`Waiting for approval "${result.failure.step}": orchestrate approve ${runId} ${result.failure.step} [--reject] [--note TEXT]`)
          : Effect.void
      ),
      Effect.onInterrupt(() =>
        Effect.sync(() => onInterrupt(interrupted.code)).pipe(
          Effect.zipRight(Console.error(`\nInterrupted. Continue with: ${resume}`))
        )
      ),
      Effect.catchIf((error): error is RunStore.DurableError => error._tag !== "InvalidConfig", (error) => Effect.fail(durableUsage(error))),
      Effect.provide(storeLayer(location))
    )
  })
}

/** Runs the CLI again with another command line (resume and approve start the stored command). */
export type Rerun = (argv: ReadonlyArray<string>) => Effect.Effect<void, unknown, Environment>

const storeOption = Options.text("store").pipe(
  Options.withDescription(`the run store: a SQLite FILE or a postgres:// URL (default ${RunStore.defaultFilename})`),
  Options.optional
)
const runArg = Args.text({ name: "run" }).pipe(Args.withDescription("the run's id (orchestrate runs lists them)"))

const storedRun = (runId: string) =>
  Effect.flatMap(RunStore.RunStore, (store) =>
    Effect.flatMap(store.get(runId), Option.match({
      onNone: () => Effect.fail(durableUsage(new RunStore.RunNotFound({ runId }))),
      onSome: Effect.succeed
    })))

const withStore = <A, E, R>(location: string, effect: Effect.Effect<A, E, R | RunStore.RunStore>) =>
  Effect.provide(effect, storeLayer(location))

/** Starts the stored command of a run again, with the given presentation flags. */
const restart = (rerun: Rerun, runId: string, location: string, shown: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const run = yield* withStore(location, Effect.mapError(storedRun(runId), (e) => e))
    if (run.launch === undefined) {
      return yield* new UsageError({
        problem: `run ${runId} was not started by orchestrate, so it does not know its workflow`,
        hint: "resume it from your program with Orchestrator.resume(workflow, runId)"
      })
    }
    const argv = JSON.parse(run.launch) as Array<string>
    yield* rerun([...argv, "--durable", "--store", location, "--run-id", runId, ...shown])
  })

const shownFlags = {
  serve: Options.text("serve").pipe(Options.withDescription("serve the live page at HOST:PORT"), Options.optional),
  events: Options.text("events").pipe(Options.withDescription("write every event to this file"), Options.optional),
  json: Options.boolean("json").pipe(Options.withDescription("print the result as JSON on stdout")),
  quiet: Options.boolean("quiet").pipe(Options.withDescription("print only the final synthesis"))
}

const shownArgv = (flags: Command.Command.ParseConfig<typeof shownFlags>): Array<string> => [
  ...Option.match(flags.serve, { onNone: () => [], onSome: (v) => ["--serve", v] }),
  ...Option.match(flags.events, { onNone: () => [], onSome: (v) => ["--events", v] }),
  ...(flags.json ? ["--json"] : []),
  ...(flags.quiet ? ["--quiet"] : [])
]

const pad = (text: string, width: number) => (text.length >= width ? text : text + " ".repeat(width - text.length))

const statusOf = (run: RunStore.RunInfo, now: number): string =>
  run.status === "running" && (run.leaseExpiresAt === undefined || run.leaseExpiresAt < now) ? "stopped" : run.status

/** The commands, given how to run the CLI again. */
export const commands = (rerun: Rerun) => {
  const runs = Command.make("runs", { store: storeOption }, (flags) =>
    withStore(storeOf(flags), Effect.gen(function*() {
      const list = yield* Effect.mapError(RunStore.list, (error) => durableUsage(error))
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
      yield* Console.log(rows.map((row) => row.map((cell, i) => pad(cell, widths[i]!)).join("  ").trimEnd()).join("\n"))
    }))).pipe(Command.withDescription("list the runs in the store: status, progress, cost, last update"))

  const resume = Command.make("resume", { run: runArg, store: storeOption, ...shownFlags }, (flags) =>
    restart(rerun, flags.run, storeOf(flags), shownArgv(flags))).pipe(
      Command.withDescription("continue a durable run that stopped, with the options it was started with")
    )

  const approve = Command.make("approve", {
    run: runArg,
    step: Args.text({ name: "step" }).pipe(Args.withDescription("the approval step's name")),
    reject: Options.boolean("reject").pipe(Options.withDescription("reject instead of approving")),
    note: Options.text("note").pipe(Options.withDescription("a note, passed to the steps after it"), Options.optional),
    noResume: Options.boolean("no-resume").pipe(Options.withDescription("only record the decision")),
    store: storeOption,
    ...shownFlags
  }, (flags) =>
    Effect.gen(function*() {
      const location = storeOf(flags)
      const run = yield* withStore(location, Effect.gen(function*() {
        yield* Orchestrator.approve(flags.run, flags.step, {
          approved: !flags.reject,
          note: Option.getOrUndefined(flags.note)
        }).pipe(Effect.mapError((error) =>
          error._tag === "ApprovalNotFound"
            ? new UsageError({ problem: error.message, hint: "orchestrate runs lists the runs; the step is the approval's name" })
            : durableUsage(error)
        ))
        return yield* storedRun(flags.run)
      }))
      yield* Console.error(`${flags.reject ? "Rejected" : "Approved"} "${flags.step}" of run ${flags.run}`)
      // A process that waits on the approval takes the decision itself; otherwise this one continues the run.
      const held = run.leaseHolder !== undefined && (run.leaseExpiresAt ?? 0) > Date.now() && !isDeadLocalHolder(run.leaseHolder)
      if (flags.noResume || held || (run.status !== "waiting" && run.status !== "running" && run.status !== "interrupted")) return
      yield* restart(rerun, flags.run, location, shownArgv(flags))
    })).pipe(Command.withDescription("approve (or --reject) a durable run's approval step, then continue the run"))

  const show = Command.make("show", {
    run: runArg,
    store: storeOption,
    format: Options.text("format").pipe(Options.withDefault("md"), Options.withDescription("md, pdf or md,pdf")),
    out: Options.text("out").pipe(Options.withDefault("reports"), Options.withDescription("where the reports go"))
  }, (flags) =>
    Effect.gen(function*() {
      const formats: Array<"markdown" | "pdf"> = []
      for (const part of flags.format.split(",").map((p) => p.trim().toLowerCase()).filter((p) => p !== "")) {
        const format = part === "md" || part === "markdown" ? "markdown" : part === "pdf" ? "pdf" : undefined
        if (format === undefined) return yield* new UsageError({ problem: `unknown report format "${part}"`, hint: "use --format md, pdf or md,pdf" })
        formats.push(format)
      }
      const result = yield* withStore(storeOf(flags), resultOf(flags.run))
      const documents = yield* Report.write(result, { formats, outputDirectory: flags.out }).pipe(
        Effect.mapError((error) => new UsageError({ problem: error.message, hint: "check --out" }))
      )
      for (const document of documents) yield* Console.log(`wrote ${document.path}`)
    })).pipe(Command.withDescription("write the reports of a stored run, finished or not"))

  return [runs, resume, approve, show] as const
}

const decodeAgent = Schema.decodeUnknown(AgentResult)

/** A stored run's result: the final one, or one made of the agents finished so far. */
const resultOf = (runId: string) =>
  Effect.gen(function*() {
    const run = yield* storedRun(runId)
    if (run.result !== undefined) {
      return yield* Effect.mapError(OrchestratorResult.fromJson(run.result), (error) =>
        new UsageError({ problem: `the stored result of ${runId} is unreadable: ${error.message}`, hint: "check the store" }))
    }
    const store = yield* RunStore.RunStore
    const steps = yield* Effect.mapError(store.steps(runId), (error) => durableUsage(error))
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
        inputTokens: agents.reduce((sum, a) => sum + a.usage.inputTokens, 0),
        outputTokens: agents.reduce((sum, a) => sum + a.usage.outputTokens, 0)
      },
      startedAt: new Date(run.createdAt).toISOString()
    })
  })

/** Stored events of a run, for a live page that serves a resumed run: clients that reconnect catch up. */
export const storedEvents = (runId: string, location: string) =>
  withStore(location, Effect.gen(function*() {
    const store = yield* RunStore.RunStore
    const stored = yield* Effect.orElseSucceed(store.events(runId, 0), () => [])
    const events: Array<OrchestratorEvent.OrchestratorEvent> = []
    for (const { json } of stored) {
      const decoded = yield* Effect.option(OrchestratorEvent.decode(JSON.parse(json)))
      // The end of an earlier process is not the end of the run.
      if (Option.isSome(decoded) && !OrchestratorEvent.isTerminal(decoded.value)) events.push(decoded.value)
    }
    return events
  }))
