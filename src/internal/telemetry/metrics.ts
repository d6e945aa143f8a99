import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

// Every metric the library records, in one place. They are recorded only under a telemetry layer (see
// `Telemetry.instrument`), so that a run without one pays nothing for them. Label order is fixed, and part
// of each metric's identity: read a value back with the labels in the order given here.

/** Tokens used, labelled `gen_ai.response.model` then `gen_ai.token.type` (`input` or `output`). */
export const tokens = Metric.counter("orchestration.tokens", {
  description: "Tokens used by provider calls, by model and direction",
  incremental: true
})

/** Cost in USD, labelled `gen_ai.response.model`. */
export const cost = Metric.counter("orchestration.cost", {
  description: "Cost of provider calls in USD, by model",
  incremental: true
})

/**
 * The duration of each provider call attempt in seconds, labelled `gen_ai.request.model`, then `error.type`
 * (`none` for a success). The boundaries are the GenAI semantic conventions' advice.
 */
export const callDuration = Metric.histogram(
  "gen_ai.client.operation.duration",
  MetricBoundaries.exponential({ start: 0.01, factor: 2, count: 14 }),
  "Duration of provider call attempts in seconds"
)

/** Retries, labelled `error.type` (the error's tag) then `orchestration.retry.kind` (`retry` or `fallback`). */
export const retries = Metric.counter("orchestration.retries", {
  description: "Provider calls tried again after a transient failure, by error tag",
  incremental: true
})

/** Agents running now, across every run of the process. */
export const agentsInFlight = Metric.gauge("orchestration.agents.in_flight", {
  description: "Agents running now"
})

/** The share (0–1) of `maxTotalCost` the latest charged run has spent; set only for runs with a budget. */
export const budgetUsed = Metric.gauge("orchestration.budget.used", {
  description: "Share of the run's maxTotalCost spent so far"
})
