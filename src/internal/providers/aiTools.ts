/**
 * Tool calls and structured output through an `@effect/ai` `LanguageModel` (OpenAI's Responses API, Anthropic's
 * Messages API): the request's tool definitions become `Tool`s whose parameters are the definitions' JSON
 * Schemas, in a toolkit whose calls the language model returns unresolved (the orchestrator's tool loop runs
 * them); a response format goes through `generateObject`, which sends it the way the API takes it (OpenAI's
 * `text.format` json_schema, a tool Anthropic is made to call).
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Telemetry from "@effect/ai/Telemetry"
import * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { CompletionRequest, Message, ResponseFormat, ToolCall, ToolDefinition } from "../../Provider.js"
import { scrubValue } from "./toolText.js"

/** Any object: the tool loop checks the parameters against the tool's own Schema, and tells the model. */
const AnyObject = Schema.Struct({}, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

const toolOf = (definition: ToolDefinition) =>
  Tool.make(definition.name, definition.description === undefined ? {} : { description: definition.description })
    .setParameters(AnyObject.annotations({ jsonSchema: definition.parameters as object }))

type Tools = Record<string, Tool.Any>

const unresolved = (): Effect.Effect<never> => Effect.dieMessage("tool calls are run by the orchestrator's tool loop")

/** A toolkit of the request's tools whose calls are never resolved here. */
export const toolkitOf = (definitions: ReadonlyArray<ToolDefinition>): Toolkit.WithHandler<Tools> => {
  const tools: Record<string, Tool.Any> = {}
  for (const definition of definitions) tools[definition.name] = toolOf(definition)
  return { tools, handle: unresolved } as unknown as Toolkit.WithHandler<Tools>
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** The request's messages as a `Prompt`, tool calls and tool results included. */
export const toPrompt = (system: string | undefined, messages: ReadonlyArray<Message>): Prompt.Prompt => {
  const out: Array<Prompt.Message> = []
  if (system !== undefined && system !== "") out.push(Prompt.makeMessage("system", { content: system }))
  for (const message of messages) {
    switch (message.role) {
      case "user":
        out.push(Prompt.makeMessage("user", { content: [Prompt.makePart("text", { text: message.content })] }))
        break
      case "assistant": {
        const content: Array<Prompt.AssistantMessagePart> = []
        if (message.content !== "") content.push(Prompt.makePart("text", { text: message.content }))
        for (const call of message.toolCalls ?? []) {
          content.push(
            Prompt.makePart("tool-call", { id: call.id, name: call.name, params: call.params, providerExecuted: false })
          )
        }
        out.push(Prompt.makeMessage("assistant", { content }))
        break
      }
      case "tool":
        out.push(Prompt.makeMessage("tool", {
          content: [Prompt.makePart("tool-result", {
            id: message.toolCallId,
            name: message.name,
            result: parse(message.content),
            isFailure: message.isError === true,
            providerExecuted: false
          })]
        }))
        break
    }
  }
  return Prompt.fromMessages(out)
}

/** The calls of a response, parameters scrubbed of `secrets`. */
export const toolCallsOf = (
  calls: ReadonlyArray<Response.ToolCallPart<string, unknown>>,
  secrets: ReadonlyArray<string>
): ReadonlyArray<ToolCall> | undefined => {
  if (calls.length === 0) return undefined
  return calls.map((call) => ({ id: call.id, name: call.name, params: scrubValue(call.params, secrets) }))
}

/** Any JSON, sent to the API as the format's JSON Schema: the reply is decoded by the caller, not here. */
const formatSchema = (format: ResponseFormat) =>
  Schema.Unknown.annotations({
    jsonSchema: format.jsonSchema as object,
    ...(format.description === undefined ? {} : { description: format.description })
  }) as unknown as Schema.Schema<unknown, Record<string, unknown>>

/** The format as a tool of its own, which the model is made to call; its parameters are the answer. */
const formatTool = (format: ResponseFormat): ToolDefinition => ({
  name: format.name,
  description: format.description ?? "Give the answer as this tool's parameters",
  parameters: format.jsonSchema
})

/** An instruction that asks for the format in words, for an API that cannot take it with tools. */
export const formatInstruction = (format: ResponseFormat): string =>
  `When you give your final answer, reply with only a JSON object (no prose, no code fence) that matches this JSON Schema:\n${
    JSON.stringify(format.jsonSchema)
  }`

/** Whether `generateObject` failed on the reply itself (not JSON, or no text at all), after the call. */
const isReplyFailure = (error: unknown): boolean =>
  AiError.isAiError(error) && error._tag === "MalformedOutput" && error.module === "LanguageModel" &&
  error.method === "generateObject"

/** How an API takes a response format. */
export type FormatMode =
  /** As the API's own format (OpenAI's `text.format`), together with tools. */
  | "native"
  /** As a tool of its own that the model must call; beside other tools, as an instruction (Anthropic). */
  | "tool"

export interface Call {
  readonly prompt: Prompt.Prompt
  readonly toolkit: Toolkit.WithHandler<Tools> | undefined
  readonly toolChoice: LanguageModel.GenerateTextOptions<Tools>["toolChoice"]
  /** Set when the format goes out as the API's own. */
  readonly format: ResponseFormat | undefined
  /** Set when the format goes out as a forced tool: the name of that tool. */
  readonly formatTool: string | undefined
}

/** What to ask the language model for a request with tools or a response format. */
export const callOf = (
  request: CompletionRequest,
  messages: ReadonlyArray<Message>,
  options: { readonly formatMode: FormatMode; readonly toolsWithNone: boolean }
): Call => {
  let definitions = request.tools ?? []
  let format = request.responseFormat
  let system = request.system
  let choice = request.toolChoice
  let forced: string | undefined
  if (format !== undefined && options.formatMode === "tool") {
    if (definitions.length > 0) {
      // The format's own tool would shut out the others: the format is asked for in words instead.
      system = [system, formatInstruction(format)].filter(Predicate.isNotUndefined).join("\n\n")
    } else {
      definitions = [formatTool(format)]
      choice = { tool: format.name }
      forced = format.name
    }
    format = undefined
  }
  const history = messages.some((message) => message.role === "tool")
  if (choice === "none" && history && options.toolsWithNone) {
    // The API drops the tools for "none", and a conversation with tool calls needs them: keep them, and say it.
    system = [system, "Answer now, without calling any more tools."].filter(Predicate.isNotUndefined).join("\n\n")
    choice = "auto"
  }
  const toolChoice = choice === undefined
    ? undefined
    : typeof choice === "string"
    ? choice
    : { tool: choice.tool }
  return {
    prompt: toPrompt(system, messages),
    toolkit: definitions.length === 0 ? undefined : toolkitOf(definitions),
    toolChoice,
    format,
    formatTool: forced
  }
}

export interface Generated {
  readonly response: LanguageModel.GenerateTextResponse<Tools>
  readonly text: string
  readonly toolCalls: ReadonlyArray<Response.ToolCallPart<string, unknown>>
}

/**
 * Runs the call: `generateObject` with a native format, else `generateText`; tool calls are left unresolved.
 * A reply that `generateObject` refuses (not JSON, or no text) is returned as it is, with its usage, read
 * through the span transformer that sees every response: the caller repairs it, and the call is paid for.
 * A forced format tool's call is the reply's text.
 */
export const generate = (languageModel: LanguageModel.Service, call: Call): Effect.Effect<Generated, AiError.AiError> => {
  const common = {
    prompt: call.prompt,
    ...(call.toolkit === undefined ? {} : { toolkit: call.toolkit, disableToolCallResolution: true as const }),
    ...(call.toolChoice === undefined || call.toolkit === undefined ? {} : { toolChoice: call.toolChoice })
  }
  const read = (response: LanguageModel.GenerateTextResponse<Tools>): Generated => {
    const calls = response.toolCalls as ReadonlyArray<Response.ToolCallPart<string, unknown>>
    const answer = call.formatTool === undefined ? undefined : calls.find((part) => part.name === call.formatTool)
    return answer === undefined
      ? { response, text: response.text, toolCalls: calls }
      : { response, text: JSON.stringify(answer.params), toolCalls: [] }
  }
  if (call.format === undefined) {
    return Effect.map(
      languageModel.generateText(common as LanguageModel.GenerateTextOptions<Tools>) as Effect.Effect<
        LanguageModel.GenerateTextResponse<Tools>,
        AiError.AiError
      >,
      read
    )
  }
  const format = call.format
  return Effect.gen(function*() {
    let seen: ReadonlyArray<Response.AllParts<Tools>> | undefined
    const outer = yield* Effect.serviceOption(Telemetry.CurrentSpanTransformer)
    const capture: Telemetry.SpanTransformer = (options) => {
      seen = options.response as ReadonlyArray<Response.AllParts<Tools>>
      if (outer._tag === "Some") outer.value(options)
    }
    const generated = languageModel.generateObject({
      ...common,
      objectName: format.name,
      schema: formatSchema(format)
    } as LanguageModel.GenerateObjectOptions<Tools, unknown, Record<string, unknown>, never>) as Effect.Effect<
      LanguageModel.GenerateTextResponse<Tools>,
      AiError.AiError
    >
    return yield* generated.pipe(
      Effect.map(read),
      Effect.catchIf(
        (error) => isReplyFailure(error) && seen !== undefined,
        () => Effect.succeed(read(new LanguageModel.GenerateTextResponse(seen as unknown as Array<Response.Part<Tools>>)))
      ),
      Effect.provideService(Telemetry.CurrentSpanTransformer, capture)
    )
  })
}
