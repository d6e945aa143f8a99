/**
 * Markdown laid out as a PDF with pdfkit: headings, paragraphs with bold, italic, code and links, nested
 * lists, code blocks, tables, block quotes and rules; pages break where they must (a table repeats its header
 * row on the next page) and are numbered "Page i of n" in the footer.
 */
import { lexer, type Token, type Tokens } from "marked"

/** Font files (TTF/OTF paths or bytes) to use instead of the standard PDF fonts, e.g. for non-Latin text. */
export interface FontFiles {
  readonly regular: string | Uint8Array
  readonly bold: string | Uint8Array
  readonly italic: string | Uint8Array
  readonly boldItalic?: string | Uint8Array | undefined
  readonly mono: string | Uint8Array
}

export interface PdfOptions {
  readonly title: string
  readonly creationDate: Date
  readonly fonts?: FontFiles | undefined
  readonly pageSize?: "A4" | "LETTER" | undefined
}

type Doc = PDFKit.PDFDocument

interface Fonts {
  readonly regular: string
  readonly bold: string
  readonly italic: string
  readonly boldItalic: string
  readonly mono: string
  readonly monoBold: string
}

const standardFonts: Fonts = {
  regular: "Helvetica",
  bold: "Helvetica-Bold",
  italic: "Helvetica-Oblique",
  boldItalic: "Helvetica-BoldOblique",
  mono: "Courier",
  monoBold: "Courier-Bold"
}

const colors = {
  text: "#1f2933",
  muted: "#6b7280",
  accent: "#1d4ed8",
  rule: "#d1d5db",
  codeBackground: "#f3f4f6",
  codeText: "#111827",
  inlineCode: "#9f1239",
  tableHeader: "#e8edf5",
  tableStripe: "#f9fafb"
}

const baseSize = 10.5
const headingSizes = [0, 20, 15, 12.5, 11, 10.5, 10.5]
const margins = { top: 60, bottom: 64, left: 58, right: 58 }

// The standard PDF fonts only cover Windows-1252: other characters are replaced by close equivalents, or "?".
const winAnsiExtras = new Set("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")
const replacements: Readonly<Record<string, string>> = {
  "→": "->",
  "←": "<-",
  "↔": "<->",
  "⇒": "=>",
  "⇐": "<=",
  "≥": ">=",
  "≤": "<=",
  "≠": "!=",
  "≈": "~",
  "−": "-",
  "‐": "-",
  "‑": "-",
  "✓": "v",
  "✔": "v",
  "✗": "x",
  "✘": "x",
  "★": "*",
  "☆": "*",
  "▪": "•",
  "◦": "•",
  "●": "•",
  "\u00a0": " ",
  "\u2009": " ",
  "\u200b": ""
}

const toWinAnsi = (text: string): string => {
  let out = ""
  for (const char of text) {
    const code = char.codePointAt(0)!
    if (code === 9) out += "    "
    else if ((code >= 32 && code < 127) || (code >= 160 && code <= 255) || winAnsiExtras.has(char)) out += char
    else if (code === 10) out += char
    else out += replacements[char] ?? (code < 32 ? "" : "?")
  }
  return out
}

const entities: Readonly<Record<string, string>> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#39;": "'" }
const decodeEntities = (text: string): string => text.replace(/&(amp|lt|gt|quot|#39);/g, (entity) => entities[entity]!)

interface Style {
  readonly bold: boolean
  readonly italic: boolean
  readonly code: boolean
  readonly strike: boolean
  readonly link: string | undefined
}

interface Segment {
  readonly text: string
  readonly style: Style
}

const plainStyle: Style = { bold: false, italic: false, code: false, strike: false, link: undefined }

const flatten = (tokens: ReadonlyArray<Token>, style: Style, out: Array<Segment>): Array<Segment> => {
  for (const token of tokens) {
    switch (token.type) {
      case "text": {
        const text = token as Tokens.Text
        if (text.tokens !== undefined && text.tokens.length > 0) flatten(text.tokens, style, out)
        else out.push({ text: decodeEntities(text.text).replace(/\n/g, " "), style })
        break
      }
      case "escape":
        out.push({ text: (token as Tokens.Escape).text, style })
        break
      case "strong":
        flatten((token as Tokens.Strong).tokens, { ...style, bold: true }, out)
        break
      case "em":
        flatten((token as Tokens.Em).tokens, { ...style, italic: true }, out)
        break
      case "del":
        flatten((token as Tokens.Del).tokens, { ...style, strike: true }, out)
        break
      case "codespan":
        out.push({ text: decodeEntities((token as Tokens.Codespan).text), style: { ...style, code: true } })
        break
      case "link": {
        const link = token as Tokens.Link
        flatten(link.tokens, { ...style, link: link.href }, out)
        break
      }
      case "image":
        out.push({ text: `[image: ${(token as Tokens.Image).text}]`, style: { ...style, italic: true } })
        break
      case "br":
        out.push({ text: "\n", style })
        break
      case "html":
        out.push({ text: (token as Tokens.HTML).text.replace(/<[^>]*>/g, ""), style })
        break
      default:
        if ("text" in token && typeof token.text === "string") out.push({ text: decodeEntities(token.text), style })
    }
  }
  return out
}

const plainText = (tokens: ReadonlyArray<Token>): string => flatten(tokens, plainStyle, []).map((s) => s.text).join("")

/** Lays out Markdown on a document; every position comes from the document's cursor. */
const makeLayout = (doc: Doc, fonts: Fonts, sanitize: (text: string) => string) => {
  const left = margins.left
  const fullWidth = doc.page.width - margins.left - margins.right
  const bottom = () => doc.page.height - doc.page.margins.bottom
  let titleDone = false
  let section: PDFKit.PDFOutline | undefined

  const ensureSpace = (height: number) => {
    if (doc.y + height > bottom()) doc.addPage()
  }

  const fontFor = (style: Style): string =>
    style.code
      ? style.bold ? fonts.monoBold : fonts.mono
      : style.bold && style.italic
      ? fonts.boldItalic
      : style.bold
      ? fonts.bold
      : style.italic
      ? fonts.italic
      : fonts.regular

  const inline = (segments: ReadonlyArray<Segment>, x: number, width: number, size: number, color: string, align: "left" | "right" = "left") => {
    const parts = segments.map((s) => ({ ...s, text: sanitize(s.text) })).filter((s) => s.text.length > 0)
    if (parts.length === 0) return
    parts.forEach((part, i) => {
      doc.font(fontFor(part.style)).fontSize(part.style.code ? size - 1 : size)
        .fillColor(part.style.link !== undefined ? colors.accent : part.style.code ? colors.inlineCode : color)
      const options: PDFKit.Mixins.TextOptions = {
        continued: i < parts.length - 1,
        link: part.style.link ?? null,
        underline: part.style.link !== undefined,
        strike: part.style.strike,
        lineGap: 2,
        align
      }
      if (i === 0) doc.text(part.text, x, doc.y, { ...options, width })
      else doc.text(part.text, options)
    })
  }

  const paragraph = (tokens: ReadonlyArray<Token>, x: number, width: number, color: string) => {
    ensureSpace(baseSize * 1.4)
    inline(flatten(tokens, plainStyle, []), x, width, baseSize, color)
    doc.y += 5
  }

  const rule = (x: number, width: number, color = colors.rule, thickness = 0.75) => {
    doc.save().moveTo(x, doc.y).lineTo(x + width, doc.y).lineWidth(thickness).strokeColor(color).stroke().restore()
  }

  const heading = (token: Tokens.Heading, x: number, width: number) => {
    const text = sanitize(plainText(token.tokens))
    if (token.depth === 1 && !titleDone) {
      titleDone = true
      doc.font(fonts.bold).fontSize(22).fillColor(colors.accent).text(text, x, doc.y, { width })
      doc.y += 4
      rule(x, width, colors.accent, 1.5)
      doc.y += 12
      return
    }
    const size = headingSizes[token.depth] ?? baseSize
    // Keep a heading with the first lines after it.
    ensureSpace(size * 2 + baseSize * 4)
    doc.y += token.depth <= 2 ? 12 : 7
    doc.font(fonts.bold).fontSize(size).fillColor(token.depth <= 2 ? colors.accent : colors.text).text(text, x, doc.y, { width })
    if (token.depth <= 2) {
      doc.y += 2
      rule(x, width)
      doc.y += 6
      section = doc.outline.addItem(text)
    } else {
      if (token.depth === 3) (section ?? doc.outline).addItem(text)
      doc.y += 3
    }
  }

  const codeBlock = (text: string, x: number, width: number) => {
    const pad = 7
    const size = 8.5
    doc.font(fonts.mono).fontSize(size)
    const lines = sanitize(text.replace(/\n+$/, "")).split("\n")
    const lineHeight = (line: string) => doc.heightOfString(line === "" ? " " : line, { width: width - 2 * pad, lineGap: 1 })
    let start = 0
    doc.y += 2
    while (start < lines.length) {
      ensureSpace(lineHeight(lines[start]!) + 2 * pad)
      let end = start
      let height = 0
      while (end < lines.length && doc.y + 2 * pad + height + lineHeight(lines[end]!) <= bottom()) {
        height += lineHeight(lines[end]!)
        end++
      }
      if (end === start) end = start + 1
      const top = doc.y
      doc.save().roundedRect(x, top, width, height + 2 * pad, 3).fill(colors.codeBackground).restore()
      doc.font(fonts.mono).fontSize(size).fillColor(colors.codeText)
        .text(lines.slice(start, end).join("\n"), x + pad, top + pad, { width: width - 2 * pad, lineGap: 1 })
      doc.y = top + height + 2 * pad
      start = end
      if (start < lines.length) doc.addPage()
    }
    doc.y += 8
  }

  const table = (token: Tokens.Table, x: number, width: number) => {
    const pad = 4
    const size = 9
    const columns = token.header.length
    const header = token.header.map((cell) => flatten(cell.tokens, { ...plainStyle, bold: true }, []))
    const rows = token.rows.map((row) => row.map((cell) => flatten(cell.tokens, plainStyle, [])))
    const textOf = (segments: ReadonlyArray<Segment>) => sanitize(segments.map((s) => s.text).join(""))
    const widthOf = (segments: ReadonlyArray<Segment>) =>
      segments.reduce((sum, s) => sum + doc.font(fontFor(s.style)).fontSize(size).widthOfString(sanitize(s.text)), 0)
    // Natural widths, then shared out: columns that fit keep theirs, the rest split what is left.
    const natural = Array.from({ length: columns }, (_, c) =>
      Math.max(widthOf(header[c]!), ...rows.map((row) => widthOf(row[c] ?? []))) + 2 * pad + 1)
    let widths = natural
    if (natural.reduce((a, b) => a + b, 0) > width) {
      const fair = width / columns
      const small = natural.filter((w) => w <= fair)
      const rest = width - small.reduce((a, b) => a + b, 0)
      const largeTotal = natural.filter((w) => w > fair).reduce((a, b) => a + b, 0)
      widths = natural.map((w) => (w <= fair ? w : (w / largeTotal) * rest))
    }
    const showHeader = header.some((cell) => textOf(cell).trim() !== "")
    const heightOf = (cells: ReadonlyArray<ReadonlyArray<Segment>>) =>
      Math.max(
        size + 2 * pad,
        ...cells.map((cell, c) => {
          const bold = cell.length > 0 && cell.every((s) => s.style.bold)
          return doc.font(bold ? fonts.bold : fonts.regular).fontSize(size)
            .heightOfString(textOf(cell) || " ", { width: widths[c]! - 2 * pad, lineGap: 1 }) + 2 * pad
        })
      )
    const drawRow = (cells: ReadonlyArray<ReadonlyArray<Segment>>, isHeader: boolean, stripe: boolean) => {
      const height = heightOf(cells)
      const top = doc.y
      if (isHeader || stripe) {
        doc.save().rect(x, top, widths.reduce((a, b) => a + b, 0), height)
          .fill(isHeader ? colors.tableHeader : colors.tableStripe).restore()
      }
      let cellX = x
      cells.forEach((cell, c) => {
        const align = token.align[c] === "right" ? "right" : "left"
        doc.y = top + pad
        inline(cell, cellX + pad, widths[c]! - 2 * pad, size, colors.text, align)
        cellX += widths[c]!
      })
      doc.y = top + height
      rule(x, widths.reduce((a, b) => a + b, 0), colors.rule, 0.5)
    }
    doc.y += 2
    const headerHeight = showHeader ? heightOf(header) : 0
    ensureSpace(headerHeight + (rows.length > 0 ? heightOf(rows[0]!) : 0))
    if (showHeader) drawRow(header, true, false)
    rows.forEach((row, r) => {
      const cells = Array.from({ length: columns }, (_, c) => row[c] ?? [])
      if (doc.y + heightOf(cells) > bottom()) {
        doc.addPage()
        if (showHeader) drawRow(header, true, false)
      }
      drawRow(cells, false, r % 2 === 1)
    })
    doc.x = x
    doc.y += 10
  }

  const list = (token: Tokens.List, x: number, width: number, color: string, depth: number) => {
    const start = typeof token.start === "number" ? token.start : 1
    const markerWidth = token.ordered ? 20 : 13
    token.items.forEach((item, i) => {
      ensureSpace(baseSize * 1.6)
      const marker = item.task ? (item.checked === true ? "[x]" : "[ ]") : token.ordered ? `${start + i}.` : depth % 2 === 0 ? "•" : "–"
      const top = doc.y
      doc.font(fonts.regular).fontSize(baseSize).fillColor(colors.muted)
        .text(marker, x, top, { width: item.task ? markerWidth + 8 : markerWidth, lineBreak: false })
      doc.y = top
      const inner = x + (item.task ? markerWidth + 8 : markerWidth)
      blocks(item.tokens, inner, width - (inner - x), color, depth + 1, true)
      if (item.loose) doc.y += 3
    })
    doc.y += depth === 0 ? 4 : 0
  }

  const blockquote = (token: Tokens.Blockquote, x: number, width: number, depth: number) => {
    const top = doc.y
    const page = doc.bufferedPageRange().count
    blocks(token.tokens, x + 12, width - 12, colors.muted, depth, false)
    const barTop = doc.bufferedPageRange().count === page ? top : margins.top
    doc.save().moveTo(x + 3, barTop).lineTo(x + 3, doc.y - 4).lineWidth(2).strokeColor(colors.rule).stroke().restore()
  }

  const blocks = (tokens: ReadonlyArray<Token>, x: number, width: number, color: string, depth: number, tight: boolean) => {
    for (const token of tokens) {
      switch (token.type) {
        case "heading":
          heading(token as Tokens.Heading, x, width)
          break
        case "paragraph":
          paragraph((token as Tokens.Paragraph).tokens, x, width, color)
          break
        case "text": {
          // The text of a tight list item.
          const text = token as Tokens.Text
          inline(flatten(text.tokens ?? [text], plainStyle, []), x, width, baseSize, color)
          doc.y += tight ? 2 : 5
          break
        }
        case "list":
          list(token as Tokens.List, x, width, color, depth)
          break
        case "code":
          codeBlock((token as Tokens.Code).text, x, width)
          break
        case "table":
          table(token as Tokens.Table, x, width)
          break
        case "blockquote":
          blockquote(token as Tokens.Blockquote, x, width, depth)
          break
        case "hr":
          ensureSpace(12)
          doc.y += 4
          rule(x, width)
          doc.y += 8
          break
        case "html": {
          const text = (token as Tokens.HTML).text.replace(/<[^>]*>/g, "").trim()
          if (text !== "") paragraph([{ type: "text", raw: text, text } as Tokens.Text], x, width, color)
          break
        }
        default:
          break
      }
    }
  }

  return {
    render: (markdown: string) => blocks(lexer(markdown), left, fullWidth, colors.text, 0, false)
  }
}

const registerFonts = (doc: Doc, files: FontFiles): Fonts => {
  const source = (file: string | Uint8Array) => (typeof file === "string" ? file : Buffer.from(file))
  doc.registerFont("report-regular", source(files.regular))
  doc.registerFont("report-bold", source(files.bold))
  doc.registerFont("report-italic", source(files.italic))
  doc.registerFont("report-bold-italic", source(files.boldItalic ?? files.bold))
  doc.registerFont("report-mono", source(files.mono))
  return {
    regular: "report-regular",
    bold: "report-bold",
    italic: "report-italic",
    boldItalic: "report-bold-italic",
    mono: "report-mono",
    monoBold: "report-mono"
  }
}

const footers = (doc: Doc, fonts: Fonts, title: string, sanitize: (text: string) => string) => {
  const range = doc.bufferedPageRange()
  for (let i = 0; i < range.count; i++) {
    doc.switchToPage(range.start + i)
    const bottomMargin = doc.page.margins.bottom
    // Writing inside the bottom margin must not start a new page.
    doc.page.margins.bottom = 0
    const y = doc.page.height - 40
    const width = doc.page.width - margins.left - margins.right
    doc.save().moveTo(margins.left, y - 8).lineTo(margins.left + width, y - 8).lineWidth(0.5).strokeColor(colors.rule)
      .stroke().restore()
    doc.font(fonts.regular).fontSize(8).fillColor(colors.muted)
    doc.text(sanitize(title), margins.left, y, { width: width - 90, lineBreak: false, ellipsis: true })
    doc.text(`Page ${i + 1} of ${range.count}`, margins.left, y, { width, align: "right", lineBreak: false })
    doc.page.margins.bottom = bottomMargin
  }
}

/**
 * Renders Markdown to PDF bytes; rejects on a pdfkit failure, e.g. an unreadable font. pdfkit is loaded on
 * first use, so that programs that make no PDF do not pay for loading it.
 */
export const renderPdf = async (markdown: string, options: PdfOptions): Promise<Uint8Array> => {
  const { default: PDFDocument } = await import("pdfkit")
  return new Promise<Uint8Array>((resolve, reject) => {
    const doc = new PDFDocument({
      size: options.pageSize ?? "A4",
      margins,
      bufferPages: true,
      autoFirstPage: true,
      info: {
        Title: options.title,
        Creator: "multi-agent-orchestration",
        Producer: "multi-agent-orchestration (pdfkit)",
        CreationDate: options.creationDate,
        ModDate: options.creationDate
      }
    })
    const chunks: Array<Uint8Array> = []
    doc.on("data", (chunk: Uint8Array) => chunks.push(chunk))
    doc.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))))
    doc.on("error", reject)
    const fonts = options.fonts === undefined ? standardFonts : registerFonts(doc, options.fonts)
    const sanitize = options.fonts === undefined ? toWinAnsi : (text: string) => text
    const layout = makeLayout(doc, fonts, sanitize)
    layout.render(markdown)
    footers(doc, fonts, options.title, sanitize)
    doc.end()
  })
}
