import * as Data from "effect/Data"

/** Bad usage: what was wrong, and what to type instead. Exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly problem: string; readonly hint?: string | undefined }> {
  override get message(): string {
    return this.hint === undefined ? this.problem : `${this.problem}. ${this.hint}`
  }
}

/** Something the command needed could not be done (a file, a port, a report): one line saying what and why. Exit code 1. */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{ readonly problem: string }> {
  override get message(): string {
    return this.problem
  }
}

/** The run ended and its outcome is printed; the process exits with `code` (1 failed, 130 interrupted). */
export class RunEnded extends Data.TaggedError("RunEnded")<{ readonly code: number }> {}

/** Exit codes. */
export const exit = { completed: 0, failed: 1, usage: 2, interrupted: 130 } as const

/**
 * The OS reason of a file or socket error, e.g. "no such file or directory (ENOENT)": from the Node error
 * under a `PlatformError`, or from the message.
 */
export const osReason = (error: unknown): string => {
  const seen = new Set<unknown>()
  let current: unknown = error
  while (typeof current === "object" && current !== null && !seen.has(current)) {
    seen.add(current)
    const { code, message } = current as { code?: unknown; message?: unknown }
    if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code) && typeof message === "string") {
      // "ENOENT: no such file or directory, open '/x'", "listen EADDRINUSE: address already in use 127.0.0.1:80"
      const after = message.slice(message.indexOf(`${code}: `) + code.length + 2)
      const text = message.includes(`${code}: `) ? after.split(", ")[0]!.replace(/ \S*:\d+$/, "") : message
      return `${text} (${code})`
    }
    current = (current as { cause?: unknown }).cause
  }
  return error instanceof Error ? error.message : String(error)
}
