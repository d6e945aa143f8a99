/**
 * Keeps credentials out of everything a provider shows: error details, excerpts of bodies, messages.
 *
 * Text from a provider is scrubbed whole, before anything cuts it: a cut key no longer matches the key, so
 * cutting first would let part of it through. Scrubbing replaces the configured secrets, anything shaped like
 * a key (`sk-…`, `Bearer …`, `api_key: …`), and every run of text that matches 8 or more characters of a
 * configured secret. What is left holds no 8-character piece of a secret, and neither does any cut of it.
 */

/** A URL without its password, for messages (a database's, say). */
export const redactUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "***"
    return parsed.toString()
  } catch {
    return url
  }
}

/** What a secret is replaced with. */
export const redacted = "[redacted]"

/** The length of the shortest piece of a secret that scrubbing finds on its own. */
export const fragmentLength = 8

const keyShaped: ReadonlyArray<readonly [RegExp, string]> = [
  // OpenAI ("sk-…", "sk-proj-…") and Anthropic ("sk-ant-api03-…") keys.
  [/\bsk-[A-Za-z0-9_-]{8,}/g, redacted],
  // Bearer tokens, in headers echoed back or in messages.
  [/\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, `$1${redacted}`],
  // "x-api-key: …", "api_key=…", "\"apiKey\": \"…\"".
  [/\b((?:x-)?api[-_]?key["']?\s*[:=]\s*["']?)[A-Za-z0-9._~+/=-]{8,}/gi, `$1${redacted}`]
]

/** Marks every run of `text` made of `fragmentLength`-character pieces of `secret`. */
const markFragments = (text: string, secret: string, marked: Uint8Array): void => {
  if (secret.length < fragmentLength) return
  const pieces = new Set<string>()
  for (let i = 0; i + fragmentLength <= secret.length; i++) pieces.add(secret.slice(i, i + fragmentLength))
  for (let i = 0; i + fragmentLength <= text.length; i++) {
    if (pieces.has(text.slice(i, i + fragmentLength))) marked.fill(1, i, i + fragmentLength)
  }
}

/** `text` with every secret, every key-shaped string and every 8-character piece of a secret replaced. */
export const scrub = (text: string, secrets: ReadonlyArray<string>): string => {
  let clean = text
  for (const secret of secrets) {
    if (secret.length >= 4) clean = clean.split(secret).join(redacted)
  }
  for (const [pattern, replacement] of keyShaped) clean = clean.replace(pattern, replacement)
  const long = secrets.filter((secret) => secret.length >= fragmentLength)
  if (long.length === 0 || clean.length < fragmentLength) return clean
  const marked = new Uint8Array(clean.length)
  for (const secret of long) markFragments(clean, secret, marked)
  if (!marked.includes(1)) return clean
  let out = ""
  let i = 0
  while (i < clean.length) {
    if (marked[i] === 0) {
      out += clean[i]
      i++
      continue
    }
    while (i < clean.length && marked[i] === 1) i++
    out += redacted
  }
  return out
}

/**
 * `text` on one line, cut to `max` characters with an ellipsis. Never cuts inside a `[redacted]` marker, so
 * that a reader sees the whole marker or none of it. Only for text that is scrubbed already.
 */
export const oneLine = (text: string, max = 300): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  if (flat.length <= max) return flat
  let cut = max - 1
  const marker = flat.lastIndexOf("[", cut)
  if (marker >= 0 && marker > cut - redacted.length && flat.startsWith(redacted, marker)) cut = marker
  return `${flat.slice(0, cut).trimEnd()}…`
}

/** Provider text made safe to show: scrubbed whole, then put on one line and cut to `max` characters. */
export const excerpt = (text: string, secrets: ReadonlyArray<string>, max = 300): string =>
  oneLine(scrub(text, secrets), max)
