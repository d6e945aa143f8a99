/**
 * Fake LLM API servers that stream: real HTTP servers on 127.0.0.1 that answer with Server-Sent Events in
 * each API's own wire format (OpenAI's Responses stream, Anthropic's Messages stream, chat completions
 * chunks), and that can cut a stream mid-way, hold it open, or garble a chunk. They record every request
 * and every connection that closes.
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { Socket } from "node:net"
import { Effect, type Scope } from "effect"

export interface StreamRequest {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly json: any
}

/** How the server answers one request. */
export interface StreamReply {
  readonly status?: number
  readonly headers?: Record<string, string>
  /** The body, written piece by piece (each piece flushed on its own). */
  readonly pieces: ReadonlyArray<string>
  /**
   * After the pieces: end the response (`end`, the default), drop the connection (`cut`), or keep it open
   * until the client goes away (`hang`).
   */
  readonly then?: "end" | "cut" | "hang"
  /** Wait for this before writing the piece at `holdBefore` (to see the client act on what came before). */
  readonly hold?: { readonly before: number; readonly until: Promise<unknown> }
  /** Content type; default text/event-stream. */
  readonly contentType?: string
}

export interface StreamServer {
  readonly url: string
  readonly received: Array<StreamRequest>
  /** Completes once `n` requests have arrived. */
  readonly arrived: (n: number) => Effect.Effect<void>
  /** Completes once `n` responses have been closed before the server ended them (the client went away). */
  readonly abandoned: (n: number) => Effect.Effect<void>
  readonly abandonedCount: () => number
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const waiter = () => {
  let count = 0
  const waiting: Array<{ readonly n: number; readonly done: () => void }> = []
  return {
    count: () => count,
    bump: () => {
      count++
      for (const w of waiting.filter((w) => count >= w.n)) {
        waiting.splice(waiting.indexOf(w), 1)
        w.done()
      }
    },
    wait: (n: number) =>
      Effect.async<void>((resume) => {
        if (count >= n) return resume(Effect.void)
        waiting.push({ n, done: () => resume(Effect.void) })
      })
  }
}

export const streamServer = (
  respond: (request: StreamRequest, n: number) => StreamReply
): Effect.Effect<StreamServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: ReturnType<typeof createServer>; readonly fake: StreamServer }>((resume) => {
      const received: Array<StreamRequest> = []
      const arrivals = waiter()
      const abandons = waiter()
      const sockets = new Set<Socket>()
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", async () => {
          const text = Buffer.concat(chunks).toString("utf8")
          const request: StreamRequest = { path: req.url ?? "", headers: req.headers, json: parse(text) }
          received.push(request)
          arrivals.bump()
          const reply = respond(request, received.length)
          let ended = false
          res.on("close", () => {
            if (!ended) abandons.bump()
          })
          res.writeHead(reply.status ?? 200, {
            "content-type": reply.contentType ?? "text/event-stream",
            "cache-control": "no-cache",
            ...reply.headers
          })
          res.flushHeaders()
          for (let i = 0; i < reply.pieces.length; i++) {
            if (reply.hold !== undefined && reply.hold.before === i) await reply.hold.until
            if (res.destroyed) return
            res.write(reply.pieces[i])
            await new Promise((resolve) => setImmediate(resolve))
          }
          const then = reply.then ?? "end"
          if (then === "cut") {
            ended = true
            req.socket.destroy()
          } else if (then === "end") {
            ended = true
            res.end()
          }
        })
      })
      server.on("connection", (socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({
          server,
          fake: {
            url: `http://127.0.0.1:${port}`,
            received,
            arrived: arrivals.wait,
            abandoned: abandons.wait,
            abandonedCount: abandons.count
          }
        }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ fake }) => fake))

/** One SSE event. */
export const sse = (data: unknown, event?: string): string =>
  `${event === undefined ? "" : `event: ${event}\n`}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`

export interface StreamUsage {
  readonly input: number
  readonly output: number
}

// ============================================================================================================
// OpenAI Responses stream (POST /v1/responses with stream: true)
// ============================================================================================================

const openAiResponseObject = (model: string, status: string, text: string, usage: StreamUsage | undefined) => ({
  id: "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
  object: "response",
  created_at: 1741476777,
  status,
  error: null,
  incomplete_details: null,
  instructions: null,
  max_output_tokens: null,
  model,
  output: status === "completed"
    ? [{
      id: "msg_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41",
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text, annotations: [] }]
    }]
    : [],
  parallel_tool_calls: true,
  previous_response_id: null,
  reasoning: { effort: null, summary: null },
  store: false,
  temperature: 1,
  text: { format: { type: "text" } },
  tool_choice: "auto",
  tools: [],
  top_p: 1,
  truncation: "disabled",
  usage: usage === undefined ? null : {
    input_tokens: usage.input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.input + usage.output
  },
  user: null,
  metadata: {}
})

const itemId = "msg_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41"

/** The events of a Responses stream that writes `deltas`, as OpenAI documents them. */
export const openAiStream = (model: string, deltas: ReadonlyArray<string>, usage?: StreamUsage) => {
  const text = deltas.join("")
  let sequence = 0
  const event = (type: string, fields: Record<string, unknown>) => sse({ type, sequence_number: sequence++, ...fields }, type)
  return {
    head: [
      event("response.created", { response: openAiResponseObject(model, "in_progress", "", undefined) }),
      event("response.in_progress", { response: openAiResponseObject(model, "in_progress", "", undefined) }),
      event("response.output_item.added", {
        output_index: 0,
        item: { id: itemId, type: "message", status: "in_progress", role: "assistant", content: [] }
      }),
      event("response.content_part.added", {
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [] }
      })
    ],
    deltas: deltas.map((delta) =>
      event("response.output_text.delta", { item_id: itemId, output_index: 0, content_index: 0, delta, logprobs: [] })
    ),
    tail: [
      event("response.output_text.done", { item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] }),
      event("response.content_part.done", {
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        part: { type: "output_text", text, annotations: [] }
      }),
      event("response.output_item.done", {
        output_index: 0,
        item: {
          id: itemId,
          type: "message",
          status: "completed",
          role: "assistant",
          content: [{ type: "output_text", text, annotations: [] }]
        }
      }),
      event("response.completed", { response: openAiResponseObject(model, "completed", text, usage) })
    ],
    /** An `error` event, as OpenAI sends one mid-stream. */
    error: (code: string, message: string) => event("error", { code, message, param: null })
  }
}

// ============================================================================================================
// Anthropic Messages stream (POST /v1/messages with stream: true)
// ============================================================================================================

/** The events of a Messages stream that writes `deltas`, as Anthropic documents them. */
export const anthropicStream = (model: string, deltas: ReadonlyArray<string>, usage: StreamUsage) => ({
  head: [
    sse({
      type: "message_start",
      message: {
        id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY",
        type: "message",
        role: "assistant",
        content: [],
        model,
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.input, output_tokens: 1 }
      }
    }, "message_start"),
    sse({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start"),
    sse({ type: "ping" }, "ping")
  ],
  deltas: deltas.map((text) =>
    sse({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }, "content_block_delta")
  ),
  tail: [
    sse({ type: "content_block_stop", index: 0 }, "content_block_stop"),
    sse({
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: usage.output }
    }, "message_delta"),
    sse({ type: "message_stop" }, "message_stop")
  ],
  /** An `error` event, as Anthropic sends one mid-stream. */
  error: (type: string, message: string) => sse({ type: "error", error: { type, message } }, "error")
})

// ============================================================================================================
// Chat completions stream (POST /v1/chat/completions with stream: true), as Ollama, vLLM, llama.cpp send it
// ============================================================================================================

export const chatStream = (model: string, deltas: ReadonlyArray<string>, usage?: StreamUsage) => {
  const chunk = (choices: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}) =>
    sse({
      id: "chatcmpl-7f3a",
      object: "chat.completion.chunk",
      created: 1741569952,
      model,
      system_fingerprint: "fp_ollama",
      choices,
      ...extra
    })
  return {
    head: [chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }])],
    deltas: deltas.map((content) => chunk([{ index: 0, delta: { content }, finish_reason: null }])),
    tail: [
      chunk([{ index: 0, delta: {}, finish_reason: "stop" }]),
      ...(usage === undefined ? [] : [
        chunk([], {
          usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output }
        })
      ]),
      sse("[DONE]")
    ],
    /** An error object in a chunk, as vLLM sends one mid-stream. */
    error: (type: string, message: string) => sse({ error: { message, type, code: 503 } })
  }
}
