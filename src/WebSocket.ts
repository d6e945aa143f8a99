/**
 * WebSockets for a run: each event goes to the client as one JSON text message (the event encoded with its
 * schema), and the socket is closed with code 1000 after the run's terminal event. Served from an
 * `EventHub`, several clients can watch one run, join late, or resume with `?lastEventId=`; a client that
 * disconnects stops only its own connection, never the run.
 *
 * @since 0.1.0
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { EventHub, Lagged } from "./EventHub.js"
import * as resume from "./internal/resume.js"
import { isTerminal, type OrchestratorEvent, toJson } from "./OrchestratorEvent.js"

/**
 * The close codes this module sends.
 *
 * - `finished` (1000): the run ended; the last message was its terminal event.
 * - `failed` (1011): the event stream failed.
 * - `lagged` (4000): the client fell more than the hub's `clientBuffer` events behind; the close reason says
 *   after which event to resume (`?lastEventId=N`).
 *
 * @since 0.1.0
 * @category Constants
 */
export const CloseCodes = { finished: 1000, failed: 1011, lagged: 4000 } as const

const ignoreSocketEnd = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchAllCause(effect, (cause) => Effect.logDebug("WebSocket closed", Cause.pretty(cause)))

// Sends the events as JSON text messages until the stream ends, then closes with the code `closeWith` gives;
// returns once the socket is closed. The socket's own failures (a client that went away) end it quietly.
const pump = <E>(
  socket: Socket.Socket,
  events: Stream.Stream<OrchestratorEvent, E>,
  closeWith: (exit: Exit.Exit<void, E>) => Socket.CloseEvent
): Effect.Effect<Exit.Exit<void, E>> =>
  Effect.scoped(Effect.gen(function*() {
    const write = yield* socket.writer
    const sender = yield* events.pipe(
      Stream.takeUntil(isTerminal),
      Stream.runForEach((event) => Effect.orDie(write(toJson(event)))),
      Effect.exit,
      Effect.tap((exit) => ignoreSocketEnd(write(closeWith(exit)))),
      Effect.forkScoped
    )
    // Reading keeps the socket open and tells when it closes, whoever closed it; incoming messages are ignored.
    yield* ignoreSocketEnd(socket.runRaw(() => undefined))
    // The sender's outcome if it has finished; a client that went away first leaves it running, to be interrupted.
    const outcome = yield* Fiber.poll(sender)
    return Option.isSome(outcome) && Exit.isSuccess(outcome.value) ? outcome.value.value : Exit.void
  }))

/**
 * Sends an event stream over a socket, one JSON message per event, then closes it with code 1000 after the
 * terminal event (or when the stream ends). Returns when the socket is closed; a client that disconnects ends
 * it early, without error. A failing stream closes the socket with 1011 and fails with its error.
 *
 * @since 0.1.0
 * @category Sending
 */
export const send = <E>(socket: Socket.Socket, events: Stream.Stream<OrchestratorEvent, E>): Effect.Effect<void, E> =>
  Effect.flatten(pump(socket, events, (exit) =>
    Exit.isSuccess(exit)
      ? new Socket.CloseEvent(CloseCodes.finished, "run finished")
      : new Socket.CloseEvent(CloseCodes.failed, "event stream failed")))

/**
 * A request handler that upgrades the request to a WebSocket and sends the hub's run to it: from the start,
 * or after `?lastEventId=N`, from the hub's replay buffer, then live.
 *
 * - The socket is closed with 1000 after the terminal event; a client that resumes after having seen it is
 *   closed with 1000 at once.
 * - Messages go to the socket as they come, so a client never holds the run or the other clients back. A
 *   client more than the hub's `clientBuffer` events behind is closed with 4000 and a reason saying where to
 *   resume.
 * - A request that is not a WebSocket upgrade gets `426 Upgrade Required`.
 *
 * @since 0.1.0
 * @category Handlers
 * @example
 * ```ts
 * import { HttpLayerRouter } from "@effect/platform"
 * import { EventHub, WebSocket } from "multi-agent-orchestration"
 *
 * declare const hub: EventHub.EventHub
 *
 * const route = HttpLayerRouter.add("GET", "/ws", WebSocket.handler(hub))
 * ```
 */
export const handler = (
  hub: EventHub
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const socket = yield* Effect.option(request.upgrade)
    if (Option.isNone(socket)) {
      return HttpServerResponse.text("This endpoint speaks WebSocket only.", {
        status: 426,
        headers: { upgrade: "websocket", connection: "Upgrade" }
      })
    }
    const after = Option.getOrUndefined(resume.lastEventId(request))
    let lastSent = after ?? 0
    const events = hub.isFinishedAfter(lastSent)
      ? Stream.empty
      : hub.subscribe({ after }).pipe(Stream.tap((event) => Effect.sync(() => (lastSent = event.sequence))))
    yield* pump(socket.value, events, (exit) =>
      Exit.isSuccess(exit)
        ? new Socket.CloseEvent(CloseCodes.finished, "run finished")
        : laggedIn(exit)
        ? new Socket.CloseEvent(CloseCodes.lagged, `lagged; resume with ?lastEventId=${lastSent}`)
        : new Socket.CloseEvent(CloseCodes.failed, "event stream failed"))
    return HttpServerResponse.empty()
  })

const laggedIn = (exit: Exit.Exit<void, Lagged>): boolean =>
  Exit.isFailure(exit) && Option.isSome(Cause.failureOption(exit.cause))
