import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ApprovalRejected, ApprovalTimedOut, ApprovalUnavailable } from "../../OrchestratorError.js"
import type { Approval as StoredApproval } from "../../RunStore.js"
import type * as Workflow from "../../Workflow.js"
import { advance, emit, type Node } from "../env.js"
import { failedOutcome, type Input, type Outcome } from "../outcome.js"

/**
 * An approval step: records the request in the store (keeping the first request's time, so that a resumed
 * run keeps its deadline), emits `approval_requested`, then reads the store until a decision comes, the
 * timeout passes, or (with `onApproval: "suspend"`) ends the run at once to be resumed later.
 */
export const runApproval = (
  node: Node,
  name: string,
  definition: Workflow.Approval,
  input: Input
): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const env = node.env
    const journal = env.journal
    const metadata = { workflow: name }
    if (journal === undefined) {
      return failedOutcome(
        new ApprovalUnavailable({ step: name, reason: "an approval step needs a durable run (the durable option and a RunStore)" }),
        [],
        metadata
      )
    }
    const { runId, store } = journal
    const unavailable = (error: { readonly message: string }) =>
      failedOutcome(new ApprovalUnavailable({ step: name, reason: error.message }), [], metadata)
    const prompt = definition.prompt({ task: input.task, context: input.context, config: env.config, previous: input.previous })
    const requested = yield* Effect.either(store.requestApproval(runId, name, prompt))
    if (requested._tag === "Left") return unavailable(requested.left)
    const timeoutMillis = definition.timeout === undefined ? undefined : Duration.toMillis(definition.timeout)
    const expiresAt = timeoutMillis === undefined ? undefined : requested.right.requestedAt + timeoutMillis
    // Once decided, the request is not shown again when a resumed run passes this step.
    if (requested.right.decision === undefined) {
      emit(node, "approval_requested", {
        step: name,
        prompt: requested.right.prompt,
        requestedAt: requested.right.requestedAt,
        ...(expiresAt === undefined ? {} : { expiresAt })
      })
    }
    const poll = Duration.seconds(journal.options.pollSeconds ?? 1)
    let current: StoredApproval = requested.right
    while (current.decision === undefined) {
      const now = yield* Clock.currentTimeMillis
      if (expiresAt !== undefined && now >= expiresAt) {
        return failedOutcome(new ApprovalTimedOut({ step: name, seconds: timeoutMillis! / 1000 }), [], metadata)
      }
      if (journal.options.onApproval === "suspend") {
        journal.suspend({ step: name, prompt: current.prompt })
        return yield* Effect.never
      }
      yield* Effect.sleep(expiresAt === undefined ? poll : Duration.min(poll, Duration.millis(expiresAt - now)))
      const read = yield* Effect.either(store.approval(runId, name))
      if (read._tag === "Left") return unavailable(read.left)
      if (Option.isSome(read.right)) current = read.right.value
    }
    const approval = { step: name, decision: current.decision, ...(current.note === undefined ? {} : { note: current.note }) }
    if (current.decision === "rejected") {
      return failedOutcome(new ApprovalRejected({ step: name, ...(current.note === undefined ? {} : { note: current.note }) }), [], {
        ...metadata,
        approval
      })
    }
    advance(node, 1)
    return {
      status: "completed",
      agentResults: [],
      synthesisResults: [],
      finalSynthesis: current.note ?? "approved",
      failure: undefined,
      metadata: { ...metadata, approval }
    } satisfies Outcome
  })
