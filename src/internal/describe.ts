import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"

/** A one-line, human-readable account of any error value. */
export const describeError = (error: unknown): string => {
  if (typeof error === "string") return error
  // A decode error's message is a multi-line tree: list the failing paths instead.
  if (ParseResult.isParseError(error)) return `invalid data: ${issueList(error)}`
  if (error instanceof Error) {
    const tag = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : undefined
    if (error.message !== "" && error.message !== "An error has occurred") return error.message
    return tag ?? error.name
  }
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string") {
    return Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message !== ""
      ? `${error._tag}: ${error.message}`
      : error._tag
  }
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

/** The failure of a cause in one line: its first error, or its defect, or "interrupted". */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return describeError(failure.value)
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) return `Unexpected error: ${describeError(defect.value)}`
  return "interrupted"
}

/** The failing paths of a decode error on one line: `id: Expected a non empty string, actual ""; priority: ...`. */
export const issueList = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${issue.path.length === 0 ? "(value)" : issue.path.map(String).join(".")}: ${issue.message}`)
    .join("; ")
