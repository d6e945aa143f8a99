import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/** Something with a deadline that the watchdog interrupts when it passes. */
export interface Guarded {
  readonly deadline: number
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  timedOut: boolean
  /** Position in the watchdog's heap; -1 when not in it. */
  slot: number
  /** Reports the time-out, once the fiber has been told to stop. */
  readonly timeOut: () => Effect.Effect<void>
}

/**
 * Enforces time bounds for a whole run with one fiber and one timer, instead of a timer and two fibers per
 * agent (`Effect.timeout`): agents register their deadline when they start and unregister when they finish;
 * the watchdog sleeps until the earliest deadline, interrupts the fibers of agents still running then, and
 * reports each time-out (`timeOut`), so that the fibers it stops need no handler of their own.
 * Sleeping goes through `Clock`, so `TestClock` drives it.
 */
export interface Watchdog {
  readonly register: (guarded: Guarded) => void
  readonly unregister: (guarded: Guarded) => void
  /**
   * Starts watching, on a fiber forked from the caller's: time-outs are reported from there, so the caller
   * must be inside the run (its workers are forked with the run's context).
   */
  readonly start: Effect.Effect<void>
  /** Ends the watchdog, without waiting for it. */
  readonly stop: Effect.Effect<void>
}

export const makeWatchdog = (clock: Clock.Clock): Effect.Effect<Watchdog> =>
  Effect.sync(() => {
    const heap: Array<Guarded> = []
    // Resumes the watchdog's wait early, when a deadline comes before the one it sleeps towards.
    let wake: ((now: Effect.Effect<void>) => void) | undefined
    const waitForWake = Effect.async<void>((resume) => {
      wake = resume
    })
    let target = Infinity

    const swap = (i: number, j: number) => {
      const a = heap[i]!
      const b = heap[j]!
      heap[i] = b
      heap[j] = a
      b.slot = i
      a.slot = j
    }
    const up = (i: number) => {
      while (i > 0) {
        const parent = (i - 1) >> 1
        if (heap[parent]!.deadline <= heap[i]!.deadline) return
        swap(i, parent)
        i = parent
      }
    }
    const down = (i: number) => {
      for (;;) {
        const left = 2 * i + 1
        const right = left + 1
        let least = i
        if (left < heap.length && heap[left]!.deadline < heap[least]!.deadline) least = left
        if (right < heap.length && heap[right]!.deadline < heap[least]!.deadline) least = right
        if (least === i) return
        swap(i, least)
        i = least
      }
    }
    const remove = (guarded: Guarded) => {
      const i = guarded.slot
      if (i < 0) return
      const last = heap.pop()!
      guarded.slot = -1
      if (i === heap.length) return
      heap[i] = last
      last.slot = i
      up(i)
      down(last.slot)
    }

    const expire = (now: number): Effect.Effect<void> => {
      const due: Array<Guarded> = []
      while (heap.length > 0 && heap[0]!.deadline <= now) {
        const guarded = heap[0]!
        remove(guarded)
        guarded.timedOut = true
        due.push(guarded)
      }
      // Each stopped fiber is awaited before its time-out is reported, so that what it held (a connection,
      // say) is released before anything goes on, and nothing it does is reported twice.
      return Effect.fiberIdWith((self) => {
        for (const guarded of due) guarded.fiber.unsafeInterruptAsFork(self)
        return Effect.forEach(due, (guarded) => Effect.zipRight(Fiber.await(guarded.fiber), guarded.timeOut()), {
          concurrency: "unbounded",
          discard: true
        })
      })
    }

    const loop: Effect.Effect<never> = Effect.suspend(() => {
      const now = clock.unsafeCurrentTimeMillis()
      if (heap.length > 0 && heap[0]!.deadline <= now) return Effect.zipRight(expire(now), loop)
      target = heap.length === 0 ? Infinity : heap[0]!.deadline
      const waited = target === Infinity ? waitForWake : Effect.raceFirst(Effect.sleep(target - now), waitForWake)
      return Effect.zipRight(waited, loop)
    })
    let fiber: Fiber.RuntimeFiber<never> | undefined

    return {
      start: Effect.suspend(() => {
        if (fiber !== undefined) return Effect.void
        return Effect.map(Effect.forkDaemon(loop), (started) => {
          fiber = started
        })
      }),
      register: (guarded) => {
        guarded.slot = heap.length
        heap.push(guarded)
        up(guarded.slot)
        // Wake the watchdog only when this deadline comes before the one it sleeps towards.
        if (guarded.deadline < target) {
          target = guarded.deadline
          const resume = wake
          wake = undefined
          resume?.(Effect.void)
        }
      },
      unregister: remove,
      stop: Effect.suspend(() => (fiber === undefined ? Effect.void : Fiber.interruptFork(fiber)))
    }
  })
