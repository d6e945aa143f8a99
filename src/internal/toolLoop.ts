/**
 * An agent's own loop: call the model, run the tools it asks for, send the results back, until it answers or
 * its steps run out; then decode a typed answer, with one repair attempt.
 *
 * Every model step goes through the `Provider` in context, which inside a run is the run's metered provider:
 * each step is retried, time-bounded, counted and charged to the agent like any other call. Tool calls run on
 * the agent's fiber (so interrupting the agent or the run interrupts them), emit `tool_call` and `tool_result`,
 * and hold a permit of the run's tool limit (`maxConcurrentAgents` tool calls in flight across the run). A
 * failing tool never fails the agent: its error goes back to the model as the tool's result. A tool annotated
 * with `RequiresApproval` first waits for a person's decision (see toolApproval.ts).
 *
 * The toolkit is used through its own methods only (`yield* toolkit`, `handle`), so that this module needs
 * `@effect/ai` for its types alone.
 */
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as SchemaAST from "effect/SchemaAST"
import { MaxStepsReached } from "../AgentError.js"
import type { AgentError } from "../AgentError.js"
import * as Provider from "../Provider.js"
import type { ProviderError } from "../ProviderError.js"
import { describeError } from "./describe.js"
import { emit, type RunEnv } from "./env.js"
import { excerpt } from "./providers/redact.js"
import { CurrentStep, type Step } from "./step.js"
import { approvalSettingsOf, decideCall, refusal } from "./toolApproval.js"
import {
  cachedJsonSchemaOf,
  decodeReply,
  invalidOutput,
  issuesOf,
  type OutputSpec,
  repairPrompt,
  showJson
} from "./structured.js"

/** The default bound on model calls of one loop. */
export const defaultMaxSteps = 10

/** One tool call the loop made, as the model was told of it. */
export interface ToolCallRecord {
  readonly id: string
  readonly name: string
  readonly params: unknown
  /** The model step that asked for it, from 1. */
  readonly step: number
  readonly isFailure: boolean
  /** The tool's encoded result, success or failure; undefined when the call never reached the tool's handler. */
  readonly result: unknown
  /** What went wrong, when the call failed. */
  readonly error: string | undefined
  readonly durationMillis: number
}

export interface LoopOptions {
  readonly system?: string | undefined
  readonly prompt?: string | undefined
  readonly messages?: ReadonlyArray<Provider.Message> | undefined
  readonly model?: string | undefined
  readonly temperature?: number | undefined
  readonly maxTokens?: number | undefined
  readonly output?: OutputSpec<unknown, unknown, unknown> | undefined
  readonly toolkit?: Effect.Effect<Toolkit.WithHandler<Record<string, Tool.Any>>, never, unknown> | undefined
  /** Offer only these tools of the toolkit. */
  readonly only?: ReadonlyArray<string> | undefined
  /** The tool choice of the first step; later steps leave the choice to the model. */
  readonly toolChoice?: Provider.ToolChoice | undefined
  readonly maxSteps?: number | undefined
  /** Tool calls of one step run at once up to this bound (and the run's). Default: all of them. */
  readonly toolConcurrency?: number | undefined
  /** A tool call that takes longer is abandoned and reported to the model as timed out. */
  readonly toolTimeout?: Duration.DurationInput | undefined
  /** Reads a first reply that does not decode some other way (a plan given as a numbered list, say). */
  readonly salvage?: ((text: string) => unknown) | undefined
}

export interface LoopResult {
  readonly content: string
  /** Set when the loop has an output Schema. */
  readonly value: unknown
  readonly steps: number
  readonly toolCalls: ReadonlyArray<ToolCallRecord>
}

const offeredTools = (
  handler: Toolkit.WithHandler<Record<string, Tool.Any>> | undefined,
  only: ReadonlyArray<string> | undefined
): ReadonlyArray<Tool.Any> =>
  handler === undefined
    ? []
    : Object.values(handler.tools).filter((tool) => only === undefined || only.includes(tool.name))

const definitionOf = (tool: Tool.Any): Provider.ToolDefinition => {
  const description = tool.description ??
    Option.getOrUndefined(SchemaAST.getDescriptionAnnotation(tool.parametersSchema.ast))
  return {
    name: tool.name,
    ...(description === undefined ? {} : { description }),
    parameters: cachedJsonSchemaOf(tool.parametersSchema.ast)
  }
}

// The run's tool limit: tool calls in flight across the run count against `maxConcurrentAgents`.
const limits = new WeakMap<RunEnv, Effect.Semaphore>()

const limitOf = (env: RunEnv): Effect.Semaphore => {
  let limit = limits.get(env)
  if (limit === undefined) {
    limit = Effect.unsafeMakeSemaphore(env.config.concurrency)
    limits.set(env, limit)
  }
  return limit
}

/** Why a call to `handle` failed, in words for the model. */
const describeToolFailure = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) {
    const defect = Cause.dieOption(cause)
    return `the tool failed unexpectedly: ${Option.isSome(defect) ? describeError(defect.value) : "unknown error"}`
  }
  const error = failure.value
  if (Predicate.hasProperty(error, "cause") && ParseResult.isParseError(error.cause)) {
    const what = Predicate.hasProperty(error, "_tag") && error._tag === "MalformedInput"
      ? "the tool's result does not match its Schema"
      : "the parameters do not match the tool's parameters"
    const issues = issuesOf(error.cause).map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`))
    return `${what}: ${issues.join("; ")}`
  }
  return describeError(error)
}

interface Outcome {
  readonly isFailure: boolean
  readonly result: unknown
  readonly error: string | undefined
}

const failedWith = (error: string): Outcome => ({ isFailure: true, result: undefined, error })

const attempt = (
  handler: Toolkit.WithHandler<Record<string, Tool.Any>>,
  names: ReadonlyArray<string>,
  call: Provider.ToolCall,
  timeout: Duration.Duration | undefined
): Effect.Effect<Outcome, never, unknown> => {
  if (!names.includes(call.name)) {
    return Effect.succeed(failedWith(`there is no tool "${call.name}"; the tools are: ${names.join(", ")}`))
  }
  const handled = Effect.map(
    handler.handle(call.name, call.params as never),
    (outcome): Outcome =>
      outcome.isFailure
        ? { isFailure: true, result: outcome.encodedResult, error: describeError(outcome.result) }
        : { isFailure: false, result: outcome.encodedResult, error: undefined }
  )
  const bounded = timeout === undefined ? handled : Effect.map(
    Effect.timeoutOption(handled, timeout),
    Option.getOrElse(() => failedWith(`the tool timed out after ${Duration.format(timeout)}`))
  )
  return Effect.catchAllCause(
    bounded,
    (cause) => Cause.isInterrupted(cause) ? Effect.failCause(cause) : Effect.succeed(failedWith(describeToolFailure(cause)))
  ) as Effect.Effect<Outcome, never, unknown>
}

const contentOf = (record: ToolCallRecord): string => {
  if (!record.isFailure) return JSON.stringify(record.result ?? null)
  return JSON.stringify(record.result === undefined ? { error: record.error } : { error: record.error, details: record.result })
}

const messageOf = (record: ToolCallRecord): Provider.ToolMessage => ({
  role: "tool",
  toolCallId: record.id,
  name: record.name,
  content: contentOf(record),
  ...(record.isFailure ? { isError: true } : {})
})

/**
 * Runs one tool call on behalf of the agent step of the current fiber, if any. A tool that requires approval
 * waits for the decision first, without holding a permit of the run's tool limit.
 */
const callTool = (
  handler: Toolkit.WithHandler<Record<string, Tool.Any>>,
  names: ReadonlyArray<string>,
  call: Provider.ToolCall,
  step: number,
  timeout: Duration.Duration | undefined
): Effect.Effect<ToolCallRecord, never, unknown> =>
  Effect.withFiberRuntime((fiber) => {
    const agent: Step | undefined = fiber.getFiberRef(CurrentStep).step
    const limit = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      agent === undefined ? effect : limitOf(agent.node.env).withPermits(1)(effect)
    const approval = names.includes(call.name) ? approvalSettingsOf(handler.tools[call.name]) : undefined
    const tool = approval === undefined
      ? attempt(handler, names, call, timeout)
      : Effect.flatMap(
        decideCall(agent, call.name, call.params, approval),
        (decision) =>
          decision._tag === "Approved" ? limit(attempt(handler, names, call, timeout)) : Effect.succeed(failedWith(refusal(decision)))
      )
    const run = Effect.gen(function*() {
      const ids = agent === undefined ? undefined : { subtaskId: agent.subtaskId, toolCallId: call.id, tool: call.name, step }
      if (agent !== undefined) emit(agent.node, "tool_call", { ...ids!, params: call.params }, agent.agentId)
      const started = yield* Clock.currentTimeMillis
      const outcome = yield* tool
      const durationMillis = (yield* Clock.currentTimeMillis) - started
      if (agent !== undefined) {
        emit(agent.node, "tool_result", {
          ...ids!,
          outcome: outcome.isFailure ? "failure" : "success",
          durationMillis,
          ...(outcome.error === undefined ? {} : { error: excerpt(outcome.error, [], 500) })
        }, agent.agentId)
      }
      return { id: call.id, name: call.name, params: call.params, step, durationMillis, ...outcome }
    })
    return approval === undefined ? limit(run) : run
  })

const initialMessages = (options: LoopOptions): Array<Provider.Message> => {
  const messages: Array<Provider.Message> = [...(options.messages ?? [])]
  if (options.prompt !== undefined) messages.push({ role: "user", content: options.prompt })
  return messages
}

/** The loop. Fails with the provider's error of a step (after its retries), or an `AgentError`. */
export const runLoop = (options: LoopOptions): Effect.Effect<LoopResult, ProviderError | AgentError, unknown> =>
  Effect.gen(function*() {
    const provider = yield* Provider.Provider
    const handler = options.toolkit === undefined ? undefined : yield* options.toolkit
    const tools = offeredTools(handler, options.only)
    const names = tools.map((tool) => tool.name)
    const definitions = tools.map(definitionOf)
    const spec = options.output
    const maxSteps = options.maxSteps ?? defaultMaxSteps
    if (!(Number.isInteger(maxSteps) && maxSteps >= 1)) {
      return yield* Effect.dieMessage(`maxSteps must be an integer of at least 1, got ${maxSteps}`)
    }
    const timeout = options.toolTimeout === undefined ? undefined : Duration.decode(options.toolTimeout)
    // Turns after the prompt. Until there are any, the request carries the prompt as given.
    const history: Array<Provider.Message> = []
    const records: Array<ToolCallRecord> = []
    let repairing = false
    let step = 0
    for (;;) {
      step++
      const toolChoice = repairing ? "none" : step === 1 ? options.toolChoice : undefined
      const completion = yield* provider.complete({
        model: options.model,
        system: options.system,
        temperature: options.temperature,
        maxTokens: options.maxTokens,
        ...(history.length === 0
          ? { prompt: options.prompt, messages: options.messages }
          : { messages: [...initialMessages(options), ...history] }),
        ...(definitions.length === 0 ? {} : { tools: definitions, ...(toolChoice === undefined ? {} : { toolChoice }) }),
        ...(spec === undefined ? {} : { responseFormat: spec.format })
      })
      const calls = handler === undefined || repairing ? [] : completion.toolCalls ?? []
      if (calls.length > 0) {
        if (step >= maxSteps) return yield* new MaxStepsReached({ maxSteps, toolCalls: records.length })
        history.push({ role: "assistant", content: completion.content, toolCalls: calls })
        const answered = yield* Effect.forEach(calls, (call) => callTool(handler!, names, call, step, timeout), {
          concurrency: options.toolConcurrency ?? "unbounded"
        })
        records.push(...answered)
        for (const record of answered) history.push(messageOf(record))
        continue
      }
      if (spec === undefined) return { content: completion.content, value: undefined, steps: step, toolCalls: records }
      const decoded = yield* Effect.either(decodeReply(spec, completion.content))
      if (Either.isRight(decoded)) {
        return { content: showJson(decoded.right.json), value: decoded.right.value, steps: step, toolCalls: records }
      }
      if (!repairing && options.salvage !== undefined) {
        const salvaged = options.salvage(completion.content)
        if (salvaged !== undefined) return { content: completion.content, value: salvaged, steps: step, toolCalls: records }
      }
      if (repairing) return yield* invalidOutput(spec, decoded.left, completion.content, 2)
      repairing = true
      history.push(
        { role: "assistant", content: completion.content },
        { role: "user", content: repairPrompt(spec, decoded.left) }
      )
    }
  })
