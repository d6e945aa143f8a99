/**
 * Tool calls and structured output in OpenAI's chat completions wire format, as Ollama, vLLM, llama.cpp and
 * LM Studio speak it: `tools` and `tool_choice`, `response_format` with a JSON Schema, assistant messages with
 * `tool_calls`, `tool` messages with the results, and the `tool_calls` of a reply.
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { CompletionRequest, Message, ToolCall } from "../../Provider.js"
import { scrubValue } from "./toolText.js"

type WireMessage =
  | { readonly role: "system" | "user"; readonly content: string }
  | {
    readonly role: "assistant"
    readonly content: string | null
    readonly tool_calls?: ReadonlyArray<{
      readonly id: string
      readonly type: "function"
      readonly function: { readonly name: string; readonly arguments: string }
    }>
  }
  | { readonly role: "tool"; readonly tool_call_id: string; readonly content: string }

/** The request's system prompt and messages as chat messages. */
export const wireMessages = (request: CompletionRequest, messages: ReadonlyArray<Message>): Array<WireMessage> => {
  const all: Array<WireMessage> = []
  if (request.system !== undefined && request.system !== "") all.push({ role: "system", content: request.system })
  for (const message of messages) {
    switch (message.role) {
      case "user":
        all.push({ role: "user", content: message.content })
        break
      case "assistant": {
        const calls = message.toolCalls ?? []
        if (calls.length === 0) {
          all.push({ role: "assistant", content: message.content })
          break
        }
        all.push({
          role: "assistant",
          content: message.content === "" ? null : message.content,
          tool_calls: calls.map((call) => ({
            id: call.id,
            type: "function",
            function: { name: call.name, arguments: JSON.stringify(call.params ?? {}) }
          }))
        })
        break
      }
      case "tool":
        all.push({ role: "tool", tool_call_id: message.toolCallId, content: message.content })
        break
    }
  }
  return all
}

/** `tools`, `tool_choice` and `response_format`, for the fields the request sets. */
export const wireOptions = (request: CompletionRequest): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  const tools = request.tools ?? []
  if (tools.length > 0) {
    out.tools = tools.map((tool) => ({
      type: "function",
      function: {
        name: tool.name,
        ...(tool.description === undefined ? {} : { description: tool.description }),
        parameters: tool.parameters
      }
    }))
    const choice = request.toolChoice
    if (choice !== undefined) {
      out.tool_choice = typeof choice === "string" ? choice : { type: "function", function: { name: choice.tool } }
    }
  }
  const format = request.responseFormat
  if (format !== undefined) {
    out.response_format = {
      type: "json_schema",
      json_schema: {
        name: format.name,
        ...(format.description === undefined ? {} : { description: format.description }),
        schema: format.jsonSchema,
        strict: format.strict === true
      }
    }
  }
  return out
}

/** The `tool_calls` of a reply's message. Servers send `arguments` as JSON text (OpenAI) or as an object. */
export const WireToolCalls = Schema.NullishOr(Schema.Array(Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.optional(Schema.Unknown) })
})))

const parseArguments = (value: unknown): unknown => {
  if (typeof value !== "string") return value ?? {}
  if (value.trim() === "") return {}
  try {
    return JSON.parse(value)
  } catch {
    // Sent on as text: the tool loop reports to the model that its arguments do not decode.
    return value
  }
}

/**
 * The calls of a reply, parameters parsed and scrubbed of `secrets` (a call must not carry a key to a tool);
 * a call without an id gets one from its position.
 */
export const toolCallsOf = (
  calls: typeof WireToolCalls.Type,
  secrets: ReadonlyArray<string>
): ReadonlyArray<ToolCall> | undefined => {
  if (calls === null || calls === undefined || calls.length === 0) return undefined
  return calls.map((call, i) => ({
    id: Predicate.isString(call.id) && call.id !== "" ? call.id : `call_${i + 1}`,
    name: call.function.name,
    params: scrubValue(parseArguments(call.function.arguments), secrets)
  }))
}
