/**
 * The scheduler the fibers of a run use: one queue for all of them, drained in order, as Promise callbacks are.
 *
 * Effect's default scheduler gives every fiber a queue and a microtask chain of its own (a `SchedulerRunner`,
 * kept in a `WeakMap` keyed by the fiber): about 270 bytes per fiber, which a run with 20,000 agents in flight
 * holds 20,000 times, and a map the collector must treat as weak. Here every fiber's tasks go to one
 * `SchedulerRunner`. Like the default, it drains them in microtasks, and after 2,048 drains in a row it lets the
 * event loop run (timers, I/O) before it goes on, so that a run busy without a pause never starves them; it
 * does so with `setImmediate` where there is one, which waits for no timer, instead of `setTimeout(0)`, which
 * costs a millisecond. Fibers yield after the same number of operations as under the default.
 */
import { globalValue } from "effect/GlobalValue"
import * as Scheduler from "effect/Scheduler"

const maxDrainsBeforeEventLoop = 2048

/** Runs `task` on the event loop's next turn, after pending timers and I/O. */
export const toEventLoop: (task: () => void) => void = typeof setImmediate === "function"
  ? (task) => {
    setImmediate(task)
  }
  : (task) => {
    setTimeout(task, 0)
  }

const runner = globalValue(
  Symbol.for("multi-agent-orchestration/runScheduler/runner"),
  () =>
    new Scheduler.SchedulerRunner((depth, drain) => {
      if (depth >= maxDrainsBeforeEventLoop) toEventLoop(() => drain(0))
      else queueMicrotask(() => drain(depth + 1))
    })
)

/** One for the process, shared by every run (and by copies of this module loaded apart). */
export const runScheduler: Scheduler.Scheduler = globalValue(
  Symbol.for("multi-agent-orchestration/runScheduler"),
  () => Scheduler.make((task, priority) => runner.scheduleTask(task, priority), Scheduler.defaultShouldYield)
)
