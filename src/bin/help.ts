/**
 * `--help`, `--version` and usage lines, rendered from the command table alone: printing them loads no other
 * module, so that `orchestrate --help` answers at once.
 */
import { readFileSync } from "node:fs"
import { type CommandSpec, commandNamed, commands, description, environment, exitCodes, type OptionSpec } from "./spec.js"

export interface HelpOptions {
  /** Bold headings; only on a terminal without NO_COLOR. */
  readonly color: boolean
  readonly version: string
}

/** Whether stdout may carry escape sequences: a terminal, without NO_COLOR (https://no-color.org) or TERM=dumb. */
export const colorAllowed = (isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean =>
  isTTY && (env.NO_COLOR === undefined || env.NO_COLOR === "") && env.TERM !== "dumb"

/** The package's version, from its package.json (two levels up from both src/bin and dist/bin). */
export const packageVersion = (): string =>
  (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version

/** What the command line asks of the help, if anything. */
export type HelpRequest =
  | { readonly _tag: "Help"; readonly command: CommandSpec | undefined }
  | { readonly _tag: "Version" }
  | { readonly _tag: "NoCommand" }

/** `--help`/`-h` anywhere before `--` (for the command named first, if any), `--version`, or nothing at all. */
export const helpRequest = (argv: ReadonlyArray<string>): HelpRequest | undefined => {
  if (argv.length === 0) return { _tag: "NoCommand" }
  const end = argv.indexOf("--")
  const flags = end === -1 ? argv : argv.slice(0, end)
  if (flags.includes("--help") || flags.includes("-h")) return { _tag: "Help", command: commandNamed(argv[0]) }
  if (flags.includes("--version")) return { _tag: "Version" }
  return undefined
}

const bold = (text: string, options: HelpOptions) => (options.color ? `\x1b[1m${text}\x1b[22m` : text)

const columns = (rows: ReadonlyArray<readonly [string, string]>, indent = "  "): Array<string> => {
  const width = Math.max(...rows.map(([left]) => left.length))
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}  ${right}`.trimEnd())
}

const argsOf = (command: CommandSpec) => command.args.map((arg) => `<${arg.name}>`).join(" ")

/** `orchestrate cascade <task> [options]` */
export const usageLine = (command: CommandSpec): string =>
  [`orchestrate ${command.name}`, argsOf(command), "[options]"].filter((part) => part !== "").join(" ")

const optionLeft = (option: OptionSpec) =>
  `--${option.name}${option.placeholder === undefined ? "" : ` ${option.placeholder}`}`

const optionRight = (option: OptionSpec) => {
  const shown = option.default !== undefined ? String(option.default) : option.shownDefault
  return shown === undefined ? option.description : `${option.description} (default: ${shown})`
}

const exitCodeLines = () => columns(exitCodes.map(([code, meaning]) => [String(code), meaning] as const))

/** The help of one command. */
export const commandHelp = (command: CommandSpec, options: HelpOptions): string =>
  [
    `${bold("Usage:", options)} ${usageLine(command)}`,
    "",
    command.summary,
    "",
    ...(command.args.length === 0 ? [] : [
      bold("Arguments:", options),
      ...columns(command.args.map((arg) => [`<${arg.name}>`, arg.description] as const)),
      ""
    ]),
    bold("Options:", options),
    ...columns([
      ...Object.values(command.options).map((option) => [optionLeft(option), optionRight(option)] as const),
      ["-h, --help", "show this help"] as const
    ]),
    "",
    bold("Exit codes:", options),
    ...exitCodeLines(),
    ""
  ].join("\n")

/** The help of `orchestrate` itself. */
export const mainHelp = (options: HelpOptions): string =>
  [
    `orchestrate ${options.version}: ${description}`,
    "",
    bold("Usage:", options),
    ...columns(commands.map((command) => [usageLine(command), command.summary] as const)),
    "",
    `Run "orchestrate <command> --help" for the options of a command. Other options: --version, -h/--help.`,
    "",
    bold("Exit codes:", options),
    ...exitCodeLines(),
    "",
    bold("Environment:", options),
    ...columns(environment),
    ""
  ].join("\n")

/** The text to print for a help request, where to print it and the exit code. */
export const answer = (
  request: HelpRequest,
  options: HelpOptions
): { readonly text: string; readonly stream: "stdout" | "stderr"; readonly exitCode: number } => {
  switch (request._tag) {
    case "Version":
      return { text: `${options.version}\n`, stream: "stdout", exitCode: 0 }
    case "Help":
      return {
        text: request.command === undefined ? mainHelp(options) : commandHelp(request.command, options),
        stream: "stdout",
        exitCode: 0
      }
    case "NoCommand":
      return { text: mainHelp(options), stream: "stderr", exitCode: 2 }
  }
}
