/**
 * Server-Sent Events for a run: an `@effect/platform` `HttpServerResponse` of `text/event-stream` in which each
 * event is sent as `event: <type>`, `id: <sequence>` and `data: <JSON>`, with heartbeat comments while idle,
 * ending after the run's terminal event. Served from an `EventHub`, a client that reconnects with
 * `Last-Event-ID` gets the events it missed.
 *
 * @since 0.1.0
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { EventHub } from "./EventHub.js"
import * as resume from "./internal/resume.js"
import { isTerminal, type OrchestratorEvent, toJson } from "./OrchestratorEvent.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /**
   * A comment line (`: keep-alive`) goes out after this long without anything sent, so that proxies and
   * clients keep an idle connection open. Default 15 seconds.
   */
  readonly heartbeat?: Duration.DurationInput | undefined
  /**
   * The reconnection delay advertised to the client (`retry:`), used after a dropped connection. Default 2
   * seconds.
   */
  readonly retry?: Duration.DurationInput | undefined
}

// One SSE field per line; a value with line breaks takes one line per part, as the format requires.
const field = (name: string, value: string): string => `${name}: ${value.split(/\r\n|\r|\n/).join(`\n${name}: `)}\n`

/**
 * One event as an SSE message: `event: <type>`, `id: <sequence>` and `data: <JSON>`, the JSON encoded with the
 * event schema, then a blank line.
 *
 * @since 0.1.0
 * @category Encoding
 * @example
 * ```ts
 * import { type OrchestratorEvent, Sse } from "multi-agent-orchestration"
 *
 * declare const event: OrchestratorEvent.OrchestratorEvent
 *
 * const message = Sse.encodeEvent(event)
 * // "event: workflow_start\nid: 1\ndata: {\"type\":\"workflow_start\",...}\n\n"
 * ```
 */
export const encodeEvent = (event: OrchestratorEvent): string =>
  `${field("event", event.type)}${field("id", String(event.sequence))}${field("data", toJson(event))}\n`

/**
 * The heartbeat comment; SSE clients ignore it.
 *
 * @since 0.1.0
 * @category Encoding
 */
export const heartbeatComment = ": keep-alive\n\n"

const defaultHeartbeat = Duration.seconds(15)
const defaultRetry = Duration.seconds(2)

/**
 * The response headers of an event stream: the content type, no caching, no proxy buffering.
 *
 * @since 0.1.0
 * @category Constants
 */
export const headers: Readonly<Record<string, string>> = {
  "cache-control": "no-cache",
  "x-accel-buffering": "no"
}

/**
 * An event stream as the text of an SSE body: a `retry:` line, then one message per event, heartbeat comments
 * whenever nothing was sent for `heartbeat`, ending after the terminal event (or when the events end).
 *
 * @since 0.1.0
 * @category Encoding
 */
export const toText = <E, R>(
  events: Stream.Stream<OrchestratorEvent, E, R>,
  options: Options = {}
): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    const heartbeat = Duration.toMillis(Duration.decode(options.heartbeat ?? defaultHeartbeat))
    const retry = Duration.decode(options.retry ?? defaultRetry)
    let lastSent = 0
    const sent = Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => (lastSent = now)))
    const messages = events.pipe(
      Stream.takeUntil(isTerminal),
      Stream.map(encodeEvent),
      Stream.tap(() => sent)
    )
    // Waits until `heartbeat` has passed since the last thing sent, then gives a comment.
    const nextHeartbeat: Effect.Effect<string> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const due = lastSent + heartbeat
      return now >= due
        ? Effect.as(sent, heartbeatComment)
        : Effect.zipRight(Effect.sleep(Duration.millis(due - now)), nextHeartbeat)
    })
    const opening = Stream.fromEffect(Effect.as(sent, `retry: ${Math.round(Duration.toMillis(retry))}\n\n`))
    return Stream.concat(
      opening,
      Stream.merge(messages, Stream.repeatEffect(nextHeartbeat), { haltStrategy: "left" })
    )
  })

/**
 * A `text/event-stream` response of an event stream, for one client: see `toText`. The stream must need no
 * services (provide them first); its failure aborts the response.
 *
 * @since 0.1.0
 * @category Responses
 * @example
 * ```ts
 * import { HttpLayerRouter } from "@effect/platform"
 * import { Effect, Stream } from "effect"
 * import { Orchestrator, Provider, Sse, Workflow } from "multi-agent-orchestration"
 *
 * declare const workflow: Workflow.Workflow
 *
 * // One run per request, streamed to the client that asked for it.
 * const route = HttpLayerRouter.add(
 *   "GET",
 *   "/run",
 *   Effect.map(Effect.context<Provider.Provider>(), (context) =>
 *     Sse.toResponse(Orchestrator.stream(workflow, "Compare vector databases").pipe(Stream.provideContext(context))))
 * )
 * ```
 */
export const toResponse = <E>(
  events: Stream.Stream<OrchestratorEvent, E>,
  options: Options = {}
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.stream(Stream.encodeText(toText(events, options)), {
    contentType: "text/event-stream",
    headers
  })

/**
 * The event id a reconnecting client asks to resume after: the `Last-Event-ID` header (sent by `EventSource`
 * on reconnection), else a `lastEventId` query parameter (for a first connection that resumes). `None` when
 * neither is a non-negative integer.
 *
 * @since 0.1.0
 * @category Requests
 */
export const lastEventId: (request: HttpServerRequest.HttpServerRequest) => Option.Option<number> = resume.lastEventId

/**
 * A request handler that serves a hub's run as an event stream: from the start, or after the client's
 * `Last-Event-ID`, from the hub's replay buffer, then live. Any number of clients can watch the same run.
 *
 * - The response ends after the terminal event. A client that comes back after having seen it gets `204 No
 *   Content`, which tells `EventSource` to stop reconnecting.
 * - A client too slow to read (more than the hub's `clientBuffer` events behind) has its response ended; an
 *   `EventSource` reconnects by itself with `Last-Event-ID` and catches up from the replay buffer. The run and
 *   the other clients never wait for it.
 * - A client that goes away stops only its own response.
 *
 * @since 0.1.0
 * @category Responses
 * @example
 * ```ts
 * import { HttpLayerRouter } from "@effect/platform"
 * import { EventHub, Sse } from "multi-agent-orchestration"
 *
 * declare const hub: EventHub.EventHub
 *
 * const route = HttpLayerRouter.add("GET", "/events", Sse.handler(hub, { heartbeat: "10 seconds" }))
 * ```
 */
export const handler = (
  hub: EventHub,
  options: Options = {}
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
    const after = lastEventId(request)
    if (Option.isSome(after) && hub.isFinishedAfter(after.value)) return HttpServerResponse.empty({ status: 204 })
    const events = hub.subscribe({ after: Option.getOrUndefined(after) }).pipe(
      // A lagging client's response ends here; it comes back with Last-Event-ID.
      Stream.catchTag("Lagged", (lagged) =>
        Stream.fromEffect(Effect.logDebug("SSE client fell behind; closing so that it resumes", lagged.message)).pipe(
          Stream.drain
        ))
    )
    return toResponse(events, options)
  })
