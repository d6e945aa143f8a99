/**
 * Progress as a percentage: a pure function and a small tracker of completed tasks.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

/**
 * `completed / total` as a percentage, clamped to 0–100. No tasks at all counts as done (100).
 *
 * @since 0.1.0
 * @category Functions
 */
export const calculateProgress = (completed: number, total: number): number => {
  if (total <= 0) return 100
  return Math.min(100, Math.max(0, (completed / total) * 100))
}

/**
 * How long the rest will take at the pace so far, in the unit of `elapsed`; `undefined` before anything
 * finished.
 *
 * @since 0.1.0
 * @category Functions
 */
export const estimateRemaining = (elapsed: number, completed: number, total: number): number | undefined =>
  completed <= 0 || total <= 0 ? undefined : Math.max(0, (elapsed / completed) * (total - completed))

/**
 * A snapshot of a tracker.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Snapshot {
  readonly totalTasks: number
  readonly completed: number
  readonly percentage: number
}

/**
 * Counts completed tasks out of a known total.
 *
 * @since 0.1.0
 * @category Models
 */
export interface ProgressTracker {
  readonly totalTasks: number
  /** Sets the number of completed tasks (clamped to 0..totalTasks). */
  readonly update: (completed: number) => Effect.Effect<Snapshot>
  /** Adds one completed task. */
  readonly increment: Effect.Effect<Snapshot>
  readonly percentage: Effect.Effect<number>
  readonly snapshot: Effect.Effect<Snapshot>
}

/**
 * @since 0.1.0
 * @category Constructors
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Progress } from "multi-agent-orchestration"
 *
 * const program = Effect.gen(function* () {
 *   const tracker = yield* Progress.makeTracker({ totalTasks: 10 })
 *   yield* tracker.update(3)
 *   return yield* tracker.percentage // 30
 * })
 * ```
 */
export const makeTracker = (options: { readonly totalTasks: number }): Effect.Effect<ProgressTracker> =>
  Effect.map(Ref.make(0), (ref) => {
    const totalTasks = Math.max(0, Math.trunc(options.totalTasks))
    const snapshotOf = (completed: number): Snapshot => ({
      totalTasks,
      completed,
      percentage: calculateProgress(completed, totalTasks)
    })
    const clamp = (n: number) => Math.min(totalTasks, Math.max(0, Math.trunc(n)))
    return {
      totalTasks,
      update: (completed) => Ref.updateAndGet(ref, () => clamp(completed)).pipe(Effect.map(snapshotOf)),
      increment: Ref.updateAndGet(ref, (n) => clamp(n + 1)).pipe(Effect.map(snapshotOf)),
      percentage: Effect.map(Ref.get(ref), (n) => calculateProgress(n, totalTasks)),
      snapshot: Effect.map(Ref.get(ref), snapshotOf)
    }
  })
