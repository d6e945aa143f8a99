import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ApprovalRejected, ApprovalTimedOut, ApprovalUnavailable } from "../../OrchestratorError.js"
import type { Approval as StoredApproval } from "../../RunStore.js"
import type * as Workflow from "../../Workflow.js"
import { advance, emit, type Node } from "../env.js"
import { failedOutcome, type Input, type Outcome } from "../outcome.js"

/** How a wait for a person ended. */
export type Decision =
  | { readonly _tag: "Approved"; readonly note: string | undefined }
  | { readonly _tag: "Rejected"; readonly note: string | undefined }
  | { readonly _tag: "TimedOut"; readonly error: ApprovalTimedOut }
  | { readonly _tag: "Unavailable"; readonly error: ApprovalUnavailable }

/**
 * Waits for a decision on `step`: records the request in the store (keeping the first request's time, so that
 * a resumed run keeps its deadline), emits `approval_requested`, then reads the store until a decision comes,
 * the timeout passes, or (with `onApproval: "suspend"`) ends the run at once to be resumed later. Used by
 * approval steps and by tools that require approval.
 */
export const awaitDecision = (
  node: Node | undefined,
  step: string,
  prompt: string,
  timeout: Duration.Duration | undefined,
  agentId?: string
): Effect.Effect<Decision> =>
  Effect.gen(function*() {
    const journal = node?.env.journal
    if (node === undefined || journal === undefined) {
      return {
        _tag: "Unavailable",
        error: new ApprovalUnavailable({ step, reason: "an approval needs a durable run (the durable option and a RunStore)" })
      } as const
    }
    const { runId, store } = journal
    const unavailable = (error: { readonly message: string }): Decision => ({
      _tag: "Unavailable",
      error: new ApprovalUnavailable({ step, reason: error.message })
    })
    const requested = yield* Effect.either(store.requestApproval(runId, step, prompt))
    if (requested._tag === "Left") return unavailable(requested.left)
    const timeoutMillis = timeout === undefined ? undefined : Duration.toMillis(timeout)
    const expiresAt = timeoutMillis === undefined ? undefined : requested.right.requestedAt + timeoutMillis
    // Once decided, the request is not shown again when a resumed run passes this step.
    if (requested.right.decision === undefined) {
      emit(node, "approval_requested", {
        step,
        prompt: requested.right.prompt,
        requestedAt: requested.right.requestedAt,
        ...(expiresAt === undefined ? {} : { expiresAt })
      }, agentId)
    }
    const poll = Duration.seconds(journal.options.pollSeconds ?? 1)
    let current: StoredApproval = requested.right
    while (current.decision === undefined) {
      const now = yield* Clock.currentTimeMillis
      if (expiresAt !== undefined && now >= expiresAt) {
        return { _tag: "TimedOut", error: new ApprovalTimedOut({ step, seconds: timeoutMillis! / 1000 }) } as const
      }
      if (journal.options.onApproval === "suspend") {
        journal.suspend({ step, prompt: current.prompt })
        return yield* Effect.never
      }
      yield* Effect.sleep(expiresAt === undefined ? poll : Duration.min(poll, Duration.millis(expiresAt - now)))
      const read = yield* Effect.either(store.approval(runId, step))
      if (read._tag === "Left") return unavailable(read.left)
      if (Option.isSome(read.right)) current = read.right.value
    }
    return { _tag: current.decision === "approved" ? "Approved" : "Rejected", note: current.note } as const
  })

/** An approval step: waits for a decision (see `awaitDecision`); approved, its output is the note. */
export const runApproval = (
  node: Node,
  name: string,
  definition: Workflow.Approval,
  input: Input
): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const metadata = { workflow: name }
    const prompt = definition.prompt({ task: input.task, context: input.context, config: node.env.config, previous: input.previous })
    const decision = yield* awaitDecision(node, name, prompt, definition.timeout)
    if (decision._tag === "Unavailable" || decision._tag === "TimedOut") return failedOutcome(decision.error, [], metadata)
    const approval = {
      step: name,
      decision: decision._tag === "Approved" ? "approved" : "rejected",
      ...(decision.note === undefined ? {} : { note: decision.note })
    }
    if (decision._tag === "Rejected") {
      return failedOutcome(new ApprovalRejected({ step: name, ...(decision.note === undefined ? {} : { note: decision.note }) }), [], {
        ...metadata,
        approval
      })
    }
    advance(node, 1)
    return {
      status: "completed",
      agentResults: [],
      synthesisResults: [],
      finalSynthesis: decision.note ?? "approved",
      failure: undefined,
      metadata: { ...metadata, approval }
    } satisfies Outcome
  })
