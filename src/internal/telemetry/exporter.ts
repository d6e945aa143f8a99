/**
 * Effect spans exported to an OpenTelemetry `SpanExporter`, without the OpenTelemetry SDK's own span objects.
 *
 * An SDK span checks, copies and timestamps each attribute as it is set, and goes through span processors on
 * start and end: about 10 µs a span, as much as a whole agent. These spans keep their attributes in one plain
 * object and become a `ReadableSpan` when they end, which is all an exporter reads. Loaded only with
 * `Telemetry.layerExporter`.
 */
import { type Attributes, type AttributeValue, type HrTime, type Link, type SpanContext, SpanKind, SpanStatusCode } from "@opentelemetry/api"
import type { Resource } from "@opentelemetry/resources"
import type { ReadableSpan, SpanExporter, TimedEvent } from "@opentelemetry/sdk-trace-base"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

const kinds: Record<Tracer.SpanKind, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER
}

// Times go through a double: an epoch time in nanoseconds keeps 256 ns of precision there, finer than the
// clocks that make it, and BigInt division would cost more than the rest of a span's export.
const hrTime = (nanos: bigint): HrTime => {
  const value = Number(nanos)
  const seconds = Math.floor(value / 1e9)
  return [seconds, Math.max(0, Math.round(value - seconds * 1e9))]
}
const hrDuration = (nanos: bigint): HrTime => {
  const value = Number(nanos)
  return [Math.floor(value / 1e9), value % 1e9]
}

const random32 = () => (Math.random() * 0x1_0000_0000 >>> 0).toString(16).padStart(8, "0")
// Span ids: a random half, drawn again every 2^32 spans, then a count. Unique within the process and, with
// overwhelming odds, across processes that share a trace; far cheaper than 64 random bits a span.
let idPrefix = random32()
let idCount = 0
const newSpanId = () => {
  if (idCount === 0xffff_ffff) {
    idPrefix = random32()
    idCount = 0
  }
  return idPrefix + (++idCount).toString(16).padStart(8, "0")
}
const newTraceId = () => random32() + random32() + random32() + random32()

/** An attribute as OpenTelemetry takes it: primitives and arrays of them as they are, anything else as text. */
const attributeValue = (value: unknown): AttributeValue | undefined => {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return value
    case "bigint":
      return value.toString()
    case "undefined":
      return undefined
    default:
      if (value === null) return undefined
      if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value as Array<string>
      if (Array.isArray(value) && value.every((item) => typeof item === "number")) return value as Array<number>
      if (Array.isArray(value) && value.every((item) => typeof item === "boolean")) return value as Array<boolean>
      try {
        return JSON.stringify(value) ?? String(value)
      } catch {
        return String(value)
      }
  }
}

const attributesOf = (record: Record<string, unknown> | undefined): Attributes => {
  const attributes: Attributes = {}
  if (record !== undefined) {
    for (const key in record) {
      const value = attributeValue(record[key])
      if (value !== undefined) attributes[key] = value
    }
  }
  return attributes
}

const spanContextOf = (span: Tracer.AnySpan): SpanContext => ({
  traceId: span.traceId,
  spanId: span.spanId,
  traceFlags: span.sampled === false ? 0 : 1,
  isRemote: span._tag === "ExternalSpan"
})

/** Where ended spans go: a batch, or the exporter at once. */
export interface SpanSink {
  readonly resource: Resource
  readonly scope: { readonly name: string; readonly version?: string }
  readonly push: (span: ReadableSpan) => void
}

type Status = { readonly code: SpanStatusCode; readonly message?: string }
const succeeded: Status = { code: SpanStatusCode.OK }

/**
 * What an exporter reads of an ended span. Times and the span's own context are built when read: an exporter
 * reads them once, and a span waiting in a batch holds only its fields.
 */
class FinishedSpan implements ReadableSpan {
  readonly parentSpanContext?: SpanContext
  constructor(
    readonly name: string,
    readonly kind: SpanKind,
    private ownContext: SpanContext | undefined,
    private readonly traceId: string,
    private readonly spanId: string,
    parentSpanContext: SpanContext | undefined,
    private readonly start: bigint,
    private readonly end: bigint,
    readonly status: Status,
    readonly attributes: Attributes,
    readonly links: Array<Link>,
    readonly events: Array<TimedEvent>,
    private readonly sink: SpanSink
  ) {
    if (parentSpanContext !== undefined) this.parentSpanContext = parentSpanContext
  }

  // What every span of a sink shares is read through it: 200,000 spans waiting for export hold no copies.
  get resource(): Resource {
    return this.sink.resource
  }

  get instrumentationScope(): { readonly name: string; readonly version?: string } {
    return this.sink.scope
  }

  get ended(): boolean {
    return true
  }

  get droppedAttributesCount(): number {
    return 0
  }

  get droppedEventsCount(): number {
    return 0
  }

  get droppedLinksCount(): number {
    return 0
  }

  get startTime(): HrTime {
    return hrTime(this.start)
  }

  get endTime(): HrTime {
    return hrTime(this.end)
  }

  get duration(): HrTime {
    return hrDuration(this.end > this.start ? this.end - this.start : BigInt(0))
  }

  spanContext(): SpanContext {
    return this.ownContext ??= { traceId: this.traceId, spanId: this.spanId, traceFlags: 1, isRemote: false }
  }
}

const noEvents: Array<TimedEvent> = []
const noLinks: Array<Link> = []

/** An Effect span that becomes a `ReadableSpan` when it ends. */
class ExportingSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled: boolean
  links: ReadonlyArray<Tracer.SpanLink>
  private readonly values: Attributes = {}
  private events: Array<TimedEvent> | undefined = undefined
  private ownContext: SpanContext | undefined = undefined
  private endTime: bigint | undefined = undefined
  private exit: Exit.Exit<unknown, unknown> | undefined = undefined

  constructor(
    private readonly sink: SpanSink,
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    private readonly startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.links = links
    this.spanId = newSpanId()
    if (parent._tag === "Some") {
      this.traceId = parent.value.traceId
      this.sampled = parent.value.sampled !== false
    } else {
      this.traceId = newTraceId()
      this.sampled = true
    }
  }

  get status(): Tracer.SpanStatus {
    return this.endTime === undefined
      ? { _tag: "Started", startTime: this.startTime }
      : { _tag: "Ended", startTime: this.startTime, endTime: this.endTime, exit: this.exit! }
  }

  get attributes(): ReadonlyMap<string, unknown> {
    return new Map(Object.entries(this.values))
  }

  /** This span's context, one object shared with its children, which point at it. */
  spanContext(): SpanContext {
    return this.ownContext ??= { traceId: this.traceId, spanId: this.spanId, traceFlags: 1, isRemote: false }
  }

  attribute(key: string, value: unknown): void {
    const converted = attributeValue(value)
    if (converted !== undefined) this.values[key] = converted
  }

  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    ;(this.events ??= []).push({ name, time: hrTime(startTime), attributes: attributesOf(attributes) })
  }

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links = [...this.links, ...links]
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.endTime !== undefined) return
    this.endTime = endTime
    this.exit = exit
    if (!this.sampled) return
    const parent = this.parent
    const parentContext = parent._tag === "None"
      ? undefined
      : parent.value instanceof ExportingSpan
      ? parent.value.spanContext()
      : spanContextOf(parent.value)
    this.sink.push(
      new FinishedSpan(
        this.name,
        kinds[this.kind],
        this.ownContext,
        this.traceId,
        this.spanId,
        parentContext,
        this.startTime,
        endTime,
        this.statusOf(exit, endTime),
        this.values,
        this.links.length === 0
          ? noLinks
          : this.links.map((link) => ({ context: spanContextOf(link.span), attributes: attributesOf(link.attributes) })),
        this.events ?? noEvents,
        this.sink
      )
    )
  }

  /** As `@effect/opentelemetry` reports an outcome: an interruption is no error; a failure records its error. */
  private statusOf(exit: Exit.Exit<unknown, unknown>, endTime: bigint): Status {
    if (exit._tag === "Success") return succeeded
    if (Cause.isInterruptedOnly(exit.cause)) {
      this.values["span.label"] = "⚠︎ Interrupted"
      this.values["status.interrupted"] = true
      return succeeded
    }
    const error = Cause.prettyErrors(exit.cause)[0]
    if (error === undefined) return succeeded
    this.event("exception", endTime, {
      "exception.type": error.name,
      "exception.message": error.message,
      "exception.stacktrace": Cause.pretty(exit.cause, { renderErrorCause: true })
    })
    return { code: SpanStatusCode.ERROR, message: error.message }
  }
}

/** An Effect tracer whose spans end up in `sink`. */
export const makeTracer = (sink: SpanSink): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind) =>
      new ExportingSpan(sink, name, parent, context, links, startTime, kind),
    context: (execution) => execution()
  })

export interface BatchOptions {
  readonly maxQueueSize: number
  readonly maxBatchSize: number
  readonly interval: Duration.DurationInput
}

const exportBatch = (exporter: SpanExporter, spans: Array<ReadableSpan>): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    // `ExportResultCode.SUCCESS` is 0; `@opentelemetry/core`, which names it, is not a peer of this library.
    exporter.export(spans, (result) => {
      if (result.code !== 0) {
        resume(Effect.logWarning(`span export failed: ${result.error?.message ?? "unknown error"}`))
      } else resume(Effect.void)
    })
  })

/**
 * Ended spans queued and exported in batches: every `interval`, as soon as a batch is full, and all that is left
 * when the scope closes. Past `maxQueueSize` waiting spans, new ones are dropped and counted, as the SDK's batch
 * processor does.
 */
export const batchingSink = (
  exporter: SpanExporter,
  resource: Resource,
  scope: SpanSink["scope"],
  options: BatchOptions
) =>
  Effect.gen(function*() {
    let queue: Array<ReadableSpan> = []
    // Batches cut from the queue, each taken only as it is handed to the exporter: the export loop and the
    // final drain share them, so that the loop, stopped mid-way when the scope closes, loses none.
    const batches: Array<Array<ReadableSpan>> = []
    let dropped = 0
    const full = yield* Effect.makeLatch(false)
    const nextBatch = (): Array<ReadableSpan> | undefined => {
      if (batches.length === 0 && queue.length > 0) {
        for (let i = 0; i < queue.length; i += options.maxBatchSize) batches.push(queue.slice(i, i + options.maxBatchSize))
        queue = []
        full.unsafeClose()
      }
      return batches.shift()
    }
    const drain: Effect.Effect<void> = Effect.suspend(() => {
      const batch = nextBatch()
      if (batch !== undefined) return Effect.zipRight(exportBatch(exporter, batch), drain)
      const lost = dropped
      dropped = 0
      return lost === 0 ? Effect.void : Effect.logWarning(`${lost} spans dropped: more than ${options.maxQueueSize} waited for export`)
    })
    const sink: SpanSink = {
      resource,
      scope,
      push: (span) => {
        if (queue.length >= options.maxQueueSize) {
          dropped++
          return
        }
        queue.push(span)
        if (queue.length === options.maxBatchSize) full.unsafeOpen()
      }
    }
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.race(full.await, Effect.sleep(options.interval)), drain)))
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(drain, Effect.promise(() => exporter.shutdown())).pipe(
        Effect.timeoutOption(Duration.seconds(30)),
        Effect.asVoid
      )
    )
    return sink
  })

/** Each ended span handed to the exporter at once (`batch: false`), for tests and debugging. */
export const immediateSink = (exporter: SpanExporter, resource: Resource, scope: SpanSink["scope"]) =>
  Effect.gen(function*() {
    let failed = 0
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        failed === 0 ? Effect.void : Effect.logWarning(`${failed} span exports failed`),
        Effect.promise(() => exporter.shutdown())
      )
    )
    const sink: SpanSink = {
      resource,
      scope,
      push: (span) =>
        exporter.export([span], (result) => {
          if (result.code !== 0) failed++
        })
    }
    return sink
  })
