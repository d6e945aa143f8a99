/** Export over OTLP/HTTP (JSON) through `@effect/opentelemetry`'s exporters; loaded only when asked for. */
import * as OtlpMetrics from "@effect/opentelemetry/OtlpMetrics"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"

export interface OtlpOptions {
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  readonly otlpUrl: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly exportInterval?: Duration.DurationInput | undefined
}

export const layer = (options: OtlpOptions): Layer.Layer<never> => {
  const base = options.otlpUrl.replace(/\/+$/, "")
  const resource = { serviceName: options.serviceName, serviceVersion: options.serviceVersion }
  const common = { resource, headers: options.headers, exportInterval: options.exportInterval }
  return Layer.mergeAll(
    OtlpTracer.layer({ url: `${base}/v1/traces`, ...common }),
    OtlpMetrics.layer({ url: `${base}/v1/metrics`, ...common })
  ).pipe(Layer.provide(Layer.merge(OtlpSerialization.layerJson, FetchHttpClient.layer)))
}
