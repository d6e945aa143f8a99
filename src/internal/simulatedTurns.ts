/**
 * The simulated provider's typed replies and tool calls, deterministic for a given request:
 *
 * - a request with a `responseFormat` gets a JSON value of its shape: readable text built from the prompt
 *   where the JSON Schema allows it (a plan's list of subtasks is the same list the text reply would number),
 *   checked with the Schema, else a value drawn from the Schema's `Arbitrary`, seeded by the prompt; or, when
 *   the call is chosen to be invalid, a value the Schema rejects;
 * - a request offering tools gets, in its first round, one call of each tool offered (at most four) with
 *   parameters built from their JSON Schemas (a query-like string gets the search), then an answer that cites
 *   the sources the tools returned.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { CompletionRequest, ResponseFormat, ToolCall } from "../Provider.js"
import { cachedJsonSchemaOf } from "./structured.js"
import { brief, fill, findings, hash, keywordsOf, numberedList, pick, topicOf } from "./simulated.js"

type Json = Record<string, unknown>

interface Context {
  readonly root: Json
  readonly topic: string
  readonly search: string
  readonly seed: number
  /** The count the prompt asks for ("exactly 5 subtasks", "4 search queries"), if any. */
  readonly count: number | undefined
  readonly mode: "params" | "output"
  strings: number
}

const resolve = (schema: Json, root: Json): Json => {
  const ref = schema.$ref
  if (typeof ref !== "string" || !ref.startsWith("#/$defs/")) return schema
  const defs = root.$defs
  const target = Predicate.isRecord(defs) ? defs[decodeURIComponent(ref.slice(8))] : undefined
  return Predicate.isRecord(target) ? resolve(target, root) : {}
}

const isObject = (schema: unknown): boolean => Predicate.hasProperty(schema, "type") && schema.type === "object"

const queryLike = /^(?:q|query|search|terms?|keywords?|topic|question)$/i

const stringFor = (schema: Json, key: string, ctx: Context): string => {
  if (schema.format === "uri" || schema.format === "url" || /url$/i.test(key)) {
    return `https://simulated.invalid/${ctx.topic.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 40)}`
  }
  if (queryLike.test(key)) return ctx.search
  const n = ctx.strings++
  const keywords = keywordsOf(ctx.topic)
  const text = ctx.mode === "params"
    ? ctx.topic
    : fill(pick(findings, ctx.seed, n), ctx.topic, keywords[n % keywords.length]!)
  const max = typeof schema.maxLength === "number" ? schema.maxLength : Infinity
  return text.length > max ? text.slice(0, max) : text
}

const numberFor = (schema: Json, ctx: Context, integer: boolean): number => {
  const min = typeof schema.minimum === "number" ? schema.minimum : undefined
  const max = typeof schema.maximum === "number" ? schema.maximum : undefined
  const share = 0.55 + ((ctx.seed >>> 4) % 40) / 100
  let value = min !== undefined && max !== undefined ? min + (max - min) * share : min ?? (max === undefined ? 3 : max)
  if (integer) value = Math.round(value)
  return value
}

/** A value for a JSON Schema, or undefined when it has a shape this walk does not know. */
const valueFor = (raw: unknown, key: string, ctx: Context, depth: number): unknown => {
  if (!Predicate.isRecord(raw) || depth > 12) return undefined
  const schema = resolve(raw, ctx.root)
  if ("const" in schema) return schema.const
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0]
  const branches = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : undefined
  if (branches !== undefined) {
    const isNull = (branch: unknown) => Predicate.isRecord(branch) && branch.type === "null"
    // Parameters take the default (`null`) where they may; outputs fill in a value.
    const ordered = ctx.mode === "params"
      ? [...branches.filter(isNull), ...branches]
      : [...branches.filter((b) => !isNull(b)), ...branches]
    for (const branch of ordered) {
      const value = valueFor(branch, key, ctx, depth + 1)
      if (value !== undefined) return value
    }
    return undefined
  }
  switch (schema.type) {
    case "null":
      return null
    case "boolean":
      return ctx.mode === "output"
    case "string":
      return stringFor(schema, key, ctx)
    case "number":
      return numberFor(schema, ctx, false)
    case "integer":
      return numberFor(schema, ctx, true)
    case "array": {
      const min = typeof schema.minItems === "number" ? schema.minItems : 0
      const max = typeof schema.maxItems === "number" ? schema.maxItems : Infinity
      const wanted = ctx.mode === "params" ? min : ctx.count ?? Math.max(min, 3)
      const length = Math.min(max, Math.max(min, wanted))
      const items = schema.items
      const plan = ctx.mode === "output" && ctx.count !== undefined
      if (plan && Predicate.isRecord(items) && resolve(items, ctx.root).type === "string") {
        // A list of strings of the size the prompt asks for reads like the numbered list of the text reply.
        const lines = numberedList(ctx.topic, length, ctx.seed).split("\n")
        return lines.map((line) => line.replace(/^\d+\.\s+/, ""))
      }
      const out: Array<unknown> = []
      for (let i = 0; i < length; i++) {
        const value = valueFor(items, key, ctx, depth + 1)
        if (value === undefined) return undefined
        out.push(value)
      }
      return out
    }
    case "object": {
      const properties = Predicate.isRecord(schema.properties) ? schema.properties : {}
      const required = Array.isArray(schema.required) ? schema.required : Object.keys(properties)
      const out: Json = {}
      for (const [name, property] of Object.entries(properties)) {
        if (ctx.mode === "params" && !required.includes(name)) continue
        const value = valueFor(property, name, ctx, depth + 1)
        if (value === undefined) return undefined
        out[name] = value
      }
      return out
    }
    default:
      return undefined
  }
}

const countIn = (text: string): number | undefined => {
  const match = /(?:exactly\s+)?\b(\d{1,3})\s+(?:[\w-]+\s+)?(?:sub-?tasks|items|questions|steps|angles|topics|queries|findings|claims)\b/i
    .exec(text)
  return match === null ? undefined : Math.min(100, Math.max(1, Number(match[1])))
}

const firstUserText = (request: CompletionRequest): string =>
  request.prompt ?? request.messages?.find((message) => message.role === "user")?.content ?? ""

const contextOf = (request: CompletionRequest, root: Json, mode: Context["mode"], seed: number): Context => {
  const prompt = firstUserText(request)
  const topic = topicOf(prompt)
  const search = /^(?:search|query)\s*:\s*(.+)$/im.exec(prompt)?.[1]?.trim() ?? topic
  return { root, topic, search, seed: (hash(prompt) ^ seed) >>> 0, count: countIn(prompt), mode, strings: 0 }
}

/** Values a Schema rejects, tried in turn: the first the output's Schema does not accept is the invalid reply. */
const rejects: ReadonlyArray<unknown> = [{}, [], "", 0, null, { value: {} }]

/**
 * The JSON text of a simulated typed reply: valid for the format's Schema, or (`invalid`) one it rejects.
 * `Arbitrary` (and fast-check with it) is loaded only when the readable value does not fit.
 */
export const simulatedObject = (
  request: CompletionRequest,
  format: ResponseFormat,
  seed: number,
  invalid: boolean
): Effect.Effect<string> => {
  const root = format.jsonSchema as unknown as Json
  const schema = format.schema
  // A Schema that is not of an object is asked for as `{ "value": ... }` (see `outputSpec`).
  const wrapped = schema !== undefined && !isObject(cachedJsonSchemaOf(schema.ast))
  const decode = schema === undefined ? undefined : Schema.decodeUnknownEither(schema)
  const accepts = (json: unknown): boolean => {
    if (decode === undefined) return true
    if (!wrapped) return Either.isRight(decode(json))
    return Predicate.hasProperty(json, "value") && Either.isRight(decode(json.value))
  }
  if (invalid) {
    const bad = rejects.find((candidate) => !accepts(candidate))
    return Effect.succeed(bad === undefined ? "Sorry, I cannot produce that object." : JSON.stringify(bad))
  }
  const ctx = contextOf(request, root, "output", seed)
  const readable = valueFor(root, "", ctx, 0)
  if (readable !== undefined && accepts(readable)) return Effect.succeed(JSON.stringify(readable))
  if (schema === undefined) return Effect.succeed(JSON.stringify(readable ?? {}))
  return Effect.map(
    Effect.promise(() => Promise.all([import("effect/Arbitrary"), import("effect/FastCheck")])),
    ([Arbitrary, FastCheck]) => {
      const [drawn] = FastCheck.sample(Arbitrary.make(schema), { seed: ctx.seed | 0, numRuns: 1 })
      const value = Schema.encodeSync(schema)(drawn)
      return JSON.stringify(wrapped ? { value } : value)
    }
  )
}

const toolRounds = (request: CompletionRequest): number =>
  (request.messages ?? []).filter((message) => message.role === "assistant" && (message.toolCalls?.length ?? 0) > 0)
    .length

/** The calls of a first tool round: each tool offered (or the one chosen) once, at most four. */
export const simulatedToolCalls = (request: CompletionRequest, call: number): ReadonlyArray<ToolCall> | undefined => {
  const tools = request.tools ?? []
  const choice = request.toolChoice
  if (tools.length === 0 || choice === "none" || toolRounds(request) > 0) return undefined
  const chosen = typeof choice === "object" ? tools.filter((tool) => tool.name === choice.tool) : tools.slice(0, 4)
  return chosen.map((tool, i) => {
    const ctx = contextOf(request, tool.parameters as unknown as Json, "params", 0)
    return { id: `call_${call}_${i + 1}`, name: tool.name, params: valueFor(tool.parameters, "", ctx, 0) ?? {} }
  })
}

interface Cited {
  readonly title: string
  readonly url: string
}

const sourcesIn = (value: unknown, found: Array<Cited>, depth = 0): void => {
  if (depth > 6 || found.length >= 8) return
  if (Array.isArray(value)) {
    for (const item of value) sourcesIn(item, found, depth + 1)
  } else if (Predicate.isRecord(value)) {
    if (typeof value.url === "string" && typeof value.title === "string") {
      if (!found.some((source) => source.url === value.url)) found.push({ title: value.title, url: value.url })
      return
    }
    for (const item of Object.values(value)) sourcesIn(item, found, depth + 1)
  }
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The text answer after tool rounds: a brief on the prompt that cites what the tools found, as links. */
export const answerWithSources = (request: CompletionRequest): string => {
  const prompt = firstUserText(request)
  const found: Array<Cited> = []
  for (const message of request.messages ?? []) {
    if (message.role === "tool" && message.isError !== true) sourcesIn(parse(message.content), found)
  }
  const text = brief(topicOf(prompt), prompt, request.system ?? "", hash(prompt), Infinity)
  if (found.length === 0) return text
  const cited = found.slice(0, 5).map((source) => `- [${source.title.replace(/[[\]]/g, "")}](${source.url})`)
  return `${text}\n### Sources\n\n${cited.join("\n")}\n`
}
