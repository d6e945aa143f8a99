import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import { Deadlines, type Timed } from "./deadlines.js"
import { toEventLoop } from "./runScheduler.js"

/** Something with a deadline that the watchdog interrupts when it passes. */
export interface Guarded extends Timed {
  readonly fiber: Fiber.RuntimeFiber<unknown, unknown>
  timedOut: boolean
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

    const deadlines = new Deadlines<Guarded>()

    const expire = (now: number): Effect.Effect<void> => {
      const due: Array<Guarded> = []
      for (
        let guarded = deadlines.earliest();
        guarded !== undefined && guarded.deadline <= now;
        guarded = deadlines.earliest()
      ) {
        deadlines.remove(guarded)
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
      const next = deadlines.earliest()?.deadline ?? Infinity
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
        deadlines.add(guarded)
        // Wake the watchdog only when no timer runs towards this deadline or a sooner one.
        if (guarded.deadline < armed) wake()
      },
      unregister: (guarded) => deadlines.remove(guarded),
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
