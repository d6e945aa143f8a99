import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Tracer from "effect/Tracer"
import type { OrchestratorConfig } from "../../OrchestratorConfig.js"
import type * as Provider from "../../Provider.js"
import type { ProviderError } from "../../ProviderError.js"
import type { Node } from "../env.js"
import * as metrics from "./metrics.js"
import { CurrentStep, sharedHolder, type Step } from "../step.js"

// Spans and metrics of a run. A run without a telemetry layer has no `RunTelemetry` at all: the engine checks
// one field and allocates nothing for spans or metrics.
//
// Spans are parented explicitly, never by the fiber they run on: agents run on pool workers that outlive them,
// so a worker's own context says nothing of the workflow an agent belongs to.
//
// Agent and provider-call spans, one or more per agent, are made straight from the run's tracer and ended by
// the engine's own handlers, where an agent's or a call's outcome is handled anyway: `Effect.useSpan` and
// `withParentSpan` would copy the fiber's FiberRefs three times and wrap the body twice more, which costs more
// than a whole untraced agent. The few spans of workflows and one-off steps use Effect's combinators. What an
// agent's code makes hangs under the agent's span through `CurrentWorkSpan`, without a FiberRef update.

/** What `Telemetry.instrument` switches on. */
export interface Settings {
  readonly enabled: boolean
  readonly recordContent: boolean
}

/** The run's telemetry settings; off unless a telemetry layer is provided. */
export class TelemetrySettings extends Context.Reference<TelemetrySettings>()(
  "multi-agent-orchestration/Telemetry/Settings",
  { defaultValue: (): Settings => ({ enabled: false, recordContent: false }) }
) {}

/** How a provider call attempt's outcome is handled by the engine: metering, retries. */
export interface CallHandlers {
  readonly onSuccess: (completion: Provider.Completion) => Effect.Effect<Provider.Completion, ProviderError>
  readonly onFailure: (error: ProviderError) => Effect.Effect<Provider.Completion, ProviderError>
}

const label = MetricLabel.make

// Label arrays are reused: an Effect metric caches its hook per label array, by identity, so a fresh array
// per update would look the metric up in the registry each time. There are few: models × error tags.
const labelSets = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
const labels = (...pairs: ReadonlyArray<string>): ReadonlyArray<MetricLabel.MetricLabel> => {
  const key = pairs.join("\u0000")
  let set = labelSets.get(key)
  if (set === undefined) {
    const made: Array<MetricLabel.MetricLabel> = []
    for (let i = 0; i < pairs.length; i += 2) made.push(label(pairs[i]!, pairs[i + 1]!))
    set = made
    labelSets.set(key, set)
  }
  return set
}
const noLabels: ReadonlyArray<MetricLabel.MetricLabel> = []

/** The label sets a successful call of a model records under, looked up once per call. */
interface ModelLabels {
  readonly succeeded: ReadonlyArray<MetricLabel.MetricLabel>
  readonly input: ReadonlyArray<MetricLabel.MetricLabel>
  readonly output: ReadonlyArray<MetricLabel.MetricLabel>
  readonly cost: ReadonlyArray<MetricLabel.MetricLabel>
}
const modelLabelSets = new Map<string, ModelLabels>()
const modelLabels = (model: string): ModelLabels => {
  let set = modelLabelSets.get(model)
  if (set === undefined) {
    set = {
      succeeded: labels("gen_ai.request.model", model, "error.type", "none"),
      input: labels("gen_ai.response.model", model, "gen_ai.token.type", "input"),
      output: labels("gen_ai.response.model", model, "gen_ai.token.type", "output"),
      cost: labels("gen_ai.response.model", model)
    }
    modelLabelSets.set(model, set)
  }
  return set
}

const callSpanNames = new Map<string, string>()
const callSpanName = (model: string): string => {
  let name = callSpanNames.get(model)
  if (name === undefined) {
    name = `chat ${model}`
    callSpanNames.set(model, name)
  }
  return name
}

const statusOf = (step: Step, exit: Exit.Exit<unknown, unknown>): string =>
  Exit.isSuccess(exit)
    ? "completed"
    : step.timedOut
    ? "timed_out"
    : step.refusedByBudget
    ? "cancelled"
    : Cause.isInterruptedOnly(exit.cause)
    ? "interrupted"
    : "failed"

const errorTypeOf = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const value = failure.value
    return Predicate.hasProperty(value, "_tag") && typeof value._tag === "string" ? value._tag : "UnknownError"
  }
  return Cause.isInterruptedOnly(cause) ? "Interrupted" : "Defect"
}

const promptMessages = (request: Provider.CompletionRequest): string => {
  const messages = request.messages !== undefined
    ? request.messages.map((message) => ({ role: message.role, parts: [{ type: "text", content: message.content }] }))
    : []
  if (request.prompt !== undefined) messages.push({ role: "user", parts: [{ type: "text", content: request.prompt }] })
  return JSON.stringify(messages)
}

/** How the fiber that starts a run makes spans, read once: a span of the run then costs no lookups. */
export interface SpanSettings {
  /** False where tracing is switched off (`Effect.withTracerEnabled(false)`): spans are then no-ops. */
  readonly enabled: boolean
  readonly tracer: Tracer.Tracer
  readonly timing: boolean
  readonly annotations: ReadonlyArray<readonly [string, unknown]>
  readonly links: ReadonlyArray<Tracer.SpanLink>
}

const interrupted = Exit.interrupt(FiberId.none)

/** Sets the current fiber's context: one FiberRef update, where `Effect.provideService` makes a region of two. */
const setContext = (context: Context.Context<never>) => FiberRef.set(FiberRef.currentContext, context)

/**
 * The parent span that agents and steps see, one object for the whole run. It stands for the span of what the
 * current fiber works for, as its `CurrentStep` holder says: the provider call in progress on that fiber (for
 * a provider that makes spans of its own), else its step's span. A fiber forked by an agent keeps its agent,
 * since its holder is a copy made at the fork, as a context would be.
 *
 * Making each agent's own span the parent span would update the worker's FiberRefs for every agent, a copy of
 * them all (about 2 KB and more than a microsecond); this is set once per worker. The run's tracer is wrapped
 * (`resolvingTracer`) so that a span made under it gets the real span as its parent, read as it starts.
 */
class CurrentWorkSpan implements Tracer.Span {
  readonly _tag = "Span"
  constructor(private readonly outside: () => Tracer.Span) {}

  /** The span this stands for now. */
  resolve(): Tracer.Span {
    const fiber = Fiber.getCurrentFiber()
    if (fiber._tag === "Some") {
      const holder = fiber.value.getFiberRef(CurrentStep)
      const span = holder.callSpan ?? holder.step?.span
      if (span !== undefined) return span
    }
    return this.outside()
  }

  get name(): string {
    return this.resolve().name
  }
  get spanId(): string {
    return this.resolve().spanId
  }
  get traceId(): string {
    return this.resolve().traceId
  }
  get parent(): Option.Option<Tracer.AnySpan> {
    return this.resolve().parent
  }
  get context(): Context.Context<never> {
    return this.resolve().context
  }
  get status(): Tracer.SpanStatus {
    return this.resolve().status
  }
  get attributes(): ReadonlyMap<string, unknown> {
    return this.resolve().attributes
  }
  get links(): ReadonlyArray<Tracer.SpanLink> {
    return this.resolve().links
  }
  get sampled(): boolean {
    return this.resolve().sampled
  }
  get kind(): Tracer.SpanKind {
    return this.resolve().kind
  }
  // The spans it stands for are ended by the engine, never through it.
  end(): void {}
  attribute(key: string, value: unknown): void {
    this.resolve().attribute(key, value)
  }
  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    this.resolve().event(name, startTime, attributes)
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.resolve().addLinks(links)
  }
}

/** A parent as the tracer should see it: the real span in place of `CurrentWorkSpan`. */
const realParent = (parent: Option.Option<Tracer.AnySpan>): Option.Option<Tracer.AnySpan> =>
  parent._tag === "Some" && parent.value instanceof CurrentWorkSpan ? Option.some(parent.value.resolve()) : parent

/** The run's tracer, given real parents (see `CurrentWorkSpan`). */
const resolvingTracer = (inner: Tracer.Tracer): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) =>
      inner.span(
        name,
        realParent(parent),
        context,
        links.length === 0
          ? links
          : links.map((link) =>
            link.span instanceof CurrentWorkSpan ? { _tag: "SpanLink", span: link.span.resolve(), attributes: link.attributes } : link
          ),
        startTime,
        kind,
        options
      ),
    context: (execution, fiber) => inner.context(execution, fiber)
  })

/** Spans that go nowhere, for a run started where tracing is switched off (`Effect.withTracerEnabled(false)`). */
const noopTracer = Tracer.make({
  span: (name, parent, context, links, startTime, kind) => ({
    _tag: "Span",
    name,
    spanId: "noop",
    traceId: "noop",
    parent,
    context,
    status: { _tag: "Started", startTime },
    attributes: new Map(),
    links,
    sampled: false,
    kind,
    end: () => {},
    attribute: () => {},
    event: () => {},
    addLinks: () => {}
  }),
  context: (execution) => execution()
})

/** What `CurrentWorkSpan` stands for before the run's top workflow has its span. */
const noopSpan = noopTracer.span("noop", Option.none(), Context.empty(), [], BigInt(0), "internal")

export class RunTelemetry {
  private spent = 0
  /** The span of the run's top workflow: what `currentWork` stands for outside any step. */
  private rootSpan: Tracer.Span | undefined = undefined
  /** The parent span agents and steps see. */
  readonly currentWork = new CurrentWorkSpan(() => this.rootSpan ?? noopSpan)
  /** The run's tracer, set for the whole run (see `CurrentWorkSpan`); `undefined` where tracing is off. */
  readonly tracer: Tracer.Tracer | undefined
  /** Agents whose span is open: those still open when the run ends were interrupted with it. */
  private readonly open = new Set<Step>()

  constructor(
    readonly settings: Settings,
    readonly taskId: string,
    readonly providerName: string,
    readonly config: OrchestratorConfig,
    readonly clock: Clock.Clock,
    private readonly spans: SpanSettings
  ) {
    this.tracer = spans.enabled ? resolvingTracer(spans.tracer) : undefined
  }

  private now(): bigint {
    return this.spans.timing ? this.clock.unsafeCurrentTimeNanos() : BigInt(0)
  }

  /** What `Effect.makeSpan` does, less the per-span lookups. */
  private startSpan(name: string, parent: Option.Option<Tracer.AnySpan>, kind: Tracer.SpanKind): Tracer.Span {
    const span = this.spans.tracer.span(name, realParent(parent), Context.empty(), this.spans.links, this.now(), kind)
    const annotations = this.spans.annotations
    for (let i = 0; i < annotations.length; i++) span.attribute(annotations[i]![0], annotations[i]![1])
    return span
  }

  /** A workflow's span, a child of its parent workflow's (or, at the top, of the run's). */
  workflow<A, E, R>(node: Node, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    const parent = node.parent?.span
    return Effect.useSpan(`workflow ${node.name}`, {
      ...(parent === undefined ? {} : { parent }),
      captureStackTrace: false,
      attributes: {
        "orchestration.task.id": this.taskId,
        "orchestration.workflow.id": node.workflowId,
        "orchestration.workflow.name": node.name
      }
    }, (span) => {
      node.span = span
      if (node.parent === undefined) this.rootSpan = span
      return Effect.onExit(Effect.withParentSpan(body, span), () =>
        Effect.sync(() => {
          span.attribute("orchestration.cost", node.cost)
          span.attribute("gen_ai.usage.input_tokens", node.inputTokens)
          span.attribute("gen_ai.usage.output_tokens", node.outputTokens)
        }))
    })
  }

  /**
   * Runs an agent's body under its span, a child of its workflow's whatever worker fiber runs it, then hands
   * the outcome to `handlers`. The body sees the span as its parent span, so that the spans it makes (provider
   * calls, the user's own) nest under it.
   */
  agent<A, E, R, X>(
    step: Step,
    body: Effect.Effect<A, E, R>,
    handlers: {
      readonly onSuccess: (value: A) => Effect.Effect<X>
      readonly onFailure: (cause: Cause.Cause<E>) => Effect.Effect<X>
    }
  ): Effect.Effect<X, never, R> {
    const node = step.node
    const span = this.startSpan(`invoke_agent ${step.agentId}`, Option.fromNullable(node.span), "internal")
    span.attribute("gen_ai.operation.name", "invoke_agent")
    span.attribute("orchestration.agent.id", step.agentId)
    span.attribute("orchestration.agent.tier", step.tier)
    span.attribute("orchestration.workflow.id", node.workflowId)
    span.attribute("gen_ai.request.model", step.defaultModel)
    span.attribute("gen_ai.agent.id", step.agentId)
    span.attribute("orchestration.subtask.id", step.subtaskId)
    step.span = span
    step.callSpan = undefined
    this.open.add(step)
    metrics.agentsInFlight.unsafeModify(1, noLabels)
    const traced = Effect.matchCauseEffect(body, {
      onSuccess: (value) => {
        this.agentEnded(step, Exit.void)
        return handlers.onSuccess(value)
      },
      onFailure: (cause) => {
        this.agentEnded(step, Exit.failCause(cause))
        return handlers.onFailure(cause)
      }
    })
    if (!this.spans.enabled) return traced
    // The worker's holder now points at this agent, and so does `currentWork`: a worker's context is given
    // `currentWork` as its parent span once, by its first agent.
    return Effect.withFiberRuntime((fiber) => {
      fiber.getFiberRef(CurrentStep).callSpan = undefined
      const context = fiber.currentContext
      const parent = Context.getOption(context, Tracer.ParentSpan)
      return parent._tag === "Some" && parent.value === this.currentWork
        ? traced
        : Effect.zipRight(setContext(Context.add(context, Tracer.ParentSpan, this.currentWork)), traced)
    })
  }

  /**
   * Ends an agent's span, once: from its handlers, or for an agent stopped at its deadline or with its run,
   * which never reaches them.
   */
  agentEnded(step: Step, exit: Exit.Exit<unknown, unknown>): void {
    const span = step.span
    if (span === undefined || !this.open.delete(step)) return
    if (step.callSpan !== undefined) this.endCall(step, step.callSpan, exit)
    metrics.agentsInFlight.unsafeModify(-1, noLabels)
    this.ended(span, step, exit)
    span.end(this.now(), exit)
  }

  /** Ends the spans of agents still running when the run ends: they were interrupted with it. */
  runEnded(): void {
    for (const step of [...this.open]) this.agentEnded(step, interrupted)
  }

  /** The span of a decomposition, synthesis, judge, merge or condition step. */
  step<A, E, R>(step: Step, body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    const node = step.node
    const parent = node.span
    return Effect.useSpan(`${step.subtaskId.replace(/^\(|\)$/g, "")} ${node.name}`, {
      ...(parent === undefined ? {} : { parent }),
      captureStackTrace: false,
      attributes: {
        "gen_ai.operation.name": "chat",
        "orchestration.agent.id": step.agentId,
        "orchestration.agent.tier": step.tier,
        "orchestration.workflow.id": node.workflowId,
        "gen_ai.request.model": step.defaultModel,
        "orchestration.step": step.tier
      }
    }, (span) => {
      step.span = span
      // The step runs on a fiber of its own whose holder points at it: `currentWork` stands for its span there.
      return Effect.onExit(Effect.withParentSpan(body, this.spans.enabled ? this.currentWork : span), (exit) =>
        Effect.sync(() => this.ended(span, step, exit)))
    })
  }

  /** What a step's span says of its outcome. */
  private ended(span: Tracer.Span, step: Step, exit: Exit.Exit<unknown, unknown>): void {
    span.attribute("orchestration.cost", step.cost)
    span.attribute("orchestration.attempts", step.attempts)
    span.attribute("gen_ai.usage.input_tokens", step.inputTokens)
    span.attribute("gen_ai.usage.output_tokens", step.outputTokens)
    if (step.model !== undefined) span.attribute("gen_ai.response.model", step.model)
    span.attribute("orchestration.agent.status", statusOf(step, exit))
    if (Exit.isFailure(exit)) span.attribute("error.type", step.timedOut ? "StepTimedOut" : errorTypeOf(exit.cause))
  }

  /**
   * One attempt of a provider call, as a GenAI client span: a child of the current span (the step's, or one
   * the agent made). The attempt's cost is what metering charged the step for it.
   */
  call(
    step: Step,
    model: string,
    request: Provider.CompletionRequest,
    completion: Effect.Effect<Provider.Completion, ProviderError>,
    handlers: CallHandlers
  ): Effect.Effect<Provider.Completion, ProviderError> {
    return Effect.withFiberRuntime((fiber) => {
      const outer = fiber.currentContext
      const span = this.startSpan(callSpanName(model), Context.getOption(outer, Tracer.ParentSpan), "client")
      span.attribute("gen_ai.operation.name", "chat")
      span.attribute("gen_ai.provider.name", this.providerName)
      span.attribute("gen_ai.request.model", model)
      span.attribute("orchestration.agent.id", step.agentId)
      span.attribute("orchestration.agent.tier", step.tier)
      span.attribute("orchestration.attempt", step.attempts)
      if (request.temperature !== undefined) span.attribute("gen_ai.request.temperature", request.temperature)
      if (request.maxTokens !== undefined) span.attribute("gen_ai.request.max_tokens", request.maxTokens)
      if (this.settings.recordContent) {
        if (request.system !== undefined) {
          span.attribute("gen_ai.system_instructions", JSON.stringify([{ type: "text", content: request.system }]))
        }
        span.attribute("gen_ai.input.messages", promptMessages(request))
      }
      // An attempt cut short (its agent timed out or interrupted) ends with its agent's span.
      if (step.callSpan !== undefined) this.endCall(step, step.callSpan, interrupted)
      step.callSpan = span
      const started = this.clock.unsafeCurrentTimeMillis()
      const seconds = () => (this.clock.unsafeCurrentTimeMillis() - started) / 1000
      // What the provider makes hangs under this attempt's span, on this fiber and those it forks meanwhile.
      const own = fiber.getFiberRef(CurrentStep)
      // Never the holder fibers outside any run share.
      const holder = own === sharedHolder ? undefined : own
      const before = holder?.callSpan
      if (holder !== undefined) holder.callSpan = span
      return Effect.matchCauseEffect(completion, {
        onSuccess: (reply) => {
          if (holder !== undefined) holder.callSpan = before
          const costBefore = step.cost
          const next = handlers.onSuccess(reply)
          const callCost = step.cost - costBefore
          span.attribute("gen_ai.response.model", reply.model)
          span.attribute("gen_ai.usage.input_tokens", reply.usage.inputTokens)
          span.attribute("gen_ai.usage.output_tokens", reply.usage.outputTokens)
          span.attribute("orchestration.cost", callCost)
          if (this.settings.recordContent) {
            span.attribute(
              "gen_ai.output.messages",
              JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: reply.content }] }])
            )
          }
          this.endCall(step, span, Exit.void)
          metrics.callDuration.unsafeUpdate(seconds(), modelLabels(model).succeeded)
          this.charged(reply.model, reply.usage.inputTokens, reply.usage.outputTokens, callCost)
          return next
        },
        onFailure: (cause) => {
          if (holder !== undefined) holder.callSpan = before
          const failure = Cause.failureOption(cause)
          const errorType = errorTypeOf(cause)
          span.attribute("error.type", errorType)
          metrics.callDuration.unsafeUpdate(seconds(), labels("gen_ai.request.model", model, "error.type", errorType))
          if (Option.isNone(failure)) {
            this.endCall(step, span, Exit.failCause(cause))
            return Effect.failCause(cause)
          }
          const error = failure.value
          const costBefore = step.cost
          const next = handlers.onFailure(error)
          if (error.usage !== undefined) {
            const callCost = step.cost - costBefore
            span.attribute("gen_ai.usage.input_tokens", error.usage.inputTokens)
            span.attribute("gen_ai.usage.output_tokens", error.usage.outputTokens)
            span.attribute("orchestration.cost", callCost)
            this.charged(model, error.usage.inputTokens, error.usage.outputTokens, callCost)
          }
          this.endCall(step, span, Exit.fail(error))
          return next
        }
      })
    })
  }

  private endCall(step: Step, span: Tracer.Span, exit: Exit.Exit<unknown, unknown>): void {
    if (step.callSpan === span) step.callSpan = undefined
    if (Exit.isFailure(exit) && !span.attributes.has("error.type")) span.attribute("error.type", errorTypeOf(exit.cause))
    span.end(this.now(), exit)
  }

  private charged(model: string, inputTokens: number, outputTokens: number, callCost: number): void {
    const set = modelLabels(model)
    metrics.tokens.unsafeUpdate(inputTokens, set.input)
    metrics.tokens.unsafeUpdate(outputTokens, set.output)
    if (callCost > 0) metrics.cost.unsafeUpdate(callCost, set.cost)
    this.spent += callCost
    const limit = this.config.maxTotalCost
    if (limit !== undefined && limit > 0) metrics.budgetUsed.unsafeUpdate(this.spent / limit, noLabels)
  }

  /** A transient failure that will be tried again, on the same model or on the fallback. */
  retried(errorTag: string, kind: "retry" | "fallback"): void {
    metrics.retries.unsafeUpdate(1, labels("error.type", errorTag, "orchestration.retry.kind", kind))
  }
}

/** The telemetry of a run about to start, or `undefined` when no telemetry layer is provided. */
export const makeRunTelemetry = (
  taskId: string,
  provider: Provider.Service,
  config: OrchestratorConfig,
  clock: Clock.Clock
): Effect.Effect<RunTelemetry | undefined> =>
  Effect.flatMap(TelemetrySettings, (settings) =>
    settings.enabled
      ? Effect.withFiberRuntime((fiber) =>
        Effect.map(Effect.tracer, (tracer) => {
          const spans: SpanSettings = fiber.getFiberRef(FiberRef.currentTracerEnabled)
            ? {
              enabled: true,
              tracer,
              timing: fiber.getFiberRef(FiberRef.currentTracerTimingEnabled),
              annotations: [...HashMap.toEntries(fiber.getFiberRef(FiberRef.currentTracerSpanAnnotations))],
              links: [...fiber.getFiberRef(FiberRef.currentTracerSpanLinks)]
            }
            : { enabled: false, tracer: noopTracer, timing: false, annotations: [], links: [] }
          return new RunTelemetry(settings, taskId, provider.name, config, clock, spans)
        })
      )
      : Effect.succeed(undefined))

/** Marks the current span (the run's) with the task's id, when telemetry is on. */
export const annotateRun = (telemetry: RunTelemetry | undefined): Effect.Effect<void> =>
  telemetry === undefined ? Effect.void : Effect.annotateCurrentSpan("orchestration.task.id", telemetry.taskId)

