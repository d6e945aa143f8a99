import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** A decision the store did not take (no such run or step, the store failing): `reason` is shown on the page. */
export class ApprovalFailed extends Data.TaggedError("ApprovalFailed")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/** Records a decision for the served run. */
export type Approve = (step: string, approved: boolean, note: string | undefined) => Effect.Effect<void, ApprovalFailed>

const Decision = Schema.Struct({
  step: Schema.String,
  approved: Schema.Boolean,
  note: Schema.optional(Schema.String)
})

/** `POST /approve` with `{ step, approved, note? }`: the live page's Approve and Reject buttons. */
export const approvalHandler = (approve: Approve) =>
  Effect.gen(function*() {
    const decision = yield* HttpServerRequest.schemaBodyJson(Decision)
    yield* approve(decision.step, decision.approved, decision.note)
    return yield* HttpServerResponse.json({ ok: true })
  }).pipe(
    Effect.catchTag("ApprovalFailed", (error) => HttpServerResponse.text(error.reason, { status: 400 })),
    Effect.catchAll(() => HttpServerResponse.text("the request must be JSON: { step, approved, note? }", { status: 400 }))
  )
