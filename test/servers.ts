import type { ChildProcessByStdio, ChildProcessWithoutNullStreams } from "node:child_process"
import type { Readable } from "node:stream"
import { createServer } from "node:http"
import { request as httpRequest } from "node:http"
import { HttpServer } from "@effect/platform"
import type { HttpApp } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import { EventSource } from "eventsource"
import { Orchestrator, OrchestratorEvent, Provider } from "multi-agent-orchestration"
import { fixedWorkflow, recorder, tasks } from "./helpers.js"

/** Serves `app` on an ephemeral port of 127.0.0.1 for the rest of the scope; returns its base URL. */
export const serve = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
    const server = Context.get(context, HttpServer.HttpServer)
    yield* HttpServer.serveEffect(app).pipe(Effect.provide(context))
    const address = server.address
    if (address._tag !== "TcpAddress") return yield* Effect.die("expected a TCP address")
    return `http://127.0.0.1:${address.port}`
  })

/** Every event type of the schema, to listen to each (EventSource delivers named events by name only). */
export const eventTypes: ReadonlyArray<string> = OrchestratorEvent.OrchestratorEvent.members.map(
  (member) => member.fields.type.literals[0]
)

export interface Received {
  readonly type: string
  readonly id: string
  readonly data: string
}

/**
 * An `eventsource` client that records every message and every request's headers, and closes itself after
 * the terminal event. `cutFirstResponse` ends the first response after its first chunk with an event, as a
 * dropped connection would.
 */
export const sseClient = (url: string, options: { readonly cutFirstResponse?: boolean } = {}) => {
  const received: Array<Received> = []
  const requests: Array<Record<string, string>> = []
  const errors: Array<{ readonly code: number | undefined; readonly lastId: string | undefined }> = []
  let resolveDone!: () => void
  let resolveOpen!: () => void
  const done = new Promise<void>((resolve) => (resolveDone = resolve))
  const opened = new Promise<void>((resolve) => (resolveOpen = resolve))
  const source = new EventSource(url, {
    fetch: async (input, init) => {
      requests.push({ ...init.headers })
      const response = await fetch(input, init)
      if (!(options.cutFirstResponse === true && requests.length === 1) || response.body === null) return response
      const reader = response.body.getReader()
      const cut = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = await reader.read()
          if (next.done) return controller.close()
          controller.enqueue(next.value)
          if (/^id: /m.test(new TextDecoder().decode(next.value))) {
            await reader.cancel()
            controller.close()
          }
        }
      })
      return new Response(cut, { status: response.status, headers: response.headers })
    }
  })
  source.addEventListener("open", () => resolveOpen())
  source.addEventListener("error", (event) => {
    errors.push({ code: event.code, lastId: received.at(-1)?.id })
    if (source.readyState === EventSource.CLOSED) resolveDone()
  })
  for (const type of eventTypes) {
    source.addEventListener(type, (event: MessageEvent) => {
      received.push({ type: event.type, id: event.lastEventId, data: String(event.data) })
      if (OrchestratorEvent.terminalTypes.has(type as OrchestratorEvent.Type)) {
        source.close()
        resolveDone()
      }
    })
  }
  return { source, received, requests, errors, done, opened }
}

/** A plain HTTP GET that reads the body as text until the server ends it or `until` says stop. */
export const rawGet = (
  url: string,
  options: { readonly headers?: Record<string, string>; readonly until?: (body: string) => boolean } = {}
) =>
  Effect.async<{ readonly status: number; readonly headers: Record<string, unknown>; readonly body: string; readonly ended: boolean }>(
    (resume) => {
      let finished = false
      const finish = (result: { readonly status: number; readonly headers: Record<string, unknown>; readonly body: string; readonly ended: boolean }) => {
        if (finished) return
        finished = true
        resume(Effect.succeed(result))
      }
      const req = httpRequest(url, { headers: options.headers ?? {} }, (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => {
          body += chunk
          if (options.until?.(body) === true) {
            finish({ status: res.statusCode ?? 0, headers: res.headers, body, ended: false })
            req.destroy()
          }
        })
        res.on("end", () => finish({ status: res.statusCode ?? 0, headers: res.headers, body, ended: true }))
      })
      req.end()
      return Effect.sync(() => req.destroy())
    }
  )

/** The events of a real run of `n` agents on the simulated provider. */
export const runEvents = (n: number) =>
  Effect.gen(function*() {
    const events = recorder()
    const ids = Array.from({ length: n }, (_, i) => `t${i + 1}`)
    yield* Orchestrator.run(fixedWorkflow(tasks(...ids), { synthesize: true }), "task", {
      taskId: "run-1",
      onEvent: events.onEvent
    }).pipe(Effect.provide(Provider.simulated()))
    return events.events
  })


/** The `http://127.0.0.1:PORT` a child process prints as `Listening on …`; fails if it exits first. */
export const listeningUrl = (child: ChildProcessWithoutNullStreams | ChildProcessByStdio<null, Readable, Readable>) =>
  new Promise<string>((resolve, reject) => {
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const found = /Listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (found !== null) resolve(found[1]!)
    })
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${out}`)))
  })
