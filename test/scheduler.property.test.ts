import { assert, describe, it } from "@effect/vitest"
import { Data, Duration, Effect, FastCheck, Fiber, TestClock } from "effect"
import { Orchestrator, Provider, SubTask, Workflow } from "multi-agent-orchestration"

// Random DAGs with random latencies, failures and concurrency limits, run under the TestClock. Each case is
// drawn from a fixed seed, so a failure names a case that reproduces.

interface Node {
  readonly dependencies: ReadonlyArray<number>
  readonly latencyMillis: number
  readonly fails: boolean
  readonly priority: number
}

interface Case {
  readonly nodes: ReadonlyArray<Node>
  readonly limit: number
  readonly parallel: boolean
}

// Node i depends only on nodes before it, so every drawn graph is acyclic.
const dagCase: FastCheck.Arbitrary<Case> = FastCheck.integer({ min: 1, max: 40 }).chain((size) =>
  FastCheck.record({
    nodes: FastCheck.tuple(
      ...Array.from({ length: size }, (_, i) =>
        FastCheck.record({
          dependencies: i === 0
            ? FastCheck.constant([])
            : FastCheck.uniqueArray(FastCheck.integer({ min: 0, max: i - 1 }), { maxLength: Math.min(i, 4) }),
          latencyMillis: FastCheck.integer({ min: 0, max: 50 }),
          fails: FastCheck.integer({ min: 0, max: 4 }).map((draw) => draw === 0),
          priority: FastCheck.integer({ min: 0, max: 3 })
        }))
    ),
    limit: FastCheck.integer({ min: 1, max: 8 }),
    parallel: FastCheck.boolean()
  })
)

class AgentBroke extends Data.TaggedError("AgentBroke")<{ readonly id: string }> {}

// Starts and ends are numbered in the order they happen, so that order is checked even within one instant.
interface Trace {
  order: number
  readonly started: Map<string, number>
  readonly ended: Map<string, number>
  inFlight: number
  maxInFlight: number
  runs: Map<string, number>
}

const workflowFor = (testCase: Case, trace: Trace) => {
  const subtasks = testCase.nodes.map((node, i) =>
    new SubTask.SubTask({
      id: `n${i}`,
      description: `node ${i}`,
      dependencies: node.dependencies.map((d) => `n${d}`),
      priority: node.priority
    })
  )
  return Workflow.make({
    name: "random-dag",
    decompose: () => Effect.succeed(subtasks),
    execute: (subtask) =>
      Effect.gen(function*() {
        const node = testCase.nodes[Number(subtask.id.slice(1))]!
        trace.runs.set(subtask.id, (trace.runs.get(subtask.id) ?? 0) + 1)
        trace.started.set(subtask.id, trace.order++)
        trace.inFlight++
        trace.maxInFlight = Math.max(trace.maxInFlight, trace.inFlight)
        yield* Effect.sleep(Duration.millis(node.latencyMillis))
        trace.inFlight--
        trace.ended.set(subtask.id, trace.order++)
        if (node.fails) return yield* new AgentBroke({ id: subtask.id })
        return `done ${subtask.id}`
      }),
    synthesize: (results) => Effect.succeed(`${results.length} results`)
  })
}

describe("the DAG scheduler, on random graphs", () => {
  it.effect("never exceeds the limit, never starts a node before its dependencies, accounts for every node once", () =>
    Effect.gen(function*() {
      const cases = FastCheck.sample(dagCase, { numRuns: 60, seed: 20261201 })
      for (const [caseNumber, testCase] of cases.entries()) {
        const trace: Trace = { order: 0, started: new Map(), ended: new Map(), inFlight: 0, maxInFlight: 0, runs: new Map() }
        const limit = testCase.parallel ? testCase.limit : 1
        const fiber = yield* Orchestrator.run(workflowFor(testCase, trace), "random", {
          config: { maxConcurrentAgents: testCase.limit, parallelExecution: testCase.parallel, timeoutSeconds: 60 }
        }).pipe(Effect.provide(Provider.simulated()), Effect.fork)
        const total = testCase.nodes.reduce((sum, node) => sum + node.latencyMillis, 0)
        yield* TestClock.adjust(Duration.millis(total + 1))
        const result = yield* Fiber.join(fiber)
        const label = `case ${caseNumber} (${testCase.nodes.length} nodes, limit ${limit})`

        // The limit holds, and is reached when enough work is ready.
        assert.isAtMost(trace.maxInFlight, limit, label)
        // Every node ran once, and has exactly one result.
        assert.strictEqual(result.agentResults.length, testCase.nodes.length, label)
        assert.strictEqual(new Set(result.agentResults.map((r) => r.subtaskId)).size, testCase.nodes.length, label)
        for (let i = 0; i < testCase.nodes.length; i++) {
          const id = `n${i}`
          assert.strictEqual(trace.runs.get(id), 1, `${label}: ${id} ran ${trace.runs.get(id) ?? 0} times`)
          const agent = result.agentResults.find((r) => r.subtaskId === id)!
          assert.strictEqual(agent.status, testCase.nodes[i]!.fails ? "failed" : "completed", `${label}: ${id}`)
          // No node starts before every one of its dependencies has ended.
          for (const dependency of testCase.nodes[i]!.dependencies) {
            assert.isAbove(trace.started.get(id)!, trace.ended.get(`n${dependency}`)!, `${label}: ${id} after n${dependency}`)
          }
        }
        const failing = testCase.nodes.filter((node) => node.fails).length
        assert.strictEqual(result.status, failing === testCase.nodes.length ? "failed" : "completed", label)
      }
    }), { timeout: 120_000 })
})
