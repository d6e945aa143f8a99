/** Export through the OpenTelemetry SDK, to any `SpanExporter` and `MetricReader`; loaded only when asked for. */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Tracer from "effect/Tracer"

export interface SdkOptions {
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  readonly spanExporter: SpanExporter
  readonly metricReader?: MetricReader | undefined
  readonly batch?: boolean | undefined
  readonly maxQueueSize?: number | undefined
}

/**
 * The SDK's tracer without its per-step context hand-off: `@effect/opentelemetry` enters the OpenTelemetry
 * context of the current span on every step of every fiber, for the sake of non-Effect instrumentation,
 * which costs more than the spans themselves on a wide run. Spans, parents and export are unchanged.
 */
const withoutContextPropagation = Layer.unwrapEffect(
  Effect.map(Effect.tracer, (tracer) =>
    Layer.setTracer(Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) =>
        tracer.span(name, parent, context, links, startTime, kind, options),
      context: (execution) => execution()
    })))
)

export const layer = (options: SdkOptions): Layer.Layer<never> =>
  Layer.provide(
    withoutContextPropagation,
    NodeSdk.layer(() => ({
      resource: options.serviceVersion === undefined
        ? { serviceName: options.serviceName }
        : { serviceName: options.serviceName, serviceVersion: options.serviceVersion },
      spanProcessor: options.batch === false
        ? new SimpleSpanProcessor(options.spanExporter)
        // The SDK's default queue (2,048 spans) drops spans of a wide run: 10,000 agents end within a second.
        : new BatchSpanProcessor(options.spanExporter, {
          maxQueueSize: options.maxQueueSize ?? 65_536,
          maxExportBatchSize: 2_048
        }),
      metricReader: options.metricReader
    }))
  )
