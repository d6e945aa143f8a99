#!/usr/bin/env node
/**
 * The `orchestrate` executable.
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { cli, exitCodeOf, lastRun } from "./cli.js"
import { UsageError } from "./errors.js"

const usage = "\nUsage: orchestrate cascade \"<task>\" | swarm \"<task>\" | run <file> \"<task>\" [options]\n" +
  "Run orchestrate <command> --help for every option."

const program = cli(process.argv).pipe(
  // @effect/cli has printed what was wrong with the command line; say what to type instead.
  Effect.tapError((error) =>
    ValidationError.isValidationError(error)
      ? Console.error(usage)
      : error instanceof UsageError
      ? Console.error(`orchestrate: ${error.problem}\n${error.hint}`)
      : Effect.void
  ),
  Effect.scoped,
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit)) return onExit(0)
    // Interrupted (Ctrl-C while --serve keeps the page up): the run's own outcome decides.
    if (Cause.isInterruptedOnly(exit.cause)) return onExit(lastRun.code)
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) return onExit(exitCodeOf(failure.value))
    process.stderr.write(`${Cause.pretty(exit.cause)}\n`)
    onExit(1)
  }
})
