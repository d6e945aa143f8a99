import type { RunEnv } from "../env.js"
import type { Journal } from "./journal.js"

/** The `durable` option of `Orchestrator.run`. */
export interface DurableOptions {
  /** The run's id in the store. A run with this id that exists is continued (as `Orchestrator.resume` does). */
  readonly runId: string
  /**
   * How long the run's lease lasts without renewal, in seconds; the run renews it every third of that. A
   * process that dies stops renewing, and another may take the run over once the lease has expired (at once
   * when the dead holder was a process of this machine). Default: 30.
   */
  readonly leaseSeconds?: number | undefined
  /**
   * What a run does at an approval step with no decision yet: `"wait"` keeps the process waiting (polling the
   * store) until a decision or the step's timeout; `"suspend"` ends the run at once with status `pending`,
   * to be resumed after `Orchestrator.approve`. Default: `"wait"`.
   */
  readonly onApproval?: "wait" | "suspend" | undefined
  /** How often a waiting approval step reads the store, in seconds. Default: 1. */
  readonly pollSeconds?: number | undefined
  /** How the run was started, kept with it (the CLI keeps its command line, for `orchestrate resume`). */
  readonly launch?: string | undefined
}

const journalKey = Symbol.for("multi-agent-orchestration/Journal")

/** Run options that carry a journal to the engine. */
export const withJournal = <O extends object>(options: O, journal: Journal): O => ({ ...options, [journalKey]: journal })

export const journalOf = (options: object): Journal | undefined =>
  (options as { readonly [journalKey]?: Journal })[journalKey]

/** What a durable run's result says about the restart: what was paid before it and after it. */
export const durableMetadata = (env: RunEnv, totalCost: number): Record<string, unknown> => {
  const journal = env.journal
  if (journal === undefined) return {}
  return {
    durable: {
      runId: journal.runId,
      resumed: journal.replay.size > 0,
      replayedSteps: journal.replayedSteps,
      previousCost: journal.previousCost,
      resumedCost: Math.max(0, totalCost - journal.previousCost),
      totalCost
    }
  }
}
