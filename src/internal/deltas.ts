/**
 * Streamed provider calls inside a run. When the run streams tokens, every provider call of a step is made
 * with the provider's `stream`, and the text goes out as `agent_delta` events, coalesced per agent:
 *
 * - at most one `agent_delta` per agent per `interval` (50 ms), on the run's Clock: text that arrives sooner
 *   waits, merged with what follows, for the next slot (a timer fiber, one per agent at most, sends it then);
 * - none is lost: a call that succeeds sends what is left before it returns, so every delta of an agent
 *   comes before its `agent_complete`;
 * - a new attempt (a retry, the fallback model, the agent's next call) starts the text again: its first
 *   delta says `restart`, and what an attempt that failed had not sent yet is dropped with it.
 *
 * A caller that consumes `Provider.streamText` inside a run gets every delta as it comes (see `meteredStream`).
 */
import type * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Stream from "effect/Stream"
import type { Completion, CompletionChunk, CompletionRequest } from "../Provider.js"
import type { ProviderError } from "../ProviderError.js"
import { endedEarly, streamFrom } from "./providers/streamChunks.js"
import { emit, type RunEnv } from "./env.js"
import type { Step } from "./step.js"

/** The default spacing of one agent's `agent_delta` events. */
export const defaultInterval: Duration.Duration = Duration.millis(50)

/** One run's coalescing of deltas. */
export interface Deltas {
  /** The least time between two `agent_delta` events of one agent, in milliseconds. */
  readonly interval: number
  readonly texts: WeakMap<Step, AgentText>
}

/** What one agent has written and not yet sent, and when it last sent. */
interface AgentText {
  pending: string
  lastSent: number
  timer: boolean
  /** An earlier attempt of this step streamed: the next delta restarts the text. */
  streamed: boolean
  restart: boolean
  attempt: number
  model: string
}

export const makeDeltas = (interval: Duration.DurationInput = defaultInterval): Deltas => ({
  interval: Duration.toMillis(Duration.decode(interval)),
  texts: new WeakMap()
})

/** Hears every delta of the calls made on this fiber, with the attempt it belongs to. */
export type DeltaListener = (text: string, attempt: number) => void

export const CurrentDeltaListener: FiberRef.FiberRef<DeltaListener | undefined> = FiberRef.unsafeMake<
  DeltaListener | undefined
>(undefined)

/** How many `meteredStream`s are running, in any run: while none is, no call needs to look for a listener. */
let listening = 0

const begin = (deltas: Deltas, step: Step): AgentText => {
  let text = deltas.texts.get(step)
  if (text === undefined) {
    text = { pending: "", lastSent: -Infinity, timer: false, streamed: false, restart: false, attempt: 0, model: "" }
    deltas.texts.set(step, text)
  }
  text.pending = ""
  text.restart = text.streamed
  text.streamed = true
  text.attempt = step.attempts
  text.model = step.model ?? step.defaultModel
  return text
}

// The event carries the time its slot was measured at, so that no two of an agent's deltas are less than the
// interval apart by their own timestamps, whatever runs between the reading of the Clock and the event.
const send = (step: Step, text: AgentText, now: number): void => {
  emit(step.node, "agent_delta", {
    subtaskId: step.subtaskId,
    text: text.pending,
    attempt: text.attempt,
    model: text.model,
    ...(text.restart ? { restart: true } : {})
  }, step.agentId, now)
  text.pending = ""
  text.restart = false
  text.lastSent = now
}

/** Sends the pending text now if the agent's slot is open, else once it opens (waiting on the Clock). */
const flush = (deltas: Deltas, step: Step, text: AgentText): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (text.pending === "") return Effect.void
    const now = step.node.env.clock.unsafeCurrentTimeMillis()
    const wait = text.lastSent + deltas.interval - now
    // Clock times may be fractional (TestClock): a remainder below a microsecond is rounding, not time to wait.
    if (wait <= 1e-3) {
      send(step, text, now)
      return Effect.void
    }
    return Effect.zipRight(Effect.sleep(Duration.millis(wait)), flush(deltas, step, text))
  })

/** Adds a delta; returns the timer to start, when the text must wait for the agent's next slot. */
const push = (deltas: Deltas, step: Step, text: AgentText, delta: string): Effect.Effect<void> | undefined => {
  text.pending += delta
  const now = step.node.env.clock.unsafeCurrentTimeMillis()
  if (now - text.lastSent >= deltas.interval - 1e-3) {
    send(step, text, now)
    return undefined
  }
  if (text.timer) return undefined
  text.timer = true
  // A daemon, so that it outlives whichever fiber happens to pull the stream; it sends nothing once the
  // attempt is over, since the attempt's end clears what is pending.
  return Effect.asVoid(Effect.forkDaemon(Effect.ensuring(
    flush(deltas, step, text),
    Effect.sync(() => (text.timer = false))
  )))
}

/** One attempt, streamed: its deltas go to the run's events and to the listener; returns its completion. */
const streamedAttempt = (
  env: RunEnv,
  step: Step,
  request: CompletionRequest,
  listener: DeltaListener | undefined
): Effect.Effect<Completion, ProviderError> =>
  Effect.suspend(() => {
    const deltas = env.deltas
    const text = deltas === undefined ? undefined : begin(deltas, step)
    const attempt = step.attempts
    let completion: Completion | undefined
    // A chunk at a time, without an effect per delta: a busy run streams hundreds of thousands of them.
    const consume = Stream.runForEachChunk(streamFrom(env.provider, request), (chunks: Chunk.Chunk<CompletionChunk>) => {
      let timer: Effect.Effect<void> | undefined
      for (const chunk of chunks) {
        if (chunk._tag === "Finish") {
          completion = chunk.completion
          continue
        }
        if (chunk.text === "") continue
        listener?.(chunk.text, attempt)
        if (text !== undefined) timer = push(deltas!, step, text, chunk.text) ?? timer
      }
      return timer ?? Effect.void
    })
    return consume.pipe(
      Effect.flatMap(() => {
        if (completion === undefined) {
          return Effect.fail(endedEarly({ provider: env.provider.name, model: step.model ?? step.defaultModel }))
        }
        const done = completion
        return text === undefined ? Effect.succeed(done) : Effect.as(flush(deltas!, step, text), done)
      }),
      Effect.ensuring(Effect.sync(() => {
        if (text !== undefined) text.pending = ""
      }))
    )
  })

/**
 * One attempt of a step's call: streamed when the run streams tokens or a caller listens for deltas, else a
 * plain `complete`.
 */
export const callProvider = (
  env: RunEnv,
  step: Step,
  request: CompletionRequest
): Effect.Effect<Completion, ProviderError> => {
  if (env.deltas === undefined && listening === 0) return env.provider.complete(request)
  // Tool calls and typed replies are whole answers, not text to show as it is written: they are not streamed.
  if (request.responseFormat !== undefined || (request.tools?.length ?? 0) > 0) return env.provider.complete(request)
  return Effect.withFiberRuntime((fiber) => {
    const listener = fiber.getFiberRef(CurrentDeltaListener)
    return env.deltas === undefined && listener === undefined
      ? env.provider.complete(request)
      : streamedAttempt(env, step, request, listener)
  })
}

/**
 * `Provider.streamText` inside a run: the call as `complete` makes it (metered, retried, falling back), with
 * each delta handed on as it comes; the first delta of an attempt after one that delivered text says
 * `restart`. Ends with the completion that was metered.
 */
export const meteredStream = (
  complete: (request: CompletionRequest) => Effect.Effect<Completion, ProviderError>
) =>
(request: CompletionRequest): Stream.Stream<CompletionChunk, ProviderError> =>
  Stream.asyncScoped<CompletionChunk, ProviderError>((emit) => {
    let delivered = false
    let lastAttempt = 0
    const listener: DeltaListener = (text, attempt) => {
      const restart = delivered && attempt !== lastAttempt
      delivered = true
      lastAttempt = attempt
      void emit.single(restart ? { _tag: "TextDelta", text, restart: true } : { _tag: "TextDelta", text })
    }
    return Effect.forkScoped(
      Effect.acquireUseRelease(
        Effect.sync(() => listening++),
        () => Effect.locally(complete(request), CurrentDeltaListener, listener),
        () => Effect.sync(() => listening--)
      ).pipe(
        Effect.matchEffect({
          onFailure: (error) => Effect.promise(() => emit.fail(error)),
          onSuccess: (completion) =>
            Effect.promise(() => emit.single({ _tag: "Finish", completion })).pipe(
              Effect.zipRight(Effect.promise(() => emit.end()))
            )
        })
      )
    )
  }, "unbounded")
