import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import { toEventLoop } from "./runScheduler.js"

/** Something with a deadline that the watchdog interrupts when it passes. */
export interface Guarded {
  readonly deadline: number
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  timedOut: boolean
  /** Where the watchdog keeps it (its own business); -1 when it is not watched. */
  slot: number
  /** Reports the time-out, once the fiber has been told to stop. */
  readonly timeOut: () => Effect.Effect<void>
}

/**
 * Enforces time bounds for a whole run with one fiber and one timer, instead of a timer and two fibers per
 * agent (`Effect.timeout`): agents register their deadline when they start and unregister when they finish;
 * the watchdog wakes at the earliest deadline, interrupts the fibers of agents still running then, and
 * reports each time-out (`timeOut`), so that the fibers it stops need no handler of their own.
 *
 * The watchdog's fiber waits for one wake-up at a time. Timers run on fibers of their own (through `Clock`,
 * so `TestClock` drives them) and wake it when they end; a deadline sooner than the armed timer's gets a timer
 * of its own, and the later one still runs. Nothing races: stopping the watchdog is one wake-up, and the
 * timers still running (whose Node timers would otherwise keep the process alive) are interrupted on the
 * event loop's next turn, once the run's caller has gone on: interrupting a sleeping fiber takes a dozen
 * fiber hops and its interruption handler, which need not stand between a run's end and its caller.
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

/** Whether `guarded` is registered with a watchdog. */
export const isWatched = (guarded: Guarded): boolean => guarded.slot !== -1

export const makeWatchdog = (clock: Clock.Clock): Effect.Effect<Watchdog> =>
  Effect.sync(() => {
    // The watchdog's fiber waits here between deadlines; `woken` keeps a wake-up that comes before it waits.
    let resumeWatchdog: ((now: Effect.Effect<void>) => void) | undefined
    let woken = false
    const waitForWake = Effect.async<void>((resume) => {
      if (woken) resume(Effect.void)
      else resumeWatchdog = resume
    })
    const wake = () => {
      woken = true
      const resume = resumeWatchdog
      resumeWatchdog = undefined
      resume?.(Effect.void)
    }
    // The deadline of the earliest timer still running, and the fibers of all those still running.
    let armed = Infinity
    const timers = new Set<Fiber.RuntimeFiber<void>>()
    let stopped = false

    // Deadlines mostly come in order (agents of one time bound, started one after another): those join
    // `inOrder`, first in first out, and leave it in constant time, wherever they are in it; the others go to a
    // binary heap beside it. (A 20,000-deadline heap costs a cache miss a level on every removal.) A guarded's
    // `slot` says where it is: -1 nowhere, 0 or more its position in `inOrder` counted since the watchdog
    // began (`inOrder[slot - base]`), -2 or less its index `i` in the heap as `-2 - i`.
    const inOrder: Array<Guarded | undefined> = []
    let base = 0
    let head = 0
    let lastInOrder = -Infinity
    let liveInOrder = 0
    const heap: Array<Guarded> = []

    const place = (guarded: Guarded, i: number) => {
      heap[i] = guarded
      guarded.slot = -2 - i
    }
    const up = (i: number) => {
      const guarded = heap[i]!
      while (i > 0) {
        const parent = (i - 1) >> 1
        if (heap[parent]!.deadline <= guarded.deadline) break
        place(heap[parent]!, i)
        i = parent
      }
      place(guarded, i)
    }
    const down = (i: number) => {
      const guarded = heap[i]!
      for (;;) {
        const left = 2 * i + 1
        if (left >= heap.length) break
        const right = left + 1
        const child = right < heap.length && heap[right]!.deadline < heap[left]!.deadline ? right : left
        if (heap[child]!.deadline >= guarded.deadline) break
        place(heap[child]!, i)
        i = child
      }
      place(guarded, i)
    }
    const add = (guarded: Guarded) => {
      if (guarded.deadline >= lastInOrder) {
        lastInOrder = guarded.deadline
        liveInOrder++
        guarded.slot = base + inOrder.length
        inOrder.push(guarded)
      } else {
        heap.push(guarded)
        up(heap.length - 1)
      }
    }
    // Drops the removed front of `inOrder`: all of it once nothing is left, else once it is most of the array.
    const compact = () => {
      while (head < inOrder.length && inOrder[head] === undefined) head++
      if (head === inOrder.length) {
        base += head
        inOrder.length = 0
        head = 0
        lastInOrder = -Infinity
      } else if (head >= 1024 && 2 * head >= inOrder.length) {
        inOrder.copyWithin(0, head)
        inOrder.length -= head
        base += head
        head = 0
      }
    }
    // Behind a long-lived front, removals leave holes: once they are most of `inOrder`, the rest moves up, to
    // positions not used before.
    const squeeze = () => {
      const start = base + inOrder.length
      let kept = 0
      for (let i = head; i < inOrder.length; i++) {
        const guarded = inOrder[i]
        if (guarded === undefined) continue
        inOrder[kept] = guarded
        guarded.slot = start + kept++
      }
      inOrder.length = kept
      base = start
      head = 0
    }
    const remove = (guarded: Guarded) => {
      const slot = guarded.slot
      if (slot === -1) return
      guarded.slot = -1
      if (slot >= 0) {
        inOrder[slot - base] = undefined
        liveInOrder--
        if (slot - base === head) compact()
        else if (inOrder.length - head >= 1024 && 4 * liveInOrder < inOrder.length - head) squeeze()
        return
      }
      const i = -2 - slot
      const last = heap.pop()!
      if (i === heap.length) return
      place(last, i)
      up(i)
      down(-2 - last.slot)
    }
    // The guarded with the earliest deadline, if any.
    const earliest = (): Guarded | undefined => {
      const first = inOrder[head]
      const top = heap[0]
      return first === undefined || (top !== undefined && top.deadline < first.deadline) ? top : first
    }

    const expire = (now: number): Effect.Effect<void> => {
      const due: Array<Guarded> = []
      for (let guarded = earliest(); guarded !== undefined && guarded.deadline <= now; guarded = earliest()) {
        remove(guarded)
        guarded.timedOut = true
        due.push(guarded)
      }
      // Each stopped fiber is awaited before its time-out is reported, so that what it held (a connection,
      // say) is released before anything goes on, and nothing it does is reported twice. A run that ends
      // meanwhile (the watchdog is stopped) reports nothing more.
      const report = (guarded: Guarded) => Effect.suspend(() => (stopped ? Effect.void : guarded.timeOut()))
      return Effect.fiberIdWith((self) => {
        for (const guarded of due) guarded.fiber.unsafeInterruptAsFork(self)
        return Effect.forEach(due, (guarded) => Effect.zipRight(Fiber.await(guarded.fiber), report(guarded)), {
          concurrency: "unbounded",
          discard: true
        })
      })
    }

    // A timer towards `deadline`: it wakes the watchdog when it ends, and leaves the set of those running.
    const timer = (deadline: number) =>
      Effect.withFiberRuntime<void>((self) =>
        Effect.zipRight(
          clock.sleep(Duration.millis(Math.max(0, deadline - clock.unsafeCurrentTimeMillis()))),
          Effect.sync(() => {
            timers.delete(self as Fiber.RuntimeFiber<void>)
            if (deadline >= armed) armed = Infinity
            wake()
          })
        )
      )
    const arm = (deadline: number): Effect.Effect<void> => {
      armed = deadline
      return Effect.map(Effect.forkDaemon(timer(deadline)), (started) => {
        // A timer that has ended already (at once, under a clock that has moved past it) is not kept.
        if (started.unsafePoll() === null) timers.add(started)
      })
    }

    const loop: Effect.Effect<void> = Effect.suspend(() => {
      woken = false
      if (stopped) return Effect.void
      const now = clock.unsafeCurrentTimeMillis()
      const next = earliest()?.deadline ?? Infinity
      if (next <= now) return Effect.zipRight(expire(now), loop)
      return next < armed ? Effect.zipRight(arm(next), waitThenLoop) : waitThenLoop
    })
    const waitThenLoop: Effect.Effect<void> = Effect.zipRight(waitForWake, loop)
    let fiber: Fiber.RuntimeFiber<void> | undefined

    return {
      start: Effect.suspend(() => {
        if (fiber !== undefined) return Effect.void
        return Effect.map(Effect.forkDaemon(loop), (started) => {
          fiber = started
        })
      }),
      register: (guarded) => {
        add(guarded)
        // Wake the watchdog only when no timer runs towards this deadline or a sooner one.
        if (guarded.deadline < armed) wake()
      },
      unregister: remove,
      stop: Effect.sync(() => {
        if (stopped) return
        stopped = true
        wake()
        if (timers.size === 0) return
        const running = [...timers]
        timers.clear()
        const by = fiber?.id() ?? FiberId.none
        toEventLoop(() => {
          for (const timer of running) timer.unsafeInterruptAsFork(by)
        })
      })
    }
  })
