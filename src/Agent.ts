/**
 * One agent's work, beyond a single completion: a reply decoded with a Schema, and a bounded loop over tools.
 * Use `Agent.run` inside a workflow's `execute` (or anywhere a `Provider` is in context); `Workflow.agent`
 * takes the same `output` and `tools` options.
 *
 * @since 0.1.0
 */
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { AgentError } from "./AgentError.js"
import { outputSpec } from "./internal/structured.js"
import * as ToolApproval from "./internal/toolApproval.js"
import { defaultMaxSteps as maxStepsDefault, runLoop, type ToolCallRecord as Record_ } from "./internal/toolLoop.js"
import type * as Provider from "./Provider.js"
import type { ProviderError } from "./ProviderError.js"

/**
 * The bound on model calls of one agent's tool loop when `maxSteps` is not given.
 *
 * @since 0.1.0
 * @category Constants
 */
export const defaultMaxSteps: number = maxStepsDefault

/**
 * One tool call of a run: what the model sent, what the tool answered (its encoded success or failure, as the
 * model saw it), and how long it took.
 *
 * @since 0.1.0
 * @category Models
 */
export type ToolCallRecord = Record_

/**
 * How a tool that requires approval asks for it: `timeout` (from the first request, kept across restarts;
 * default: wait forever) and `prompt`, what the person is shown, from the call's parameters.
 *
 * @since 0.2.0
 * @category Models
 */
export type ApprovalSettings = ToolApproval.ApprovalSettings

/**
 * The annotation that marks a tool as requiring a person's approval before each call runs:
 * `tool.annotate(Agent.RequiresApproval, { timeout: "1 day" })`.
 *
 * When the model calls it inside a durable run, the run emits `approval_requested` (its `step` names the
 * agent, the tool and a digest of the parameters) and waits for `Orchestrator.approve(runId, step, ...)` or
 * `orchestrate approve RUN STEP`, as an approval step does (`durable.onApproval: "suspend"` ends the process
 * instead, to be resumed after the decision). Approved, the tool runs; rejected, the model gets the refusal and
 * its note as the tool's error, and goes on; with no decision within `timeout`, the model is told that it timed
 * out. Outside a durable run the call cannot wait: the model is told so. While a call waits, the agent's
 * `timeoutSeconds` is paused and the call holds no permit of the run's tool limit.
 *
 * @since 0.2.0
 * @category Annotations
 * @example
 * ```ts
 * import { Tool } from "@effect/ai"
 * import { Schema } from "effect"
 * import { Agent } from "multi-agent-orchestration"
 *
 * const SendEmail = Tool.make("send_email", {
 *   description: "Send an email",
 *   parameters: { to: Schema.String, body: Schema.String },
 *   success: Schema.String
 * }).annotate(Agent.RequiresApproval, {
 *   timeout: "1 day",
 *   prompt: (params) => `Send this email? ${JSON.stringify(params)}`
 * })
 * ```
 */
export const RequiresApproval: typeof ToolApproval.RequiresApproval = ToolApproval.RequiresApproval

/**
 * Options of `Agent.run`.
 *
 * - `output`: a Schema for the answer. Its JSON Schema is sent where the API takes one; the reply is decoded
 *   with it, and a reply that does not decode gets one repair attempt (the problems are sent back), then the
 *   agent fails with `AgentError.InvalidOutput`.
 * - `tools`: an `@effect/ai` `Toolkit`; its handlers come from the context (`toolkit.toLayer(...)`). `only`
 *   offers a subset of its tools. The loop calls the model, runs the tools it asks for and sends their results
 *   back, at most `maxSteps` model calls (default 10); a model still calling tools then fails the agent with
 *   `AgentError.MaxStepsReached`. `toolChoice` applies to the first step only.
 * - `toolConcurrency`: the most calls of one step running at once (default: all); across a run, tool calls in
 *   flight also count against `maxConcurrentAgents`. `toolTimeout`: a call that takes longer is abandoned and
 *   reported to the model as timed out.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options<A, I, R, Tools extends Record<string, Tool.Any>> {
  readonly system?: string | undefined
  readonly prompt?: string | undefined
  /** Earlier turns, before `prompt`. */
  readonly messages?: ReadonlyArray<Provider.Message> | undefined
  readonly model?: string | undefined
  readonly temperature?: number | undefined
  readonly maxTokens?: number | undefined
  readonly output?: Schema.Schema<A, I, R> | undefined
  /** The output's name as the model sees it. Default: the Schema's identifier, else "output". */
  readonly outputName?: string | undefined
  readonly tools?: Toolkit.Toolkit<Tools> | undefined
  readonly only?: ReadonlyArray<keyof Tools & string> | undefined
  readonly toolChoice?: Provider.ToolChoice | undefined
  readonly maxSteps?: number | undefined
  readonly toolConcurrency?: number | undefined
  readonly toolTimeout?: Duration.DurationInput | undefined
}

/**
 * What every run returns: the answer's text (for a typed answer, its JSON, indented), how many model calls it
 * took, and the tool calls made, in order. `metadata` is what a workflow's `AgentResult` gets.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Answer {
  readonly content: string
  readonly steps: number
  readonly toolCalls: ReadonlyArray<ToolCallRecord>
  readonly metadata: Readonly<Record<string, unknown>>
}

/**
 * The result of `Agent.run`: an `Answer`, with the decoded `value` when an `output` Schema was given.
 *
 * @since 0.1.0
 * @category Models
 */
export type Result<A> = [A] extends [never] ? Answer : Answer & { readonly value: A }

/**
 * What running a toolkit's tools needs from the context: their handlers, and whatever the tools themselves
 * require.
 *
 * @since 0.1.0
 * @category Models
 */
export type ToolRequirements<Tools extends Record<string, Tool.Any>> =
  | Tool.HandlersFor<Tools>
  | Tool.Requirements<Tools[keyof Tools]>

/**
 * Runs one agent turn to its answer: one completion, or a tool loop, decoded with `output` when given. Every
 * model call goes through the `Provider` in context, so inside a run it is retried, time-bounded, metered and
 * charged to the agent; every tool call emits `tool_call` and `tool_result`; a failing tool's error goes back
 * to the model, never to the run.
 *
 * @since 0.1.0
 * @category Functions
 * @example
 * ```ts
 * import { Tool, Toolkit } from "@effect/ai"
 * import { Effect, Schema } from "effect"
 * import { Agent, Provider } from "multi-agent-orchestration"
 *
 * const Lookup = Tool.make("lookup", {
 *   description: "Look a word up in the glossary",
 *   parameters: { word: Schema.String },
 *   success: Schema.String
 * })
 * const tools = Toolkit.make(Lookup)
 * const handlers = tools.toLayer({ lookup: ({ word }) => Effect.succeed(`${word}: a directed acyclic graph`) })
 *
 * const Definition = Schema.Struct({ term: Schema.String, meaning: Schema.String })
 *
 * const answer = Agent.run({ prompt: "What is a DAG?", tools, output: Definition, maxSteps: 4 }).pipe(
 *   Effect.map((result) => result.value.meaning),
 *   Effect.provide([Provider.simulated(), handlers])
 * )
 * ```
 */
export const run = <
  A = never,
  I = never,
  R = never,
  Tools extends Record<string, Tool.Any> = {}
>(options: Options<A, I, R, Tools>): Effect.Effect<
  Result<A>,
  ProviderError | AgentError,
  Provider.Provider | R | ToolRequirements<Tools>
> =>
  Effect.suspend(() => {
    const spec = options.output === undefined ? undefined : outputSpec(options.output, { name: options.outputName })
    return Effect.map(
      runLoop({
        system: options.system,
        prompt: options.prompt,
        messages: options.messages,
        model: options.model,
        temperature: options.temperature,
        maxTokens: options.maxTokens,
        output: spec as never,
        toolkit: options.tools as never,
        only: options.only,
        toolChoice: options.toolChoice,
        maxSteps: options.maxSteps,
        toolConcurrency: options.toolConcurrency,
        toolTimeout: options.toolTimeout
      }),
      (loop) => {
        const metadata = options.tools === undefined ? {} : { steps: loop.steps, toolCalls: loop.toolCalls.length }
        // Two literals rather than a spread that adds `value`: V8 gives each object such a spread makes a hidden
        // class of its own.
        if (spec === undefined) {
          const answer: Answer = { content: loop.content, steps: loop.steps, toolCalls: loop.toolCalls, metadata }
          return answer as Result<A>
        }
        return { content: loop.content, steps: loop.steps, toolCalls: loop.toolCalls, metadata, value: loop.value } as Result<A>
      }
    )
  }) as Effect.Effect<Result<A>, ProviderError | AgentError, Provider.Provider | R | ToolRequirements<Tools>>
