/**
 * Delays for many waiting calls on a few timers per `Clock` instead of a timer per call: one for each whole
 * millisecond in which waits are due, set as the first of them begins and run at its due time. It wakes every
 * wait due by the end of its millisecond (or by the time it runs, when it runs late): waits due within the same
 * millisecond end together, a fraction of a millisecond early for some, as Node's timers, which count whole
 * milliseconds, would end them. A timer set only once an earlier one had run would start a whole millisecond
 * later, and waits begun together would end apart. Past 64 timers set (waits spread over more milliseconds
 * than that), a later millisecond gets its timer when the one before it runs, so that waits spread over a
 * minute do not hold a timer per millisecond; a wait due sooner than every timer set gets its own at once.
 *
 * A call that waits with `Effect.sleep` holds about 2.4 KB until it wakes: the sleep's async registration
 * returns a canceler, and Effect wraps every such registration in an interruption handler (an uninterruptible
 * region, a `matchCauseEffect`, their closures). A wait here is one `Effect.async` without a canceler and one
 * entry in its clock's queue. When the waiting fiber is interrupted, Effect resumes it at once and ignores the
 * later wake-up; its entry stays in the queue until it is due, so a clock's timer (and the process) may go on
 * until the last wait that was cut short would have ended.
 *
 * Waits are woken in the order of their due times, and among equal ones in the order they began. Each clock
 * has its own queue and timers, so waits under a `TestClock` move with that clock alone.
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRefs from "effect/FiberRefs"
import { PriorityQueue } from "./priorityQueue.js"

class Entry {
  /** The waiting fiber's resume, once it is registered. */
  resume: ((next: Effect.Effect<unknown, unknown>) => void) | undefined = undefined
  /** Due before its fiber registered: the registration resumes at once. */
  fired = false
  constructor(readonly due: number, readonly order: number, readonly next: () => Effect.Effect<unknown, unknown>) {}
}

const before = (a: Entry, b: Entry): boolean => a.due < b.due || (a.due === b.due && a.order < b.order)

const maxTimersAtOnce = 64

class Wakeups {
  private readonly waiting = new PriorityQueue<Entry>(before)
  private order = 0
  /** The whole milliseconds a timer is set for and has not run: each wakes the waits due by its end. */
  private readonly armed = new Set<number>()

  constructor(private readonly clock: Clock.Clock) {}

  // In fractions of a millisecond: whole ones (`Date.now()`) would make a wait due up to a millisecond early,
  // and its timer, set from a truncated reading, up to one late.
  private now(): number {
    return Number(this.clock.unsafeCurrentTimeNanos()) / 1e6
  }

  /** Must be called lazily (inside an effect): the wait is queued at once, so that no wake-up can miss it. */
  after<A, E>(millis: number, next: () => Effect.Effect<A, E>): Effect.Effect<A, E> {
    const entry = new Entry(this.now() + millis, this.order++, next)
    this.waiting.push(entry)
    const wait = Effect.async<A, E>((resume) => {
      if (entry.fired) resume(Effect.suspend(next))
      else entry.resume = resume as Entry["resume"]
    })
    const millisecond = Math.ceil(entry.due)
    return this.needsTimer(millisecond) ? Effect.zipRight(this.arm(millisecond, entry.due), wait) : wait
  }

  // Every wait waiting has a timer set for its millisecond or an earlier one, which sets the next when it runs.
  private needsTimer(millisecond: number): boolean {
    if (this.armed.has(millisecond)) return false
    if (this.armed.size < maxTimersAtOnce) return true
    for (const armed of this.armed) if (armed < millisecond) return false
    return true
  }

  /** Sets a timer towards `due` on a fiber of its own, for the waits due by the end of its `millisecond`. */
  private arm(millisecond: number, due: number): Effect.Effect<void> {
    this.armed.add(millisecond)
    return Effect.asVoid(Effect.forkDaemon(this.timer(millisecond, due)))
  }

  // The timer's fiber starts after the fibers woken with it have run (they were scheduled first), which takes a
  // while with a hundred of them: its wait is measured from then, not from when it was set. It starts with no
  // FiberRefs of its own: those it was forked with would keep the caller's run (its services, its agent) alive
  // until it ends.
  private timer(millisecond: number, due: number): Effect.Effect<void> {
    return Effect.zipRight(
      Effect.updateFiberRefs(() => FiberRefs.empty()),
      Effect.suspend(() => {
        const wait = due - this.now()
        return wait > 0
          ? Effect.zipRight(this.clock.sleep(Duration.millis(wait)), Effect.suspend(() => this.fire(millisecond)))
          : this.fire(millisecond)
      })
    )
  }

  /**
   * Wakes every wait due by the end of `millisecond`, or by now if that is later, and sets a timer for the
   * first wait left, unless its millisecond has one.
   */
  private fire(millisecond: number): Effect.Effect<void> {
    this.armed.delete(millisecond)
    const now = Math.max(this.now(), millisecond)
    let top = this.waiting.peek()
    for (; top !== undefined && top.due <= now; top = this.waiting.peek()) {
      this.waiting.pop()
      if (top.resume === undefined) top.fired = true
      else top.resume(Effect.suspend(top.next))
    }
    if (top === undefined) return Effect.void
    const next = Math.ceil(top.due)
    return this.armed.has(next) ? Effect.void : this.arm(next, top.due)
  }
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
