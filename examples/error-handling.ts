/**
 * The README's error handling: a failed run says why, a failed agent is a result with its reason, and bad
 * configuration is refused before anything runs.
 *
 *   npx tsx examples/error-handling.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect } from "effect"
import { Orchestrator, Provider, ProviderError, SubTask, Workflow } from "multi-agent-orchestration"

const workflow = Workflow.make({
  name: "three-lookups",
  decompose: () =>
    Effect.succeed(["alpha", "beta", "gamma"].map((id) => new SubTask.SubTask({ id, description: `Look up ${id}` }))),
  execute: (subtask) => Provider.complete({ prompt: subtask.description }).pipe(Effect.map((c) => c.content))
})

// Every call to "beta" fails permanently; the first call overall is rate-limited once and retried.
const flaky = Provider.make(
  (request) =>
  request.prompt === "Look up beta"
    ? Effect.fail(new ProviderError.InvalidRequest({ provider: "demo", model: request.model, status: 400, detail: "unknown entity" }))
    : Effect.succeed({ content: `Found ${request.prompt}`, model: request.model ?? "demo", usage: { inputTokens: 10, outputTokens: 5 } }),
  { name: "demo", defaultModel: "demo-model" }
)

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(workflow, "Look things up", { config: { maxRetries: 2 } })
  if (result.status === "failed") {
    yield* Console.log(`Workflow failed: ${result.error}`)
  } else if (result.status === "completed") {
    for (const agent of result.agentResults) {
      if (agent.status === "failed") yield* Console.log(`Agent ${agent.agentId} failed: ${agent.error}`)
    }
  }

  // Invalid configuration never reaches a provider: every problem is listed at once.
  const refused = yield* Orchestrator.run(workflow, "Look things up", {
    config: { maxConcurrentAgents: 0, timeoutSeconds: -1 }
  }).pipe(Effect.flip)
  yield* Console.log(`Refused: ${refused.message}`)

  // A transient failure is retried: the simulated provider rate-limits its first call for 2 seconds.
  const retried = yield* Orchestrator.run(workflow, "Look things up", {
    onEvent: (event) =>
      event.type === "agent_retry" ? Console.log(`Retrying ${event.agentId} in ${event.data.delayMillis} ms: ${event.data.reason}`) : Effect.void
  }).pipe(Effect.provide(Provider.simulated({
    failures: {
      calls: [1],
      error: ({ model }) => new ProviderError.RateLimited({ provider: "simulated", model, retryAfter: Duration.seconds(2) })
    }
  })))
  yield* Console.log(`After retrying: ${retried.status}`)
})

program.pipe(Effect.provide(flaky), NodeRuntime.runMain)
