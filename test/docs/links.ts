/**
 * Checks the links of the documentation: a `#heading` link must name a heading of its file, and a relative link
 * must name a file that exists (and a heading of it, if it has one).
 */
import * as fs from "node:fs"
import * as path from "node:path"

/** The text outside fenced code blocks and inline code, line by line (fenced lines become empty). */
const prose = (text: string): Array<string> => {
  let fence: string | undefined
  return text.split("\n").map((line) => {
    const match = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence === undefined && match !== null) {
      fence = match[1]!
      return ""
    }
    if (fence !== undefined) {
      const trimmed = line.trim()
      if (trimmed.startsWith(fence) && /^(`+|~+)$/.test(trimmed)) fence = undefined
      return ""
    }
    return line.replace(/`[^`]*`/g, "")
  })
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes; repeats get -1, -2, … */
export const anchors = (text: string): Set<string> => {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  let fence: string | undefined
  for (const line of text.split("\n")) {
    const match = /^\s*(`{3,}|~{3,})/.exec(line)
    if (fence === undefined && match !== null) fence = match[1]!
    else if (fence !== undefined) {
      const trimmed = line.trim()
      if (trimmed.startsWith(fence) && /^(`+|~+)$/.test(trimmed)) fence = undefined
    } else {
      const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
      if (heading === null) continue
      const slug = heading[1]!.toLowerCase().replace(/[^\p{L}\p{M}\p{N}_ -]/gu, "").replace(/ /g, "-")
      const count = seen.get(slug) ?? 0
      seen.set(slug, count + 1)
      result.add(count === 0 ? slug : `${slug}-${count}`)
    }
  }
  return result
}

/** The broken links of one Markdown file, as `file:line: target (why)`. */
export const brokenLinks = (root: string, file: string): Array<string> => {
  const absolute = path.join(root, file)
  const text = fs.readFileSync(absolute, "utf8")
  const own = anchors(text)
  const broken: Array<string> = []
  prose(text).forEach((line, index) => {
    for (const match of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1]!
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // http:, https:, mailto:
      const [pathPart, anchor] = target.split("#", 2) as [string, string | undefined]
      const where = `${file}:${index + 1}: ${target}`
      if (pathPart === "") {
        if (!own.has(anchor ?? "")) broken.push(`${where} (no such heading)`)
        continue
      }
      const linked = path.resolve(path.dirname(absolute), decodeURIComponent(pathPart))
      if (!fs.existsSync(linked)) broken.push(`${where} (no such file)`)
      else if (anchor !== undefined && !anchors(fs.readFileSync(linked, "utf8")).has(anchor)) {
        broken.push(`${where} (no such heading)`)
      }
    }
  })
  return broken
}
