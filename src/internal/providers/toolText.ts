/**
 * Keeps the provider's keys out of the tool calls a model asks for: the parameters go to tools (a search API,
 * say) and into `tool_call` events, so a key the model echoes must not ride along, even in part.
 */
import * as Predicate from "effect/Predicate"
import { fragmentLength, scrub } from "./redact.js"

/**
 * `text`, scrubbed when it holds a configured secret or a piece of one. Text without secret material is kept
 * as it is, key-shaped words included: it is what the model asked the tool for.
 */
const scrubSecretsIn = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.some((secret) => holds(text, secret)) ? scrub(text, secrets) : text

/** Whether `text` holds `secret`, or a piece of it as long as the pieces `scrub` finds. */
const holds = (text: string, secret: string): boolean => {
  if (secret.length < fragmentLength) return secret.length >= 4 && text.includes(secret)
  for (let i = 0; i + fragmentLength <= secret.length; i++) {
    if (text.includes(secret.slice(i, i + fragmentLength))) return true
  }
  return false
}

/** Every string in a JSON value (keys included) scrubbed of `secrets`. */
export const scrubValue = (value: unknown, secrets: ReadonlyArray<string>, depth = 0): unknown => {
  if (secrets.length === 0 || depth > 32) return value
  if (typeof value === "string") return scrubSecretsIn(value, secrets)
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, secrets, depth + 1))
  if (Predicate.isRecord(value)) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      out[scrubSecretsIn(key, secrets)] = scrubValue(item, secrets, depth + 1)
    }
    return out
  }
  return value
}
