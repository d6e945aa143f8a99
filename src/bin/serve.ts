import { createServer } from "node:http"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as EventHub from "../EventHub.js"
import type { OrchestratorEvent } from "../OrchestratorEvent.js"
import * as Sse from "../Sse.js"
import * as WebSocket from "../WebSocket.js"
import { CommandFailed, osReason, UsageError } from "./errors.js"
import { approvalHandler, type Approve } from "./approvalRoute.js"
import { livePage } from "./page.js"
import { NodeHttpServer } from "./vendor.js"

export interface Address {
  readonly host: string
  readonly port: number
}

/** `HOST:PORT`, `:PORT` or `PORT`; the host defaults to 127.0.0.1 and port 0 means any free port. */
export const parseAddress = (text: string): Effect.Effect<Address, UsageError> => {
  const match = /^(?:(\[[^\]]+\]|[^:]*):)?(\d{1,5})$/.exec(text.trim())
  const port = match === null ? NaN : Number(match[2])
  if (match === null || port > 65535) {
    return Effect.fail(
      new UsageError({ problem: `--serve takes HOST:PORT, got "${text}"`, hint: "For example --serve 127.0.0.1:8080, or --serve 8080" })
    )
  }
  const host = match[1] === undefined || match[1] === "" ? "127.0.0.1" : match[1].replace(/^\[|\]$/g, "")
  return Effect.succeed({ host, port })
}

/**
 * Serves one run for the life of the scope: the live page at `/`, its events as SSE at `/events` and as
 * WebSocket messages at `/ws`, for any number of viewers, who may join late (the hub replays the run).
 */
export const serve = (address: Address, title: string, approve?: Approve) =>
  Effect.gen(function*() {
    const hub = yield* EventHub.make({ replay: 100_000 })
    const app = HttpRouter.empty.pipe(
      HttpRouter.get("/", HttpServerResponse.html(livePage(title))),
      HttpRouter.get("/events", Sse.handler(hub, { heartbeat: "15 seconds" })),
      HttpRouter.get("/ws", WebSocket.handler(hub)),
      approve === undefined ? identity : HttpRouter.post("/approve", approvalHandler(approve))
    )
    const server = yield* Layer.build(NodeHttpServer.layer(createServer, { port: address.port, host: address.host })).pipe(
      Effect.mapError((error) =>
        new CommandFailed({ problem: `cannot serve on ${address.host}:${address.port}: ${osReason(error)}` })
      )
    )
    const http = Context.get(server, HttpServer.HttpServer)
    yield* HttpServer.serveEffect(app).pipe(Effect.provide(server))
    const bound = http.address
    const url = bound._tag === "TcpAddress"
      ? `http://${bound.hostname.includes(":") ? `[${bound.hostname}]` : bound.hostname}:${bound.port}/`
      : `unix:${bound.path}`
    return { url, publish: (event: OrchestratorEvent) => hub.publish(event) }
  })
