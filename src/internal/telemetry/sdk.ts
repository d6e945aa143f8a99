/** Export to any OpenTelemetry `SpanExporter` and `MetricReader`; loaded only when asked for. */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import type { SpanExporter } from "@opentelemetry/sdk-trace-base"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { batchingSink, immediateSink, makeTracer } from "./exporter.js"

export interface SdkOptions {
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  readonly spanExporter: SpanExporter
  readonly metricReader?: MetricReader | undefined
  readonly batch?: boolean | undefined
  readonly maxQueueSize?: number | undefined
}

/** Spans from `makeTracer`, exported through the given exporter; metrics through the SDK's reader. */
export const layer = (options: SdkOptions): Layer.Layer<never> =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      const resource = yield* Resource.Resource
      const scope = { name: "multi-agent-orchestration" }
      const sink = options.batch === false
        ? yield* immediateSink(options.spanExporter, resource, scope)
        : yield* batchingSink(options.spanExporter, resource, scope, {
          // The SDK's default queue (2,048 spans) drops spans of a wide run: 10,000 agents end within a second.
          maxQueueSize: options.maxQueueSize ?? 65_536,
          maxBatchSize: 2_048,
          interval: Duration.seconds(5)
        })
      return Layer.setTracer(makeTracer(sink))
    })
  ).pipe(
    Layer.provide(NodeSdk.layer(() => ({
      resource: options.serviceVersion === undefined
        ? { serviceName: options.serviceName }
        : { serviceName: options.serviceName, serviceVersion: options.serviceVersion },
      metricReader: options.metricReader
    })))
  )
