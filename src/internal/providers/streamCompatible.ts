/**
 * The streamed call of the OpenAI-compatible client: chat completions with `stream: true`, read as
 * Server-Sent Events. Each `data:` line is a `chat.completion.chunk` whose `choices[0].delta.content` is
 * the next text; the usage comes in the last chunk when the server honours `stream_options.include_usage`,
 * else it is estimated and marked so; `data: [DONE]` ends the stream. A server that ignores `stream` and
 * answers with one JSON completion is read as one delta.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Completion, CompletionChunk, CompletionRequest, Message } from "../../Provider.js"
import type { ProviderError } from "../../ProviderError.js"
import {
  describeParseError,
  fromErrorReply,
  fromStatus,
  fromTransport,
  type Origin,
  requestMessages,
  resolveModel,
  usageOf
} from "./shared.js"
import { makeSseParser } from "./sse.js"
import { endedEarly, malformedChunk, withStreamTimeout } from "./streamChunks.js"
import { reportedInEvent } from "./transforms.js"

const Count = Schema.NullishOr(Schema.NonNegativeInt)

/** The part of a chunk the client reads. Servers add more; it is ignored. */
const ChatCompletionChunk = Schema.Struct({
  model: Schema.optional(Schema.NullOr(Schema.String)),
  choices: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
    delta: Schema.optional(Schema.NullOr(Schema.Struct({ content: Schema.optional(Schema.NullOr(Schema.String)) }))),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String))
  })))),
  usage: Schema.optional(Schema.NullOr(Schema.Struct({
    prompt_tokens: Schema.optional(Count),
    completion_tokens: Schema.optional(Count),
    prompt_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({ cached_tokens: Schema.optional(Count) })))
  })))
})

const decodeChunk = Schema.decodeUnknownEither(Schema.parseJson(ChatCompletionChunk))
const decodeJson = Schema.decodeUnknownEither(Schema.parseJson())

/** What `compatible.ts` lends its stream: the client and how it reads replies and failures. */
export interface CompatibleClient {
  readonly name: string
  readonly defaultModel: string
  readonly url: string
  readonly client: HttpClient.HttpClient
  readonly secrets: ReadonlyArray<string>
  readonly timeout: Duration.Duration
  readonly maxTokens: number | undefined
  /** The request body of a non-streamed call. */
  readonly body: (
    model: string,
    request: CompletionRequest,
    messages: ReadonlyArray<Message>,
    maxTokens?: number
  ) => Record<string, unknown>
  /** Reads a whole (non-streamed) reply. */
  readonly read: (
    origin: Origin,
    request: CompletionRequest,
    messages: ReadonlyArray<Message>,
    response: HttpClientResponse.HttpClientResponse
  ) => Effect.Effect<Completion, ProviderError>
  readonly requestFailed: (origin: Origin, error: HttpClientError.HttpClientError) => ProviderError
}

type Usage = NonNullable<typeof ChatCompletionChunk.Type["usage"]>

export const makeCompatibleStream = (options: CompatibleClient) => {
  const { client, name, secrets } = options

  /** The chunks of an event stream, with what they accumulate; fails on the first chunk it cannot read. */
  const events = (
    origin: Origin,
    request: CompletionRequest,
    messages: ReadonlyArray<Message>,
    response: HttpClientResponse.HttpClientResponse
  ): Stream.Stream<CompletionChunk, ProviderError> =>
    Stream.suspend(() => {
      const parser = makeSseParser()
      let content = ""
      let model = origin.model
      let usage: Usage | undefined
      let finished = false
      let done = false
      const handle = (data: string): Either.Either<CompletionChunk | undefined, ProviderError> => {
        if (data === "[DONE]") {
          done = true
          return Either.right(undefined)
        }
        const json = decodeJson(data)
        if (Either.isLeft(json)) return Either.left(malformedChunk(origin, response.status, `not JSON: ${data}`, secrets))
        const reported = reportedInEvent(json.right)
        if (reported !== undefined) return Either.left(fromErrorReply(origin, response.status, reported, secrets))
        const chunk = decodeChunk(data)
        if (Either.isLeft(chunk)) {
          return Either.left(malformedChunk(
            origin,
            response.status,
            `not a chat completion chunk: ${describeParseError(chunk.left)}`,
            secrets
          ))
        }
        const { choices, usage: reportedUsage } = chunk.right
        if (typeof chunk.right.model === "string" && chunk.right.model !== "") model = chunk.right.model
        if (reportedUsage !== undefined && reportedUsage !== null) usage = reportedUsage
        const choice = choices?.[0]
        if (typeof choice?.finish_reason === "string") finished = true
        const text = choice?.delta?.content
        if (typeof text !== "string" || text === "") return Either.right(undefined)
        content += text
        return Either.right({ _tag: "TextDelta", text })
      }
      const decoder = new TextDecoder()
      const deltas = response.stream.pipe(
        Stream.mapError((error) => fromTransport(origin, error.cause, secrets)),
        Stream.takeWhile(() => !done),
        Stream.mapEffect((bytes): Effect.Effect<Array<CompletionChunk>, ProviderError> => {
          const out: Array<CompletionChunk> = []
          for (const event of parser.push(decoder.decode(bytes, { stream: true }))) {
            if (done) break
            const handled = handle(event.data)
            if (Either.isLeft(handled)) return Effect.fail(handled.left)
            if (handled.right !== undefined) out.push(handled.right)
          }
          return Effect.succeed(out)
        }),
        Stream.flattenIterables
      )
      const end = Stream.suspend((): Stream.Stream<CompletionChunk, ProviderError> => {
        if (!done && !finished) return Stream.fail(endedEarly(origin))
        const reported = usage === undefined ? undefined : {
          inputTokens: usage.prompt_tokens ?? undefined,
          outputTokens: usage.completion_tokens ?? undefined,
          cachedInputTokens: usage.prompt_tokens_details?.cached_tokens ?? undefined
        }
        return Stream.succeed({
          _tag: "Finish",
          completion: { content, model, usage: usageOf(reported, request, messages, content) }
        })
      })
      return Stream.concat(deltas, end)
    })

  return (request: CompletionRequest): Stream.Stream<CompletionChunk, ProviderError> => {
    const resolved = resolveModel(name, request.model, options.defaultModel)
    if (!resolved.ok) return Stream.fail(resolved.error)
    const model = resolved.value
    const messages = requestMessages(name, model, request)
    if (!messages.ok) return Stream.fail(messages.error)
    const origin = { provider: name, model }
    const http = HttpClientRequest.post(options.url).pipe(
      HttpClientRequest.bodyUnsafeJson({
        ...options.body(model, request, messages.value, request.maxTokens ?? options.maxTokens),
        stream: true,
        stream_options: { include_usage: true }
      }),
      HttpClientRequest.setHeader("accept", "text/event-stream")
    )
    const stream = Stream.unwrapScoped(Effect.gen(function*() {
      const response = yield* Effect.mapError(client.execute(http), (error) => options.requestFailed(origin, error))
      if (response.status < 200 || response.status >= 300) {
        const text = yield* Effect.mapError(response.text, (error) => fromTransport(origin, error.cause, secrets))
        const now = yield* Clock.currentTimeMillis
        return yield* Effect.fail(
          fromStatus(origin, response.status, (header) => response.headers[header], text, now, secrets)
        )
      }
      if (!/\btext\/event-stream\b/i.test(response.headers["content-type"] ?? "")) {
        const completion = yield* options.read(origin, request, messages.value, response)
        return Stream.fromIterable<CompletionChunk>(
          completion.content === ""
            ? [{ _tag: "Finish", completion }]
            : [{ _tag: "TextDelta", text: completion.content }, { _tag: "Finish", completion }]
        )
      }
      return events(origin, request, messages.value, response)
    }))
    return withStreamTimeout(stream, origin, options.timeout)
  }
}
