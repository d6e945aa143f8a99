import { Cause, Logger } from "effect"

/** A logger that keeps every line (its message, then its cause if any), so that a test can read what was logged. */
export const captureLogs = () => {
  const lines: Array<{ readonly level: string; readonly message: string }> = []
  const layer = Logger.add(Logger.make(({ cause, logLevel, message }) => {
    const text = [message].flat().map(String).join(" ")
    lines.push({ level: logLevel.label, message: Cause.isEmpty(cause) ? text : `${text} ${Cause.pretty(cause)}` })
  }))
  return { lines, layer }
}
