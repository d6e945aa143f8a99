/**
 * What every streamed call shares: a provider without a `stream` streamed from its `complete`, the time bound
 * of a whole stream, and the folding of a stream back into one completion. Depends on `effect` only.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Completion, CompletionChunk, CompletionRequest, Service } from "../../Provider.js"
import { MalformedResponse, type ProviderError, Timeout } from "../../ProviderError.js"
import { excerpt } from "./redact.js"
import type { Origin } from "./shared.js"

/** A call of `service`, streamed: its own `stream`, else its `complete` as one delta and a `Finish`. */
export const streamFrom = (service: Service, request: CompletionRequest): Stream.Stream<CompletionChunk, ProviderError> =>
  service.stream !== undefined
    ? service.stream(request)
    : Stream.fromIterableEffect(Effect.map(service.complete(request), (completion): Array<CompletionChunk> =>
      completion.content === ""
        ? [{ _tag: "Finish", completion }]
        : [{ _tag: "TextDelta", text: completion.content }, { _tag: "Finish", completion }]
    ))

/**
 * Bounds a whole stream, from the request to its last chunk, like the time bound of one `complete`: past
 * `timeout` the stream is interrupted (which closes its connection) and fails with `Timeout`.
 */
export const withStreamTimeout = <A>(
  self: Stream.Stream<A, ProviderError>,
  origin: Origin,
  timeout: Duration.Duration
): Stream.Stream<A, ProviderError> =>
  Stream.interruptWhen(
    self,
    Effect.zipRight(
      Effect.sleep(timeout),
      Effect.fail(new Timeout({ provider: origin.provider, model: origin.model, after: timeout }))
    )
  )

/** A stream that ended without its final event: the connection closed early. Transient. */
export const endedEarly = (origin: Origin): ProviderError =>
  new Timeout({
    provider: origin.provider,
    model: origin.model,
    detail: "the stream ended before the reply was complete"
  })

/**
 * The completion a stream ends with: its `Finish`, or, for a stream that ends without one, the failure
 * `missing` gives.
 */
export const collect = (
  stream: Stream.Stream<CompletionChunk, ProviderError>,
  missing: () => ProviderError
): Effect.Effect<Completion, ProviderError> =>
  Effect.flatMap(
    Stream.runFold(stream, undefined as Completion | undefined, (last, chunk) =>
      chunk._tag === "Finish" ? chunk.completion : last),
    (completion) => completion === undefined ? Effect.fail(missing()) : Effect.succeed(completion)
  )

/**
 * A chunk that cannot be read, mid-stream: worth retrying, since the next stream is a new one. `detail` is
 * provider text: it is scrubbed of `secrets` before it is cut.
 */
export const malformedChunk = (
  origin: Origin,
  status: number | undefined,
  detail: string,
  secrets: ReadonlyArray<string>
): ProviderError =>
  new MalformedResponse({
    provider: origin.provider,
    model: origin.model,
    ...(status === undefined ? {} : { status }),
    detail: excerpt(detail, secrets, 500),
    partial: true
  })
