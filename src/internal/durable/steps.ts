import * as Effect from "effect/Effect"
import { runStep as runStepNow, type Step, type StepOutcome } from "../step.js"

/**
 * Runs a one-off step (decomposition, synthesis, merge, condition, judge); in a durable run, a step that
 * finished before is replayed from the journal instead, and one that finishes now is recorded.
 */
export const runStep = <A, E, R>(
  step: Step,
  timeoutSeconds: number,
  body: Effect.Effect<A, E, R>
): Effect.Effect<StepOutcome<A>, never, R> => {
  const journal = step.node.env.journal
  if (journal === undefined) return runStepNow(step, timeoutSeconds, body)
  return Effect.suspend(() => {
    const replayed = journal.replayStep<A>(step)
    if (replayed !== undefined) return Effect.succeed(replayed)
    return Effect.tap(runStepNow(step, timeoutSeconds, body), (outcome) => journal.stepFinished(step, outcome))
  })
}
