/** Export through the OpenTelemetry SDK, to any `SpanExporter` and `MetricReader`; loaded only when asked for. */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base"
import * as Layer from "effect/Layer"

export interface SdkOptions {
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  readonly spanExporter: SpanExporter
  readonly metricReader?: MetricReader | undefined
  readonly batch?: boolean | undefined
}

export const layer = (options: SdkOptions): Layer.Layer<never> =>
  NodeSdk.layer(() => ({
    resource: options.serviceVersion === undefined
      ? { serviceName: options.serviceName }
      : { serviceName: options.serviceName, serviceVersion: options.serviceVersion },
    spanProcessor: options.batch === false
      ? new SimpleSpanProcessor(options.spanExporter)
      : new BatchSpanProcessor(options.spanExporter),
    metricReader: options.metricReader
  }))
