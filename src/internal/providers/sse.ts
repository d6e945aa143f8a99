/**
 * A small incremental parser of Server-Sent Events (the WHATWG `text/event-stream` format), enough for LLM
 * APIs: `event` and `data` fields, comments ignored, an event dispatched at each blank line, and an event
 * left unfinished when the stream ends discarded, as the format says.
 */

/** One event: its `event` field (undefined for the default "message") and its data lines joined. */
export interface SseEvent {
  readonly event: string | undefined
  readonly data: string
}

export interface SseParser {
  /** Feeds decoded text; returns the events it completes. */
  readonly push: (text: string) => Array<SseEvent>
}

export const makeSseParser = (): SseParser => {
  let buffer = ""
  let data: Array<string> = []
  let event: string | undefined
  // A "\r" at the end of a chunk may be the first half of a "\r\n" split across chunks.
  let pendingCr = false

  const line = (text: string, out: Array<SseEvent>): void => {
    if (text === "") {
      if (data.length > 0) out.push({ event, data: data.join("\n") })
      data = []
      event = undefined
      return
    }
    if (text.startsWith(":")) return
    const colon = text.indexOf(":")
    const field = colon < 0 ? text : text.slice(0, colon)
    let value = colon < 0 ? "" : text.slice(colon + 1)
    if (value.startsWith(" ")) value = value.slice(1)
    if (field === "data") data.push(value)
    else if (field === "event") event = value
  }

  return {
    push: (text) => {
      const out: Array<SseEvent> = []
      let chunk = text
      if (pendingCr && chunk.startsWith("\n")) chunk = chunk.slice(1)
      pendingCr = false
      buffer += chunk
      let start = 0
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer.charCodeAt(i)
        if (c !== 10 && c !== 13) continue
        line(buffer.slice(start, i), out)
        if (c === 13) {
          if (i + 1 === buffer.length) pendingCr = true
          else if (buffer.charCodeAt(i + 1) === 10) i++
        }
        start = i + 1
      }
      buffer = buffer.slice(start)
      return out
    }
  }
}
