/**
 * Delays for many waiting calls on one fiber and one timer per `Clock`, instead of a timer per call.
 *
 * A call that waits with `Effect.sleep` holds about 2.4 KB until it wakes: the sleep's async registration
 * returns a canceler, and Effect wraps every such registration in an interruption handler (an uninterruptible
 * region, a `matchCauseEffect`, their closures). A wait here is one `Effect.async` without a canceler and one
 * entry in its clock's heap. When the waiting fiber is interrupted, Effect resumes it at once and ignores the
 * later wake-up; its entry stays in the heap until it is due, so a clock's fiber (and the process) may go on
 * until the last wait that was cut short would have ended.
 *
 * Waits are woken in the order of their due times, and among equal ones in the order they began. Each clock
 * has its own heap and fiber, so waits under a `TestClock` move with that clock alone.
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRefs from "effect/FiberRefs"
import { Heap } from "./heap.js"

class Entry {
  /** The waiting fiber's resume, once it is registered. */
  resume: ((next: Effect.Effect<unknown, unknown>) => void) | undefined = undefined
  /** Due before its fiber registered: the registration resumes at once. */
  fired = false
  constructor(readonly due: number, readonly order: number, readonly next: () => Effect.Effect<unknown, unknown>) {}
}

const before = (a: Entry, b: Entry): boolean => a.due < b.due || (a.due === b.due && a.order < b.order)

class Wakeups {
  private readonly heap = new Heap<Entry>(before)
  private order = 0
  /** Whether a fiber is waking this clock's waits; it ends once none is left. */
  private running = false
  /** The due time the fiber sleeps towards. */
  private target = Infinity
  /**
   * Cuts the fiber's sleep short, when a wait due sooner than `target` begins. A wait that begins before the
   * sleep has registered this leaves `wakeRequested`, and the sleep ends as soon as it starts.
   */
  private interrupt: ((now: Effect.Effect<void>) => void) | undefined = undefined
  private wakeRequested = false
  /** The due time of the last sleep that ran its course. */
  private reached = -Infinity
  private readonly interrupted = Effect.async<void>((resume) => {
    if (this.wakeRequested) resume(Effect.void)
    else this.interrupt = resume
  })

  constructor(private readonly clock: Clock.Clock) {}

  // In fractions of a millisecond: whole ones (`Date.now()`) would make a wait due up to a millisecond early,
  // and its timer, set from a truncated reading, up to one late.
  private now(): number {
    return Number(this.clock.unsafeCurrentTimeNanos()) / 1e6
  }

  /** Must be called lazily (inside an effect): the wait is queued at once, so that no wake-up can miss it. */
  after<A, E>(millis: number, next: () => Effect.Effect<A, E>): Effect.Effect<A, E> {
    const entry = new Entry(this.now() + millis, this.order++, next)
    this.heap.push(entry)
    const wait = Effect.async<A, E>((resume) => {
      if (entry.fired) resume(Effect.suspend(next))
      else entry.resume = resume as Entry["resume"]
    })
    if (!this.running) {
      this.running = true
      return Effect.zipRight(Effect.forkDaemon(this.start), wait)
    }
    if (entry.due < this.target) {
      const wake = this.interrupt
      this.interrupt = undefined
      if (wake === undefined) this.wakeRequested = true
      else wake(Effect.void)
    }
    return wait
  }

  // The fiber starts with no FiberRefs of its own: it needs none (it holds its clock), and those it was forked
  // with would keep the first caller's run (its services, its agent) alive for as long as waits keep coming.
  private readonly start: Effect.Effect<void> = Effect.suspend(() =>
    Effect.zipRight(Effect.updateFiberRefs(() => FiberRefs.empty()), this.loop)
  )

  private readonly loop: Effect.Effect<void> = Effect.suspend(() => {
    // Awake: the heap is read afresh, so earlier requests to wake are met (and a registration left by the
    // last sleep, now over, is stale).
    this.interrupt = undefined
    this.wakeRequested = false
    // A timer that fired has reached its due time, even when Node runs it a fraction of a millisecond early (it
    // counts whole milliseconds): sleeping again for that fraction would cost a whole one.
    const now = Math.max(this.now(), this.reached)
    for (let top = this.heap.peek(); top !== undefined && top.due <= now; top = this.heap.peek()) {
      this.heap.pop()
      if (top.resume === undefined) top.fired = true
      else top.resume(Effect.suspend(top.next))
    }
    const first = this.heap.peek()
    if (first === undefined) {
      this.running = false
      this.target = Infinity
      return Effect.void
    }
    const target = first.due
    this.target = target
    // The sleep starts after the fibers just woken have run (they were scheduled first), which takes a while
    // with a hundred of them: it is measured from then, towards the due time, not from `now`.
    const sleep = Effect.suspend(() => {
      const wait = target - this.now()
      return wait > 0 ? this.clock.sleep(Duration.millis(wait)) : Effect.void
    }).pipe(Effect.zipRight(Effect.sync(() => {
      this.reached = target
    })))
    return Effect.zipRight(Effect.raceFirst(sleep, this.interrupted), this.loop)
  })
}

// A clock's waits, for as long as the clock is in use.
const byClock = new WeakMap<Clock.Clock, Wakeups>()

/**
 * `next()`, once `millis` have passed on the current `Clock`, run on the waiting fiber. (A function rather than
 * an effect: a waiting call holds one object fewer.)
 */
export const after = <A, E>(millis: number, next: () => Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.clockWith((clock) => {
    let wakeups = byClock.get(clock)
    if (wakeups === undefined) {
      wakeups = new Wakeups(clock)
      byClock.set(clock, wakeups)
    }
    return wakeups.after(millis, next)
  })
