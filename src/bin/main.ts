/**
 * Runs `orchestrate` in this Node process: its output on process.stdout and process.stderr, its file system
 * and terminal from `@effect/platform-node`. The first Ctrl-C (SIGINT) stops the run, which then prints what
 * was done and what it cost and exits 130; a second one stops at once.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import { runCli } from "./cli.js"
import { exit } from "./errors.js"
import { colorAllowed } from "./help.js"
import * as Output from "./output.js"
import { CancelSignal } from "./research.js"
import { NodeContext } from "./vendor.js"

export const main = (argv: ReadonlyArray<string>): void => {
  const output = Output.make({
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    color: colorAllowed(process.stdout.isTTY === true, process.env),
    columns: process.stdout.columns
  })
  const cancel = Deferred.unsafeMake<void>(FiberId.none)
  const layer = Layer.mergeAll(
    NodeContext.layer,
    Output.services(output),
    Layer.succeed(CancelSignal, { await: Deferred.await(cancel) })
  )
  const fiber = Effect.runFork(runCli(argv).pipe(Effect.provide(layer)))
  let signals = 0
  const onSignal = () => {
    signals++
    if (signals === 1) Deferred.unsafeDone(cancel, Exit.void)
    else if (signals === 2) fiber.unsafeInterruptAsFork(FiberId.none)
    else process.exit(exit.interrupted)
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((result) => {
    process.exit(Exit.isSuccess(result) ? result.value : exit.interrupted)
  })
}
