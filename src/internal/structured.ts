/**
 * Typed output: the JSON Schema a Schema is sent as, the decoding of a reply, and the words of the one repair
 * request. Depends on `effect` only.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { InvalidOutput, type OutputIssue } from "../AgentError.js"
import type { JsonSchema, ResponseFormat } from "../Provider.js"
import { excerpt } from "./providers/redact.js"

/** The JSON Schema of a Schema's encoded side, its definitions inlined under `$defs` (as the APIs take it). */
export const jsonSchemaOf = (ast: SchemaAST.AST): JsonSchema => {
  const definitions: Record<string, JsonSchema> = {}
  const schema = JSONSchema.fromAST(ast, { definitions, topLevelReferenceStrategy: "skip" })
  return Object.keys(definitions).length === 0 ? schema : ({ ...schema, $defs: definitions } as unknown as JsonSchema)
}

const cache = new WeakMap<SchemaAST.AST, JsonSchema>()

/** `jsonSchemaOf`, computed once per schema. */
export const cachedJsonSchemaOf = (ast: SchemaAST.AST): JsonSchema => {
  let schema = cache.get(ast)
  if (schema === undefined) {
    schema = jsonSchemaOf(ast)
    cache.set(ast, schema)
  }
  return schema
}

const isObjectSchema = (schema: JsonSchema): boolean =>
  Predicate.hasProperty(schema, "type") && schema.type === "object"

/**
 * Whether a JSON Schema meets OpenAI's strict mode: every object lists all its properties as required and
 * allows no others. Other schemas are sent without `strict`.
 */
export const isStrict = (schema: unknown): boolean => {
  if (Array.isArray(schema)) return schema.every(isStrict)
  if (!Predicate.isRecord(schema)) return true
  if (schema.type === "object") {
    const properties = Predicate.isRecord(schema.properties) ? Object.keys(schema.properties) : []
    const required = Array.isArray(schema.required) ? schema.required : []
    if (schema.additionalProperties !== false) return false
    if (!properties.every((key) => required.includes(key))) return false
    if (Predicate.hasProperty(schema, "patternProperties")) return false
  }
  return Object.entries(schema).every(([key, value]) => key === "required" || key === "enum" || isStrict(value))
}

const nameOf = (ast: SchemaAST.AST, given: string | undefined): string => {
  const annotated = given ?? Option.getOrUndefined(SchemaAST.getIdentifierAnnotation(ast)) ??
    Option.getOrUndefined(SchemaAST.getTitleAnnotation(ast))
  const clean = (annotated ?? "output").replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 64)
  return clean === "" ? "output" : clean
}

/** How a typed output is asked for and read back. */
export interface OutputSpec<A, I, R> {
  readonly schema: Schema.Schema<A, I, R>
  readonly format: ResponseFormat
  /** The APIs take objects only: any other shape is asked for as `{ "value": ... }` and unwrapped. */
  readonly wrapped: boolean
}

export const outputSpec = <A, I, R>(
  schema: Schema.Schema<A, I, R>,
  options: { readonly name?: string | undefined; readonly description?: string | undefined } = {}
): OutputSpec<A, I, R> => {
  const inner = cachedJsonSchemaOf(schema.ast)
  const wrapped = !isObjectSchema(inner)
  let jsonSchema = inner
  if (wrapped) {
    const { $defs, ...rest } = inner as JsonSchema & { readonly $defs?: Record<string, JsonSchema> }
    jsonSchema = {
      type: "object",
      properties: { value: rest },
      required: ["value"],
      additionalProperties: false,
      ...($defs === undefined ? {} : { $defs })
    } as JsonSchema
  }
  const description = options.description ?? Option.getOrUndefined(SchemaAST.getDescriptionAnnotation(schema.ast))
  return {
    schema,
    wrapped,
    format: {
      name: nameOf(schema.ast, options.name),
      ...(description === undefined ? {} : { description }),
      jsonSchema,
      strict: isStrict(jsonSchema),
      schema: schema as Schema.Schema<A, I, never>
    }
  }
}

const parseJson = (text: string): Either.Either<unknown, string> =>
  Either.try({ try: () => JSON.parse(text) as unknown, catch: () => "the reply is not JSON" })

/**
 * The JSON a reply holds: the whole text, or the text inside a code fence, or from its first `{` (or `[`) to
 * its last `}` (or `]`), since models like to wrap JSON in prose. The other candidates are cut out only when
 * the whole text is not JSON (a plan's reply is read on the way to its first agents).
 */
export const jsonIn = (text: string): Either.Either<unknown, string> => {
  const trimmed = text.trim()
  const whole = parseJson(trimmed)
  if (Either.isRight(whole)) return whole
  const candidates: Array<string> = []
  const fenced = /```(?:json)?\s*\n([\s\S]*?)\n?```/i.exec(trimmed)
  if (fenced !== null) candidates.push(fenced[1]!.trim())
  for (const [open, close] of [["{", "}"], ["[", "]"]] as const) {
    const start = trimmed.indexOf(open)
    const end = trimmed.lastIndexOf(close)
    if (start >= 0 && end > start) candidates.push(trimmed.slice(start, end + 1))
  }
  for (const candidate of candidates) {
    const parsed = parseJson(candidate)
    if (Either.isRight(parsed)) return parsed
  }
  return Either.left(trimmed === "" ? "the reply is empty" : "the reply is not JSON")
}

/** What Schema found wrong, path by path, each message on one line and scrubbed of key-shaped strings. */
export const issuesOf = (error: ParseResult.ParseError): Array<OutputIssue> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.map(String).join("."),
    message: excerpt(issue.message, [], 200)
  }))

/** A decoded reply: the value, and the JSON the model sent for it (the Schema's encoded side). */
export interface Decoded<A> {
  readonly value: A
  readonly json: unknown
}

/** Decodes a reply with the output's Schema; fails with what is wrong with it. */
export const decodeReply = <A, I, R>(
  spec: OutputSpec<A, I, R>,
  text: string
): Effect.Effect<Decoded<A>, ReadonlyArray<OutputIssue>, R> => {
  const found = jsonIn(text)
  if (Either.isLeft(found)) return Effect.fail([{ path: "", message: found.left }])
  let json = found.right
  if (spec.wrapped) {
    if (!Predicate.hasProperty(json, "value")) {
      return Effect.fail([{ path: "value", message: "is missing (the answer goes in the \"value\" field)" }])
    }
    json = json.value
  }
  return Effect.matchEffect(Schema.decodeUnknown(spec.schema, { errors: "all" })(json), {
    onFailure: (error) => Effect.fail(issuesOf(error)),
    onSuccess: (value) => Effect.succeed({ value, json })
  })
}

/** The user turn that sends the problems of a reply back to the model, for its one repair attempt. */
export const repairPrompt = <A, I, R>(spec: OutputSpec<A, I, R>, issues: ReadonlyArray<OutputIssue>): string =>
  [
    `Your reply does not match the required JSON format "${spec.format.name}":`,
    ...issues.slice(0, 10).map((issue) => `- ${issue.path === "" ? "" : `${issue.path}: `}${issue.message}`),
    "",
    "Reply again with only the corrected JSON object, matching this JSON Schema:",
    JSON.stringify(spec.format.jsonSchema)
  ].join("\n")

/** The failure after the repair attempt. */
export const invalidOutput = <A, I, R>(
  spec: OutputSpec<A, I, R>,
  issues: ReadonlyArray<OutputIssue>,
  reply: string,
  attempts: number
): InvalidOutput =>
  new InvalidOutput({ output: spec.format.name, issues: [...issues], reply: excerpt(reply, [], 300), attempts })

/** The JSON an agent shows for a typed value: the model's JSON, indented. */
export const showJson = (json: unknown): string => JSON.stringify(json, null, 2) ?? ""
