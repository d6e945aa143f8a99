/**
 * A small, strict XML reader for the Atom feeds of arXiv's export API: elements, attributes, text, CDATA,
 * comments and processing instructions, with well-formedness checked (every tag closed, in order, one root).
 * It has no DTD support: a document type with an internal subset (where entity-expansion attacks live) is
 * refused. Names keep their prefix; `local` strips it, since Atom and its extensions do not share names.
 */
import * as Either from "effect/Either"
import { decodeEntities } from "./text.js"

export interface XmlElement {
  readonly name: string
  readonly attributes: Readonly<Record<string, string>>
  readonly children: ReadonlyArray<XmlElement | string>
}

interface Building {
  readonly name: string
  readonly attributes: Record<string, string>
  readonly children: Array<XmlElement | string>
}

const openTag = /<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y
const closeTag = /<\/([A-Za-z_][\w.:-]*)\s*>/y
const attribute = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g

/** Parses a whole document; the error says what is wrong and where. */
export const parse = (text: string): Either.Either<XmlElement, string> => {
  const stack: Array<Building> = []
  let root: XmlElement | undefined
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0
  const skipPast = (end: string, what: string): string | undefined => {
    const at = text.indexOf(end, i)
    if (at < 0) return `unterminated ${what} at ${i}`
    i = at + end.length
    return undefined
  }
  const addText = (value: string) => {
    const top = stack.at(-1)
    if (top !== undefined) top.children.push(value)
    else if (value.trim() !== "") return `text outside the root element at ${i}`
    return undefined
  }
  while (i < text.length) {
    let problem: string | undefined
    if (text.startsWith("<?", i)) problem = skipPast("?>", "processing instruction")
    else if (text.startsWith("<!--", i)) problem = skipPast("-->", "comment")
    else if (text.startsWith("<![CDATA[", i)) {
      const start = i + 9
      problem = skipPast("]]>", "CDATA section") ?? addText(text.slice(start, i - 3))
    } else if (text.startsWith("<!DOCTYPE", i)) {
      const end = text.indexOf(">", i)
      if (end < 0 || text.slice(i, end).includes("[")) return Either.left(`unsupported document type at ${i}`)
      i = end + 1
    } else if (text.startsWith("</", i)) {
      closeTag.lastIndex = i
      const match = closeTag.exec(text)
      const top = stack.pop()
      if (match === null) return Either.left(`malformed closing tag at ${i}`)
      if (top === undefined || top.name !== match[1]) {
        return Either.left(`unexpected </${match[1]}> at ${i}${top === undefined ? "" : ` (open: <${top.name}>)`}`)
      }
      i += match[0].length
      const element: XmlElement = top
      const parent = stack.at(-1)
      if (parent !== undefined) parent.children.push(element)
      else if (root === undefined) root = element
      else return Either.left(`a second root element at ${i}`)
    } else if (text[i] === "<") {
      openTag.lastIndex = i
      const match = openTag.exec(text)
      if (match === null) return Either.left(`malformed tag at ${i}`)
      if (root !== undefined && stack.length === 0) return Either.left(`a second root element at ${i}`)
      const attributes: Record<string, string> = {}
      for (const [, name, double, single] of match[2]!.matchAll(attribute)) {
        attributes[name!] = decodeEntities(double ?? single ?? "")
      }
      i += match[0].length
      const element: Building = { name: match[1]!, attributes, children: [] }
      if (match[3] === "/") {
        const parent = stack.at(-1)
        if (parent !== undefined) parent.children.push(element)
        else root = element
      } else {
        stack.push(element)
      }
    } else {
      const end = text.indexOf("<", i)
      const value = text.slice(i, end < 0 ? text.length : end)
      problem = addText(decodeEntities(value))
      i += value.length
    }
    if (problem !== undefined) return Either.left(problem)
  }
  if (stack.length > 0) return Either.left(`<${stack.at(-1)!.name}> is never closed`)
  return root === undefined ? Either.left("no root element") : Either.right(root)
}

/** The name without its namespace prefix. */
export const local = (name: string): string => name.slice(name.indexOf(":") + 1)

/** The child elements called `name` (local name). */
export const children = (element: XmlElement, name: string): ReadonlyArray<XmlElement> =>
  element.children.filter((child): child is XmlElement => typeof child !== "string" && local(child.name) === name)

/** The first child element called `name`. */
export const child = (element: XmlElement, name: string): XmlElement | undefined => children(element, name)[0]

/** All the text inside an element, nested elements included. */
export const textOf = (element: XmlElement | undefined): string =>
  element === undefined
    ? ""
    : element.children.map((c) => (typeof c === "string" ? c : textOf(c))).join("")
