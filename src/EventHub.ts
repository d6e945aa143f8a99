/**
 * A shared hub for the events of one run: every event goes in once, any number of clients read them, each
 * from where it wants (the start, or after the last event id it saw), while the run goes on unhindered. The
 * SSE and WebSocket helpers serve a hub; publish a run into it with `onEvent: hub.publish`.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { isTerminal, type OrchestratorEvent } from "./OrchestratorEvent.js"

/**
 * A subscriber fell more than `clientBuffer` events behind and the oldest of its pending events were dropped.
 * The subscription ends with this error; the client can subscribe again `after` the last event it got and
 * catch up from the replay buffer.
 *
 * @since 0.1.0
 * @category Errors
 */
export class Lagged extends Data.TaggedError("Lagged")<{
  /** The sequence of the last event the subscriber received (0 for none). */
  readonly lastSequence: number
  /** How many events were dropped for this subscriber. */
  readonly dropped: number
}> {
  override get message(): string {
    return `the subscriber fell behind: ${this.dropped} events were dropped after event ${this.lastSequence}`
  }
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** How many of the latest events are kept for clients that join late or reconnect. Default 1000. */
  readonly replay?: number | undefined
  /**
   * How many events one subscriber may have pending before the oldest are dropped for it (and it gets
   * `Lagged`). Other subscribers and the run are never held back by a slow one. Default 256.
   */
  readonly clientBuffer?: number | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface SubscribeOptions {
  /** Only events whose `sequence` is greater, e.g. an SSE `Last-Event-ID`. Default: from the first kept event. */
  readonly after?: number | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface EventHub {
  /**
   * Publishes one event to every subscriber and the replay buffer. Never waits, whoever is reading; fits
   * `Orchestrator.run`'s `onEvent` as it is.
   */
  readonly publish: (event: OrchestratorEvent) => Effect.Effect<void>
  /**
   * The events after `options.after`: first those still in the replay buffer, then live ones, ending after the
   * run's terminal event (`workflow_complete`, `workflow_error` or `workflow_cancelled`) or when the hub shuts
   * down. No event is delivered twice and none is skipped, except those already evicted from the replay
   * buffer when the subscription starts; a subscriber that falls behind by more than `clientBuffer` events
   * fails with `Lagged`.
   */
  readonly subscribe: (options?: SubscribeOptions) => Stream.Stream<OrchestratorEvent, Lagged>
  /** The terminal event, once the run has ended. */
  readonly terminal: Effect.Effect<Option.Option<OrchestratorEvent>>
  /** Whether a client that has seen the event with this sequence has seen the whole run. */
  readonly isFinishedAfter: (sequence: number) => boolean
  /** Ends every subscription; later subscriptions end at once, and later events are ignored. */
  readonly shutdown: Effect.Effect<void>
}

/** What goes through the PubSub: the event and its position in the hub, which reveals drops. */
interface Entry {
  readonly index: number
  readonly event: OrchestratorEvent
}

/**
 * A hub that lives as long as the scope. One hub serves one run: event ids are the run's sequence numbers.
 *
 * @since 0.1.0
 * @category Constructors
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { EventHub, Orchestrator, Workflow } from "multi-agent-orchestration"
 *
 * declare const workflow: Workflow.Workflow
 *
 * const program = Effect.gen(function*() {
 *   const hub = yield* EventHub.make({ replay: 500 })
 *   yield* Orchestrator.run(workflow, "Compare vector databases", { onEvent: hub.publish }).pipe(Effect.forkScoped)
 *   // Any number of readers, each from where it wants:
 *   yield* hub.subscribe({ after: 10 }).pipe(Stream.runForEach((event) => Effect.log(event.type)))
 * })
 * ```
 */
export const make = (options: Options = {}): Effect.Effect<EventHub, never, Scope.Scope> =>
  Effect.gen(function*() {
    const replay = Math.max(1, Math.floor(options.replay ?? 1000))
    const clientBuffer = Math.max(1, Math.floor(options.clientBuffer ?? 256))
    // A sliding PubSub bounds how far each subscriber may lag: when one has `clientBuffer` events pending,
    // the oldest of them are dropped for it alone; publishing never waits.
    let closed = false
    const pubsub = yield* Effect.acquireRelease(
      PubSub.sliding<Entry>({ capacity: clientBuffer, replay }),
      (pubsub) => Effect.zipRight(Effect.sync(() => (closed = true)), PubSub.shutdown(pubsub))
    )
    const yieldAt = Math.max(1, Math.floor(clientBuffer / 2))
    let published = 0
    let terminal: OrchestratorEvent | undefined

    const publish = (event: OrchestratorEvent): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (closed) return Effect.void
        // Recorded before the event goes out, so that a subscriber never waits for a terminal event it missed.
        if (terminal === undefined && isTerminal(event)) terminal = event
        return Effect.flatMap(PubSub.publish(pubsub, { index: ++published, event }), () =>
          // Once some subscriber is half a buffer behind, let the subscribers run before going on: a reader
          // that keeps up is then never outrun by a burst of events, and one that cannot (a slow network
          // client) is still never waited for.
          pubsub.unsafeSize().pipe(Option.getOrElse(() => 0)) >= yieldAt ? Effect.yieldNow() : Effect.void)
      })

    const isFinishedAfter = (sequence: number): boolean => terminal !== undefined && sequence >= terminal.sequence

    const subscribe = (subscribeOptions: SubscribeOptions = {}): Stream.Stream<OrchestratorEvent, Lagged> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const after = subscribeOptions.after ?? 0
        // Subscribe first, then look at the terminal event: one published before the subscription is in its
        // replay window (or the client has seen it); one published after arrives live.
        const queue = yield* PubSub.subscribe(pubsub)
        if (isFinishedAfter(after)) return Stream.empty
        let lastIndex: number | undefined
        let lastSequence = after
        return Stream.fromQueue(queue).pipe(
          Stream.mapEffect((entry): Effect.Effect<{ readonly event: OrchestratorEvent; readonly fresh: boolean }, Lagged> => {
            if (lastIndex !== undefined && entry.index !== lastIndex + 1) {
              return Effect.fail(new Lagged({ lastSequence, dropped: entry.index - lastIndex - 1 }))
            }
            lastIndex = entry.index
            const fresh = entry.event.sequence > lastSequence
            if (fresh) lastSequence = entry.event.sequence
            return Effect.succeed({ event: entry.event, fresh })
          }),
          // The terminal event ends the subscription even when the client claims to have seen it already.
          Stream.takeUntil(({ event }) => isTerminal(event)),
          Stream.filterMap(({ event, fresh }) => (fresh ? Option.some(event) : Option.none()))
        )
      }))

    return {
      publish,
      subscribe,
      terminal: Effect.sync(() => Option.fromNullable(terminal)),
      isFinishedAfter,
      shutdown: Effect.zipRight(Effect.sync(() => (closed = true)), PubSub.shutdown(pubsub))
    }
  })
