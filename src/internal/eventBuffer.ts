import * as Effect from "effect/Effect"

/**
 * An unbounded single-consumer buffer: `push` never blocks and never drops, and `takeAll` returns everything
 * queued so far, waiting only when there is nothing. One wake-up per empty-to-non-empty transition, so a busy
 * producer costs the consumer one batch, not one hand-off per item.
 */
export interface EventBuffer<A> {
  readonly push: (item: A) => void
  readonly takeAll: Effect.Effect<Array<A>>
}

export const makeEventBuffer = <A>(): EventBuffer<A> => {
  let items: Array<A> = []
  let waiting: ((wake: Effect.Effect<void>) => void) | undefined
  const wait = Effect.async<void>((resume) => {
    waiting = resume
  })
  const takeAll: Effect.Effect<Array<A>> = Effect.suspend(() => {
    if (items.length > 0) {
      const taken = items
      items = []
      return Effect.succeed(taken)
    }
    return Effect.zipRight(wait, takeAll)
  })
  return {
    push: (item) => {
      items.push(item)
      if (waiting !== undefined) {
        const wake = waiting
        waiting = undefined
        wake(Effect.void)
      }
    },
    takeAll
  }
}
