/**
 * Text helpers of the source clients: entities, HTML fragments, whitespace, dates.
 */
import * as DateTime from "effect/DateTime"

const named: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'", nbsp: "\u00a0" }

/** Decodes XML's and HTML's common character references; unknown ones stay as written. */
export const decodeEntities = (text: string): string =>
  text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, name: string) => {
    if (name.startsWith("#")) {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10)
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole
    }
    return named[name] ?? whole
  })

/** Collapses runs of whitespace (arXiv hard-wraps its titles and abstracts). */
export const collapse = (text: string): string => text.replace(/\s+/g, " ").trim()

/** The text of an HTML fragment (search excerpts with `<span class="searchmatch">`, HN's `story_text`). */
export const htmlText = (html: string): string =>
  collapse(decodeEntities(html.replace(/<(br|p|\/p|li)\b[^>]*>/gi, " ").replace(/<[^>]*>/g, "")))

/** At most `max` characters, cut at a word and marked with an ellipsis. */
export const truncate = (text: string, max = 400): string => {
  if (text.length <= max) return text
  const cut = text.slice(0, max - 1)
  const space = cut.lastIndexOf(" ")
  return `${space > max / 2 ? cut.slice(0, space) : cut}…`
}

/** A date in any form `Date` reads, as ISO 8601 in UTC; undefined when it is missing or unreadable. */
export const isoDate = (input: string | null | undefined): string | undefined => {
  const millis = epochMillis(input)
  return millis === undefined ? undefined : DateTime.formatIso(DateTime.unsafeMake(millis))
}

/** The instant of a date string (ISO 8601 or an HTTP date); `Date.parse` only reads the text, not the clock. */
export const epochMillis = (input: string | null | undefined): number | undefined => {
  const millis = input === null || input === undefined ? NaN : Date.parse(input.trim())
  return Number.isNaN(millis) ? undefined : millis
}
