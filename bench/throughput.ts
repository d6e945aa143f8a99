/**
 * W1: the cost of the orchestration itself. N independent subtasks on the simulated provider with no
 * latency, at concurrency 100, with events delivered to a callback and cost tracking on; beside it, the same
 * work as plain Promises behind p-limit.
 */
import { Effect, Layer } from "effect"
import { Orchestrator, Pricing, Provider, SubTask, Workflow } from "multi-agent-orchestration"
import pLimit from "p-limit"

const concurrency = 100
const model = "gpt-4o-mini"
// The reference agent of the comparisons: a reply of about 200 characters (50 tokens).
const maxTokens = 50

/** The input of both engines, built before the clock starts: running subtasks is the work measured. */
export const makeSubTasks = (n: number): ReadonlyArray<SubTask.SubTask> =>
  Array.from({ length: n }, (_, i) =>
    new SubTask.SubTask({ id: `s${i}`, description: `Research item ${i}: collect what is known and summarise it` }, true))

/** The library: decompose into the subtasks, run them, synthesise a one-line count. */
export const runLibrary = async (
  subtasks: ReadonlyArray<SubTask.SubTask>,
  /** Layered on top of the provider, e.g. a telemetry layer. */
  extra: Layer.Layer<never> = Layer.empty
): Promise<{ readonly events: number; readonly cost: number }> => {
  const n = subtasks.length
  let events = 0
  const workflow = Workflow.make({
    name: "throughput",
    decompose: () => Effect.succeed(subtasks),
    execute: (subtask) =>
      Effect.map(Provider.complete({ prompt: subtask.description, maxTokens }), (completion) => completion.content),
    synthesize: (results) => Effect.succeed(`${results.length} results`)
  })
  const result = await Effect.runPromise(
    Orchestrator.run(workflow, "throughput", {
      config: { maxConcurrentAgents: concurrency, primaryModel: model, maxRetries: 2, timeoutSeconds: 300 },
      onEvent: () => {
        events++
      }
    }).pipe(Effect.provide(Layer.merge(Provider.simulated(), extra)))
  )
  if (result.status !== "completed" || result.agentResults.length !== n) throw new Error(`run ${result.status}`)
  return { events, cost: result.totalCost }
}

/**
 * The per-agent work of both baselines: the two events, the simulated reply, its price, the run's total and
 * the agent's line.
 */
const baselineAgents = (n: number) => {
  const pricing = Pricing.make()
  let events = 0
  const onEvent = (_event: unknown) => {
    events++
  }
  let total = 0
  const byAgent = new Map<string, number>()
  const agent = (subtask: SubTask.SubTask) => {
    const started = performance.now()
    onEvent({ type: "agent_start", agentId: subtask.id, timestamp: Date.now() })
    const content = Provider.simulatedReply({ prompt: subtask.description, maxTokens })
    const usage = { inputTokens: Math.ceil(subtask.description.length / 4), outputTokens: Math.ceil(content.length / 4) }
    const { cost } = pricing.cost(model, usage)
    total += cost
    byAgent.set(subtask.id, cost)
    const result = { agentId: subtask.id, content, status: "completed", cost, usage, executionTime: 0 }
    result.executionTime = (performance.now() - started) / 1000
    onEvent({ type: "agent_complete", agentId: subtask.id, timestamp: Date.now(), data: result })
    return result
  }
  const end = (results: ReadonlyArray<unknown>) => {
    if (results.length !== n) throw new Error("baseline lost results")
    return { events, cost: total }
  }
  return { agent, end }
}

/** The baseline: the same work with plain Promises behind p-limit. */
export const runBaseline = async (
  subtasks: ReadonlyArray<SubTask.SubTask>
): Promise<{ readonly events: number; readonly cost: number }> => {
  const { agent, end } = baselineAgents(subtasks.length)
  const limit = pLimit(concurrency)
  return end(await Promise.all(subtasks.map((subtask) => limit(async () => agent(subtask)))))
}

/** The same work as bare Effect: `Effect.forEach` at the same concurrency. */
export const runBareEffect = async (
  subtasks: ReadonlyArray<SubTask.SubTask>
): Promise<{ readonly events: number; readonly cost: number }> => {
  const { agent, end } = baselineAgents(subtasks.length)
  return end(await Effect.runPromise(Effect.forEach(subtasks, (subtask) => Effect.sync(() => agent(subtask)), { concurrency })))
}
