/**
 * Fake LLM API servers for tests: real HTTP servers on 127.0.0.1 (port 0) that record every request and
 * answer in each API's documented wire format, or fail the way real servers do.
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { Socket } from "node:net"
import { Context, Effect, Layer, type Scope } from "effect"
import { Provider } from "multi-agent-orchestration"

/** A request as the server saw it. */
export interface Received {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly text: string
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: any
}

/** How the server answers one request. */
export type Reply =
  | { readonly status?: number; readonly headers?: Record<string, string>; readonly json: unknown }
  | { readonly status?: number; readonly headers?: Record<string, string>; readonly text: string }
  /** Never answers (until the server closes). */
  | "hang"
  /** Drops the connection without a reply. */
  | "reset"

export interface FakeServer {
  /** "http://127.0.0.1:PORT" */
  readonly url: string
  readonly received: Array<Received>
  /** Completes once `n` requests have arrived. */
  readonly arrived: (n: number) => Effect.Effect<void>
  /** The most requests that were in flight at once. */
  readonly maxInFlight: () => number
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Starts a server answering `respond(request, n)` (n counts from 1); it stops when the scope closes. */
export const fakeServer = (
  respond: (request: Received, n: number) => Reply | Promise<Reply>
): Effect.Effect<FakeServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: ReturnType<typeof createServer>; readonly fake: FakeServer }>((resume) => {
      const received: Array<Received> = []
      const waiters: Array<{ readonly n: number; readonly done: () => void }> = []
      const sockets = new Set<Socket>()
      let inFlight = 0
      let maxInFlight = 0
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", async () => {
          const text = Buffer.concat(chunks).toString("utf8")
          const request: Received = {
            method: req.method ?? "",
            path: req.url ?? "",
            headers: req.headers,
            text,
            json: parse(text)
          }
          received.push(request)
          inFlight++
          maxInFlight = Math.max(maxInFlight, inFlight)
          res.on("close", () => inFlight--)
          for (const waiter of waiters.filter((w) => received.length >= w.n)) {
            waiters.splice(waiters.indexOf(waiter), 1)
            waiter.done()
          }
          const reply = await respond(request, received.length)
          if (reply === "hang") return
          if (reply === "reset") {
            req.socket.destroy()
            return
          }
          const body = "json" in reply ? JSON.stringify(reply.json) : reply.text
          res.writeHead(reply.status ?? 200, {
            "content-type": "json" in reply ? "application/json" : "text/plain",
            ...reply.headers
          })
          res.end(body)
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
            maxInFlight: () => maxInFlight,
            arrived: (n) =>
              Effect.async<void>((done) => {
                if (received.length >= n) return done(Effect.void)
                waiters.push({ n, done: () => done(Effect.void) })
              })
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

/** The provider service of a layer, built in the test's scope. */
export const buildProvider = <E>(
  layer: Layer.Layer<Provider.Provider, E>
): Effect.Effect<Provider.Service, E, Scope.Scope> =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, Provider.Provider))

// ============================================================================================================
// Wire formats
// ============================================================================================================

export interface FakeUsage {
  readonly input: number
  readonly output: number
  /** OpenAI: cached tokens, counted inside `input`. Anthropic: cache reads, counted apart from `input`. */
  readonly cached?: number
  /** Anthropic only: cache writes, counted apart from `input`. */
  readonly cacheCreation?: number
}

/** A reply of OpenAI's Responses API (`POST /v1/responses`), as documented. */
export const openAiResponse = (text: string, model: string, usage?: FakeUsage) => ({
  id: "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
  object: "response",
  created_at: 1741476542,
  status: "completed",
  error: null,
  incomplete_details: null,
  instructions: null,
  max_output_tokens: null,
  model,
  output: [{
    type: "message",
    id: "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text, annotations: [] }]
  }],
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
  ...(usage === undefined ? {} : {
    usage: {
      input_tokens: usage.input,
      input_tokens_details: { cached_tokens: usage.cached ?? 0 },
      output_tokens: usage.output,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.input + usage.output
    }
  }),
  user: null,
  metadata: {}
})

/** A reply of Anthropic's Messages API (`POST /v1/messages`), as documented. */
export const anthropicMessage = (text: string, model: string, usage: FakeUsage) => ({
  id: "msg_013Zva2CMHLNnXjNJJKqJ2EF",
  type: "message",
  role: "assistant",
  model,
  content: [{ type: "text", text }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage: {
    input_tokens: usage.input,
    output_tokens: usage.output,
    cache_creation_input_tokens: usage.cacheCreation ?? 0,
    cache_read_input_tokens: usage.cached ?? 0
  }
})

/** A reply of OpenAI's chat completions (`POST /v1/chat/completions`), as Ollama, vLLM and llama.cpp send it. */
export const chatCompletion = (text: string, model: string, usage?: FakeUsage) => ({
  id: "chatcmpl-123",
  object: "chat.completion",
  created: 1741569952,
  model,
  system_fingerprint: "fp_ollama",
  choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
  ...(usage === undefined ? {} : {
    usage: {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
      ...(usage.cached === undefined ? {} : { prompt_tokens_details: { cached_tokens: usage.cached } })
    }
  })
})

// ============================================================================================================
// Tool calls
// ============================================================================================================

/** A tool call a fake server asks for: its id, the tool, and the arguments (sent as each API sends them). */
export interface FakeCall {
  readonly id: string
  readonly name: string
  readonly args: unknown
}

/** A Responses API reply whose output is function calls (`type: "function_call"`, arguments as JSON text). */
export const openAiFunctionCalls = (calls: ReadonlyArray<FakeCall>, model: string, usage?: FakeUsage) => ({
  ...openAiResponse("", model, usage),
  output: calls.map((call, i) => ({
    type: "function_call",
    id: `fc_67ccd2bf17f0819081ff3bb2cf6508e6${i}`,
    call_id: call.id,
    name: call.name,
    arguments: JSON.stringify(call.args),
    status: "completed"
  }))
})

/** A Messages API reply that uses tools (`type: "tool_use"` blocks, `stop_reason: "tool_use"`). */
export const anthropicToolUse = (calls: ReadonlyArray<FakeCall>, model: string, usage: FakeUsage, text?: string) => ({
  ...anthropicMessage("", model, usage),
  content: [
    ...(text === undefined ? [] : [{ type: "text", text }]),
    ...calls.map((call) => ({ type: "tool_use", id: call.id, name: call.name, input: call.args }))
  ],
  stop_reason: "tool_use"
})

/** A chat completion whose message carries `tool_calls` (`finish_reason: "tool_calls"`). */
export const chatToolCalls = (calls: ReadonlyArray<FakeCall>, model: string, usage?: FakeUsage) => ({
  ...chatCompletion("", model, usage),
  choices: [{
    index: 0,
    message: {
      role: "assistant",
      content: null,
      tool_calls: calls.map((call) => ({
        id: call.id,
        type: "function",
        function: { name: call.name, arguments: JSON.stringify(call.args) }
      }))
    },
    finish_reason: "tool_calls"
  }]
})
