import * as Effect from "effect/Effect"
import { isTerminal, type OrchestratorEvent } from "../OrchestratorEvent.js"
import { makeEventBuffer } from "./eventBuffer.js"

/**
 * How a run's events reach `onEvent`.
 *
 * A callback that returns nothing is called as each event happens, on the fiber that emits it, like a plain
 * Promise program calls its callback: nothing is queued and the events are seen at once, even while agents
 * keep the CPU busy. (Queued events wait for the fiber that delivers them, which runs after every busy worker
 * has had its turn: a run of 10,000 agents without latency handed them all over at its end.)
 *
 * Once the callback returns an effect, that effect and every later event go through an unbounded queue read by
 * a fiber of their own, in order: a slow consumer never blocks an agent and never loses an event; the backlog
 * waits in memory until it is read, and the run waits for it at its end (see `onEventGracePeriod`). A run
 * whose callback took every event at once, the terminal one included, has nothing to wait for.
 */
export interface Delivery {
  readonly push: (event: OrchestratorEvent) => void
  /** Delivers what is queued, in order, until the terminal event. */
  readonly consume: Effect.Effect<void>
  /** Whether the terminal event was handed to the callback at once, and nothing was ever left to `consume`. */
  readonly settled: () => boolean
}

type Callback = (event: OrchestratorEvent) => Effect.Effect<void> | void

const threw = (error: unknown) => Effect.logWarning("onEvent threw; the run goes on", error)

const guarded = (effect: Effect.Effect<void>) =>
  Effect.catchAllCause(effect, (cause) => Effect.logWarning("onEvent failed; the run goes on", cause))

/** Calls `onEvent`; what it returns (or the warning it threw) is left to the consumer, if anything. */
const call = (onEvent: Callback, event: OrchestratorEvent): Effect.Effect<void> | undefined => {
  let out: Effect.Effect<void> | void
  try {
    out = onEvent(event)
  } catch (error) {
    return threw(error)
  }
  return Effect.isEffect(out) ? guarded(out) : undefined
}

/** Calls `onEvent` with one event and runs what it returns: for `Orchestrator.stream`, whose consumer calls it. */
export const deliverOne = (onEvent: Callback, event: OrchestratorEvent): Effect.Effect<void> =>
  call(onEvent, event) ?? Effect.void

/** Queued after a terminal event handed over at once: the consumer ends there. */
const endOfEvents: Effect.Effect<void> = Effect.succeed(undefined)

export const makeDelivery = (onEvent: Callback): Delivery => {
  // Events, and the effects of calls made at once that the consumer is left to run.
  const buffer = makeEventBuffer<OrchestratorEvent | Effect.Effect<void>>()
  let direct = true
  let queued = false
  let settled = false
  const enqueue = (item: OrchestratorEvent | Effect.Effect<void>) => {
    queued = true
    buffer.push(item)
  }

  const deliverFrom = (items: ReadonlyArray<OrchestratorEvent | Effect.Effect<void>>, start: number): Effect.Effect<void> => {
    for (let i = start; i < items.length; i++) {
      const item = items[i]!
      if (item === endOfEvents) return Effect.void
      const delivered = Effect.isEffect(item) ? item : call(onEvent, item)
      if (!Effect.isEffect(item) && isTerminal(item)) return delivered ?? Effect.void
      if (delivered !== undefined) return Effect.zipRight(delivered, Effect.suspend(() => deliverFrom(items, i + 1)))
    }
    return consume
  }
  const consume: Effect.Effect<void> = Effect.flatMap(buffer.takeAll, (items) => deliverFrom(items, 0))

  const deliverAtOnce = (event: OrchestratorEvent): void => {
    let out: Effect.Effect<void> | void
    try {
      out = onEvent(event)
    } catch (error) {
      // Logged by the consumer; the next events are still delivered at once.
      return enqueue(threw(error))
    }
    if (!Effect.isEffect(out)) return
    // An effect: it runs on the consumer, and every later event queues up behind it.
    direct = false
    enqueue(guarded(out))
  }

  return {
    consume,
    push: (event) => {
      if (!direct) return enqueue(event)
      deliverAtOnce(event)
      if (!isTerminal(event)) return
      settled = !queued
      buffer.push(endOfEvents)
    },
    settled: () => settled
  }
}
