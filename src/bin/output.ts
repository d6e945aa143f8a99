/**
 * Where the CLI writes: stdout and stderr, and whether escape sequences (colours, the live progress bar) are
 * allowed. Everything the commands print goes through `Output`, also the progress bar (as its `Terminal`),
 * `@effect/cli`'s own output (as the `Console`) and log lines (to stderr), so that a test can run a command
 * in-process and read what it printed.
 */
import type * as PlatformError from "@effect/platform/Error"
import * as Terminal from "@effect/platform/Terminal"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { format } from "node:util"

export interface Service {
  /** Writes at once (synchronously), so that nothing is lost when the process exits. */
  readonly write: (stream: "stdout" | "stderr", text: string) => void
  /** stdout is a terminal and NO_COLOR is not set: colours and cursor movement are allowed. */
  readonly color: boolean
  /** The terminal's width; 0 when unknown. */
  readonly columns: number
}

export class Output extends Context.Tag("multi-agent-orchestration/orchestrate/Output")<Output, Service>() {}

const escapes = /\x1b\[[0-9;?]*[ -/]*[@-~]/g

/** Removes ANSI escape sequences. */
export const plain = (text: string): string => text.replace(escapes, "")

/** An `Output` over two writers; escapes are removed unless `color`. */
export const make = (options: {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly color: boolean
  readonly columns?: number | undefined
}): Service => ({
  write: (stream, text) => {
    const shown = options.color ? text : plain(text)
    if (stream === "stdout") options.stdout(shown)
    else options.stderr(shown)
  },
  color: options.color,
  columns: options.columns ?? 0
})

/** A line on stdout. */
export const line = (text: string) => Effect.flatMap(Output, (output) => Effect.sync(() => output.write("stdout", `${text}\n`)))

/** A line on stderr, prefixed with the program's name. */
export const complain = (text: string) =>
  Effect.flatMap(Output, (output) => Effect.sync(() => output.write("stderr", `orchestrate: ${text}\n`)))

/** The progress bar's terminal: live (redrawn) only where escapes are allowed. */
const terminal = (output: Service): Terminal.Terminal =>
  Terminal.Terminal.of({
    columns: Effect.sync(() => output.columns),
    rows: Effect.succeed(0),
    isTTY: Effect.sync(() => output.color),
    readInput: Effect.dieMessage("orchestrate reads no keyboard input"),
    readLine: Effect.dieMessage("orchestrate reads no keyboard input"),
    display: (text: string): Effect.Effect<void, PlatformError.PlatformError> => Effect.sync(() => output.write("stdout", text))
  })

/**
 * `Console.log` to stdout; `Console.error` (and the rest) to stderr, or nowhere with `dropErrors`: the
 * commands say what went wrong in their own words, so `@effect/cli`'s error pages are not printed as well.
 */
export const consoleOf = (output: Service, options: { readonly dropErrors: boolean }): Console.Console => {
  const out = (...args: ReadonlyArray<unknown>) => Effect.sync(() => output.write("stdout", `${format(...args)}\n`))
  const err = (...args: ReadonlyArray<unknown>) =>
    options.dropErrors ? Effect.void : Effect.sync(() => output.write("stderr", `${format(...args)}\n`))
  const unsafe: Console.UnsafeConsole = {
    assert: (condition, ...args) => {
      if (!condition) output.write("stderr", `${format("Assertion failed", ...args)}\n`)
    },
    clear: () => {},
    count: () => {},
    countReset: () => {},
    debug: (...args) => output.write("stderr", `${format(...args)}\n`),
    dir: (item) => output.write("stdout", `${format(item)}\n`),
    dirxml: (...args) => output.write("stdout", `${format(...args)}\n`),
    error: (...args) => output.write("stderr", `${format(...args)}\n`),
    group: () => {},
    groupCollapsed: () => {},
    groupEnd: () => {},
    info: (...args) => output.write("stdout", `${format(...args)}\n`),
    log: (...args) => output.write("stdout", `${format(...args)}\n`),
    table: (data) => output.write("stdout", `${format(data)}\n`),
    time: () => {},
    timeEnd: () => {},
    timeLog: () => {},
    trace: (...args) => output.write("stderr", `${format(...args)}\n`),
    warn: (...args) => output.write("stderr", `${format(...args)}\n`)
  }
  return {
    [Console.TypeId]: Console.TypeId,
    assert: (condition, ...args) => Effect.sync(() => unsafe.assert(condition, ...args)),
    clear: Effect.void,
    count: () => Effect.void,
    countReset: () => Effect.void,
    debug: err,
    dir: (item) => out(item),
    dirxml: out,
    error: err,
    group: () => Effect.void,
    groupEnd: Effect.void,
    info: out,
    log: out,
    table: (data) => out(data),
    time: () => Effect.void,
    timeEnd: () => Effect.void,
    timeLog: () => Effect.void,
    trace: err,
    warn: err,
    unsafe
  }
}

const messageText = (message: unknown): string =>
  Array.isArray(message) ? message.map((part) => (typeof part === "string" ? part : format(part))).join(" ") : format(message)

/** Log lines go to stderr, one each: stdout stays clean for `--json` and `--quiet`. */
const logger = (output: Service) =>
  Logger.make(({ cause, logLevel, message }) => {
    const squashed = Cause.isEmpty(cause) ? undefined : Cause.squash(cause)
    const reason = squashed === undefined ? "" : `: ${squashed instanceof Error ? squashed.message : format(squashed)}`
    output.write("stderr", `orchestrate: ${logLevel.label.toLowerCase()}: ${messageText(message)}${reason}\n`)
  })

/** The `Terminal`, `Console` and logger of a command, from its `Output`. */
export const services = (output: Service): Layer.Layer<Terminal.Terminal | Output> =>
  Layer.mergeAll(
    Layer.succeed(Output, output),
    Layer.succeed(Terminal.Terminal, terminal(output)),
    Console.setConsole(consoleOf(output, { dropErrors: false })),
    Logger.replace(Logger.defaultLogger, logger(output))
  )
