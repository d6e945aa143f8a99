/**
 * OpenTelemetry traces and metrics of runs. Under one of these layers every run draws a span tree (run →
 * workflow → nested workflows → agent → provider call, one span per attempt; decomposition, synthesis and
 * judge steps too) with the GenAI semantic conventions' attributes, and records the library's metrics.
 * Without one, runs pay nothing for either.
 *
 * `layer` exports over OTLP/HTTP; `layerExporter` exports to any OpenTelemetry `SpanExporter` (an in-memory
 * one in tests); `instrument` only switches the spans and metrics on, for programs that set up their own
 * tracer. The exporters need `@effect/opentelemetry` and its `@opentelemetry/*` peers, loaded only here.
 *
 * @since 0.1.0
 */
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import type { SpanExporter } from "@opentelemetry/sdk-trace-base"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internalMetrics from "./internal/telemetry/metrics.js"
import { TelemetrySettings } from "./internal/telemetry/run.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface InstrumentOptions {
  /**
   * Record prompts and completions on provider-call spans (`gen_ai.system_instructions`,
   * `gen_ai.input.messages`, `gen_ai.output.messages`). Default: false: they may hold personal data.
   */
  readonly recordContent?: boolean | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options extends InstrumentOptions {
  /** `service.name` of the resource. */
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  /** The OTLP/HTTP endpoint's base URL, e.g. `http://localhost:4318`: traces go to `/v1/traces`, metrics to `/v1/metrics`. */
  readonly otlpUrl: string
  /** Extra request headers, e.g. a collector's auth token. */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** How often batches are sent. Default: 5 seconds; whatever is left is sent when the layer closes. */
  readonly exportInterval?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface ExporterOptions extends InstrumentOptions {
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  /** Where finished spans go. */
  readonly spanExporter: SpanExporter
  /** Reads the library's metrics (and every other Effect metric), if given. */
  readonly metricReader?: MetricReader | undefined
  /** Batch spans before export (default), or hand each to the exporter as it ends (`false`, for tests). */
  readonly batch?: boolean | undefined
  /**
   * The most spans that may wait for export; past it, spans are dropped (as the SDK does) and a warning says
   * how many. Default: 65,536. The exporter's callbacks run on the event loop, so a run that never waits
   * (thousands of agents with no latency) can fill it: 100,000 such agents make 200,000 spans.
   */
  readonly maxQueueSize?: number | undefined
}

const load = <A>(what: string, packages: string, load: () => Promise<A>): Effect.Effect<A> =>
  Effect.tryPromise(load).pipe(
    Effect.catchAll((error) =>
      Effect.dieMessage(
        `${what} needs the packages ${packages}: npm install ${packages}. ${
          error.cause instanceof Error ? error.cause.message : String(error.cause)
        }`
      )
    )
  )

/**
 * Turns on the spans and metrics of runs, exported by whatever tracer and metric exporter the program has set
 * up itself (for example its own `NodeSdk.layer` from `@effect/opentelemetry`).
 *
 * @since 0.1.0
 * @category Layers
 */
export const instrument = (options: InstrumentOptions = {}): Layer.Layer<never> =>
  Layer.succeed(TelemetrySettings, { enabled: true, recordContent: options.recordContent === true })

/**
 * Traces and metrics of runs, exported over OTLP/HTTP (JSON) to a collector or any backend that takes OTLP
 * (Jaeger, Tempo, Honeycomb, ...). Needs `@effect/opentelemetry` and `@effect/platform`.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { DreamCascade, Orchestrator, Provider, Telemetry } from "multi-agent-orchestration"
 *
 * const program = Orchestrator.run(DreamCascade.make(), "Research quantum computing applications").pipe(
 *   Effect.provide(Layer.merge(
 *     Provider.simulated(),
 *     Telemetry.layer({ serviceName: "research", otlpUrl: "http://localhost:4318" })
 *   ))
 * )
 * ```
 */
export const layer = (options: Options): Layer.Layer<never> =>
  Layer.merge(
    instrument(options),
    Layer.unwrapEffect(
      Effect.map(
        load("Telemetry.layer", "@effect/opentelemetry @effect/platform", () => import("./internal/telemetry/otlp.js")),
        (module) => module.layer(options)
      )
    )
  )

/**
 * Traces and metrics of runs, exported to any OpenTelemetry `SpanExporter` (and `MetricReader`): the SDK's
 * own OTLP, Zipkin or console exporters, or an `InMemorySpanExporter` in tests. Spans are Effect spans that
 * become `ReadableSpan`s as they end, without the SDK's span objects (a tenth of their cost), and go to the
 * exporter in batches of up to 2,048: when a batch is full, every 5 seconds, and all that is left when the
 * layer closes. Needs `@effect/opentelemetry` and its `@opentelemetry/*` peers.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerExporter = (options: ExporterOptions): Layer.Layer<never> =>
  Layer.merge(
    instrument(options),
    Layer.unwrapEffect(
      Effect.map(
        load(
          "Telemetry.layerExporter",
          "@effect/opentelemetry @opentelemetry/api @opentelemetry/sdk-trace-base @opentelemetry/sdk-trace-node @opentelemetry/sdk-metrics @opentelemetry/sdk-logs @opentelemetry/resources @opentelemetry/semantic-conventions",
          () => import("./internal/telemetry/sdk.js")
        ),
        (module) => module.layer(options)
      )
    )
  )

/**
 * The library's metrics, as Effect `Metric`s: read one with `Metric.value`, tagged with its labels in the
 * order given.
 *
 * - `tokens`: counter, labels `gen_ai.response.model`, `gen_ai.token.type` (`input` / `output`);
 * - `cost`: counter in USD, label `gen_ai.response.model`;
 * - `callDuration` (`gen_ai.client.operation.duration`): histogram of provider-call attempts in seconds,
 *   labels `gen_ai.request.model`, `error.type` (`none` on success);
 * - `retries`: counter, labels `error.type` (the error's tag), `orchestration.retry.kind` (`retry` / `fallback`);
 * - `agentsInFlight`: gauge of the agents running now;
 * - `budgetUsed`: gauge, the share of `maxTotalCost` spent by the latest charged run (runs with a budget).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const metrics = {
  tokens: internalMetrics.tokens,
  cost: internalMetrics.cost,
  callDuration: internalMetrics.callDuration,
  retries: internalMetrics.retries,
  agentsInFlight: internalMetrics.agentsInFlight,
  budgetUsed: internalMetrics.budgetUsed
} as const
