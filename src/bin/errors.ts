import * as Data from "effect/Data"

/** Bad usage: what was wrong, and what to type instead. Exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly problem: string; readonly hint: string }> {
  override get message(): string {
    return `${this.problem}\n${this.hint}`
  }
}

/** The run ended without completing. Exit code 1; the details were printed already. */
export class RunFailed extends Data.TaggedError("RunFailed")<{ readonly status: string }> {}
