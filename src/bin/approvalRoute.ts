import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** Records a decision for the served run; fails with a message for the page. */
export type Approve = (step: string, approved: boolean, note: string | undefined) => Effect.Effect<void, string>

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
    Effect.catchAll((error) =>
      HttpServerResponse.text(typeof error === "string" ? error : "the request must be JSON: { step, approved, note? }", {
        status: 400
      })
    )
  )
