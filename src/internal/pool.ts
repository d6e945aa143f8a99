/**
 * The scheduler of a run: this pool, and the DAG walk that feeds it (`runGraph` in agents.ts).
 *
 * Invariants (test/scheduler.property.test.ts checks them on random graphs):
 * 1. At most `limit` jobs run at once, across every workflow of the run: `active` counts workers that are
 *    running or about to run, and is never raised past `limit`.
 * 2. A job is queued only when its last dependency has finished (`waiting[i]` reaches 0 exactly once), so no
 *    subtask starts before its dependencies, and each is queued once.
 * 3. A job never waits while a slot is free: whoever makes jobs ready either runs the first itself (a worker
 *    whose job just ended) or starts workers for them (`submit`), in the same tick; no timer, batch or yield
 *    sits between a finished job and the next.
 * 4. Workers started or woken but not yet running (`starting`) are counted as taking ready jobs, so no more
 *    workers are started than there are ready jobs.
 * 5. Every subtask ends exactly once: finished by its worker, or timed out by the watchdog (which then
 *    replaces that worker, whose own late ending is ignored), or never started once a budget is spent.
 * 6. The work per finished job is constant besides its dependents: no scan over all jobs.
 * 7. A new worker runs at once, inside its starter's turn, unless workers are already being started at once:
 *    then it is queued for the same tick. Starts never nest more than one deep, however many jobs each job
 *    makes ready (test/scheduler.test.ts runs a spine of 5,000 agents that each ready two).
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Runtime from "effect/Runtime"
import { PriorityQueue } from "./priorityQueue.js"
import { toEventLoop } from "./runScheduler.js"
import { CurrentStep, sharedHolder, type StepHolder } from "./step.js"

/**
 * Runs the jobs of one scheduler; a job is an index into its work. It runs on `worker`, a fiber of the pool
 * whose `CurrentStep` holder is `holder`: pointing it at the job's step is how the metered provider, the
 * watchdog and the job's handlers find that step.
 */
export interface JobOwner {
  readonly run: (index: number, worker: Fiber.RuntimeFiber<unknown, unknown>, holder: StepHolder) => Effect.Effect<void>
}

/**
 * A unit of work waiting for a slot. Higher `priority` first; among equals, the lower `order` first. Kept to
 * four plain fields, no closure: a 100,000-subtask run queues 100,000 of them at once.
 */
export interface Job {
  readonly priority: number
  readonly order: number
  readonly owner: JobOwner
  readonly index: number
}

/**
 * A bounded pool shared by every workflow of one run, so that the concurrency limit holds across nesting.
 *
 * Workers are started lazily, one per free slot, and each runs jobs one after another straight from the ready
 * queue: a job never waits while a slot is free, at most `limit` jobs run at once, and a job costs no fiber of
 * its own. A free slot always takes the highest-priority ready job. A worker that finds the queue empty parks
 * until a job comes (a later tier of a cascade, say), so that waking it costs far less than forking a fresh
 * fiber; a few are kept parked at most, the rest end at once, and parked workers end with the run.
 *
 * A job's time bound is enforced by interrupting its worker (see `Watchdog`), which reports the job as timed
 * out and has a fresh worker take the slot (`replaceWorker`).
 */
export interface Pool {
  readonly limit: number
  /** A fresh order number, so that jobs of equal priority start in the order they became ready. */
  readonly nextOrder: () => number
  /** Queues jobs that just became ready, then starts workers for the free slots. */
  readonly submit: (jobs: ReadonlyArray<Job>) => Effect.Effect<void>
  /**
   * Queues jobs from inside a job that is ending on a worker. That worker takes the first of them the moment
   * its job ends, in the same tick, and starts workers for the rest then: waking another one now would only
   * have it find the job gone.
   */
  readonly queue: (jobs: ReadonlyArray<Job>) => void
  /**
   * The run needs no more: parked workers are woken to end, on the event loop's next turn. (Daemon fibers stay
   * registered until they end, so a parked worker left alone would keep its run's memory. Woken at once, a
   * dozen of them would end before the run's caller goes on, and hold it up.)
   */
  readonly close: () => void
  /**
   * The watchdog stopped this worker (its fiber), whose job ran out of time, and reported that job: a fresh
   * worker takes its slot.
   */
  readonly replaceWorker: (stopped: Fiber.RuntimeFiber<unknown, unknown>) => Effect.Effect<void>
  /** Interrupts every worker (the run was interrupted), and waits until they are all gone. */
  readonly interruptAll: Effect.Effect<void>
}

/** Job order: higher priority first, then the order they became ready. */
export const jobBefore = (a: Job, b: Job): boolean => a.priority > b.priority || (a.priority === b.priority && a.order < b.order)

/** How many idle workers a pool keeps. */
const maxParked = 16

// New workers are fibers of their own, with the caller's context and FiberRefs, as `forkDaemon` would make
// them; but each runs at once, up to its first wait, before the next is made (a fork would queue it and run it
// only once every other had been made: 20,000 fibers and their start messages alive at once, for the collector
// to copy), and it takes one copy of the FiberRefs where a fork takes two. Workers started while others are
// being started at once (by one of those, in any pool) are queued instead: starts never nest more than one
// deep, so a run whose agents each ready more work cannot run the stack out.
let startingAtOnce = false
const later: Runtime.RunForkOptions = { immediate: false }

export const makePool = (limit: number): Pool => {
  const ready = new PriorityQueue<Job>(jobBefore)
  // The resume callbacks of parked workers. (`Effect.async` costs far less than a Deferred.)
  const parked: Array<(wake: Effect.Effect<void>) => void> = []
  // Workers are root fibers, as daemons are, tracked here rather than children of a scope: starting one is
  // cheaper, and a run that completes need not wait for its parked workers to end. A worker leaves the set
  // where it ends (or where the watchdog replaces it), not through an observer of its fiber, which would cost
  // a closure a worker.
  const live = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  let interrupted = false
  let active = 0
  let starting = 0
  let order = 0
  let closed = false

  // Gives each free slot a worker: a parked one if there is one, else a new fiber.
  const startWorkers: Effect.Effect<void> = Effect.suspend(() => {
    // Workers already started or woken but not yet running take ready jobs too: count them out.
    let workers = Math.min(limit - active, ready.size - starting)
    if (workers <= 0) return Effect.void
    active += workers
    starting += workers
    while (workers > 0 && parked.length > 0) {
      parked.pop()!(Effect.void)
      workers--
    }
    if (workers === 0) return Effect.void
    return Effect.map(Effect.runtime<never>(), (runtime) => startFibers(runtime, workers))
  })

  const startFibers = (runtime: Runtime.Runtime<never>, workers: number): void => {
    const start = Runtime.runFork(runtime)
    if (startingAtOnce) {
      for (let i = 0; i < workers; i++) start(worker, later)
      return
    }
    startingAtOnce = true
    try {
      for (let i = 0; i < workers; i++) start(worker)
    } finally {
      startingAtOnce = false
    }
  }

  // A worker holds no state of its own besides its fiber and the fiber's `CurrentStep` holder: the effects it
  // runs are made once per pool, not once per worker, since a wide tier starts thousands of workers at once.
  const loop: Effect.Effect<void> = Effect.withFiberRuntime((fiber) => {
    const job = ready.pop()
    if (job === undefined) return park(fiber)
    const running = Effect.flatMap(job.owner.run(job.index, fiber, fiber.getFiberRef(CurrentStep)), next)
    // More ready than this worker takes, and a free slot: start workers for them first.
    return ready.size > 0 && active < limit ? Effect.zipRight(startWorkers, running) : running
  })
  const next = () => loop

  // Parked: the slot is given back, and whoever wakes the worker has taken it again. A few parked workers are
  // enough to start the next tier without forking; past that, a worker ends at once, so that a wide tier does
  // not leave dozens of fibers to end when the run does.
  const park = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<void> => {
    active--
    if (closed || parked.length >= maxParked) {
      live.delete(fiber)
      return Effect.void
    }
    return parkedThenLoop
  }
  const parkedThenLoop = Effect.zipRight(
    Effect.async<void>((resume) => {
      parked.push(resume)
    }),
    Effect.withFiberRuntime((fiber) => {
      starting--
      if (!closed) return loop
      live.delete(fiber)
      return Effect.void
    })
  )

  const worker: Effect.Effect<void> = Effect.withFiberRuntime((fiber) => {
    starting--
    if (interrupted) return Effect.void
    live.add(fiber)
    // A run sets `CurrentStep` at its root, so every fiber forked inside it, a worker included, starts with a
    // holder of its own (`CurrentStep`'s fork): reading it costs nothing, while setting a FiberRef copies them
    // all. Outside a run the FiberRef holds the initial holder every fiber shares, and the worker sets its own.
    // (`getFiberRef`, not `getFiberRefs`, which copies them.)
    return fiber.getFiberRef(CurrentStep) !== sharedHolder
      ? loop
      : Effect.zipRight(FiberRef.set(CurrentStep, { step: undefined, callSpan: undefined }), loop)
  })

  return {
    limit,
    nextOrder: () => order++,
    close: () => {
      closed = true
      if (parked.length === 0) return
      const waking = parked.splice(0)
      // Counted as starting, as `startWorkers` counts the workers it wakes: each takes one off as it wakes.
      starting += waking.length
      toEventLoop(() => {
        for (const wake of waking) wake(Effect.void)
      })
    },
    interruptAll: Effect.suspend(() => {
      interrupted = true
      return Fiber.interruptAll([...live])
    }),
    submit: (jobs) =>
      Effect.suspend(() => {
        // Every ready job goes through the queue, so that a free slot takes the highest priority among them.
        for (const job of jobs) ready.push(job)
        return startWorkers
      }),
    replaceWorker: (stopped) =>
      Effect.suspend(() => {
        live.delete(stopped)
        active--
        return startWorkers
      }),
    queue: (jobs) => {
      for (const job of jobs) ready.push(job)
    }
  }
}
