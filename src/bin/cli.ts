/**
 * The `orchestrate` command line as an Effect: `runCli(argv)` parses, runs the command, prints what happened
 * and returns the exit code (0 completed, 1 failed, 2 bad usage, 130 interrupted); it never fails. The parser
 * is `@effect/cli`'s, built from the command table in `spec.ts`; `--help` is rendered from the same table.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Terminal from "@effect/platform/Terminal"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as DreamCascade from "../DreamCascade.js"
import * as DreamSwarm from "../DreamSwarm.js"
import { describeError } from "../internal/describe.js"
import { approveRun, CommandLine, listRuns, resumeRun, showRun } from "./durable.js"
import { CommandFailed, exit, RunEnded, UsageError } from "./errors.js"
import { optionsOf } from "./flags.js"
import { answer, helpRequest, packageVersion, usageLine } from "./help.js"
import { loadWorkflow } from "./load.js"
import { runRunner } from "./runner.js"
import { complain, consoleOf, Output } from "./output.js"
import { type CancelSignal, research } from "./research.js"
import * as spec from "./spec.js"
import { searchTools } from "./tools.js"
import { Args, Command, HelpDoc, ValidationError } from "./vendor.js"

const argOf = (arg: spec.ArgSpec) => Args.text({ name: arg.name }).pipe(Args.withDescription(arg.description))

const cascade = Command.make(spec.cascade.name, {
  task: argOf(spec.cascade.args[0]),
  ...optionsOf(spec.cascade.options)
}, (flags) =>
  research(
    DreamCascade.make({ belterCount: flags.belters, drummerCount: flags.drummers, caminaCount: flags.caminas }),
    flags.task,
    flags
  ))

const swarm = Command.make(spec.swarm.name, {
  task: argOf(spec.swarm.args[0]),
  ...optionsOf(spec.swarm.options)
}, (flags) =>
  Effect.flatMap(searchTools(Option.getOrElse(flags.tools, () => "simulated" as const)), ({ layer, tools }) =>
    research(
      DreamSwarm.make({
        numAgents: flags.agents,
        domains: flags.domains.split(",").map((domain) => domain.trim()).filter((domain) => domain !== ""),
        maxParallel: flags.maxParallel,
        tools
      }),
      flags.task,
      flags
    ).pipe(Effect.provide(layer))))

const run = Command.make(spec.run.name, {
  file: argOf(spec.run.args[0]),
  task: argOf(spec.run.args[1]),
  ...optionsOf(spec.run.options)
}, (flags) => Effect.flatMap(loadWorkflow(flags.file), (workflow) => research(workflow, flags.task, flags)))

const runs = Command.make(spec.runs.name, optionsOf(spec.runs.options), listRuns)

/** `resume` and `approve` continue a run by running the command it was started with, on the same run. */
const rerun = (argv: ReadonlyArray<string>): Effect.Effect<void, unknown, Environment> =>
  Command.run(command, { name: "orchestrate", version })(["node", "orchestrate", ...argv]).pipe(
    Effect.provideService(CommandLine, argv),
    Effect.scoped
  )

const resume = Command.make(spec.resume.name, {
  run: argOf(spec.resume.args[0]),
  ...optionsOf(spec.resume.options)
}, (flags) => resumeRun(rerun, flags))

const approve = Command.make(spec.approve.name, {
  run: argOf(spec.approve.args[0]),
  step: argOf(spec.approve.args[1]),
  ...optionsOf(spec.approve.options)
}, (flags) => approveRun(rerun, flags))

const runner = Command.make(spec.runner.name, optionsOf(spec.runner.options), runRunner)

const show = Command.make(spec.show.name, {
  run: argOf(spec.show.args[0]),
  ...optionsOf(spec.show.options)
}, showRun)

/**
 * Every subcommand, each built from its entry in `spec.commands`. A new command is added to both lists; a test
 * checks that they name the same commands.
 */
export const subcommands = [cascade, swarm, run, runs, resume, approve, show, runner] as const

export const command = Command.make("orchestrate").pipe(Command.withSubcommands(subcommands))

/** What a command needs from its environment. */
export type Environment = FileSystem.FileSystem | Path.Path | Terminal.Terminal | Output | CancelSignal

const version = packageVersion()

const validationProblem = (error: ValidationError.ValidationError): string =>
  HelpDoc.toAnsiText(error.error).replace(/\x1b\[[0-9;]*m/g, "").replace(/\s+/g, " ").trim()

const usageHint = (argv: ReadonlyArray<string>): string => {
  const named = spec.commandNamed(argv[0])
  return named === undefined
    ? `The commands are ${spec.commands.map((c) => c.name).join(", ")}; orchestrate --help says more`
    : `Usage: ${usageLine(named)}; orchestrate ${named.name} --help lists the options`
}

/**
 * Runs the command line `argv` (the arguments after the program's name) and returns the exit code, having
 * printed everything through `Output`: never fails, and never prints a failure twice.
 */
export const runCli = (argv: ReadonlyArray<string>): Effect.Effect<number, never, Environment> =>
  Effect.gen(function*() {
    const output = yield* Output
    const request = helpRequest(argv)
    if (request !== undefined) {
      const help = answer(request, { color: output.color, version })
      output.write(help.stream, help.text)
      return help.exitCode
    }
    return yield* Command.run(command, { name: "orchestrate", version })(["node", "orchestrate", ...argv]).pipe(
      Effect.withConsole(consoleOf(output, { dropErrors: true })),
      Effect.as(exit.completed),
      Effect.catchAll((error): Effect.Effect<number, never, Output> => {
        if (ValidationError.isValidationError(error)) {
          return Effect.as(complain(`${validationProblem(error)}. ${usageHint(argv)}`), exit.usage)
        }
        if (error instanceof UsageError) return Effect.as(complain(error.message), exit.usage)
        if (error instanceof CommandFailed) return Effect.as(complain(error.message), exit.failed)
        if (error instanceof RunEnded) return Effect.succeed(error.code)
        return Effect.as(complain(describeError(error)), exit.failed)
      }),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.succeed(exit.interrupted)
          : Effect.as(complain(`unexpected error: ${describeError(Cause.squash(cause))}`), exit.failed)
      ),
      Effect.scoped,
      Effect.provideService(CommandLine, argv)
    )
  })

