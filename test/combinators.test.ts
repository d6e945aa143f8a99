import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import {
  DreamCascade,
  DreamSwarm,
  Orchestrator,
  type OrchestratorEvent,
  OrchestratorError,
  Provider,
  ProviderError,
  Workflow
} from "multi-agent-orchestration"
import { recorder, scripted } from "./helpers.js"

const echo = scripted({
  latency: "1 second",
  reply: (request) => Effect.succeed(`<${request.system ?? "agent"} on: ${request.prompt ?? ""}>`)
})

describe("Workflow.sequential", () => {
  it.effect("runs steps strictly one after another, each seeing the task and every earlier output", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({
        latency: "1 second",
        reply: (request) => Effect.succeed(`${request.system} done`)
      })
      const events = recorder()
      const pipeline = Workflow.sequential([
        Workflow.agent({ name: "outline", system: "outline" }),
        Workflow.agent({ name: "draft", system: "draft" }),
        Workflow.agent({ name: "edit", system: "edit" })
      ])
      const fiber = yield* Orchestrator.run(pipeline, "Write about tides", {
        config: { parallelExecution: true, maxConcurrentAgents: 10 },
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(log.calls.map((c) => c.startedAt), [0, 1000, 2000])
      assert.strictEqual(log.calls[0]!.request.prompt, "Write about tides")
      assert.strictEqual(log.calls[1]!.request.prompt, "Write about tides\n\n## Output of \"outline\"\n\noutline done")
      assert.include(log.calls[2]!.request.prompt!, "## Output of \"outline\"\n\noutline done\n\n## Output of \"draft\"\n\ndraft done")
      assert.strictEqual(result.finalSynthesis, "edit done")
      assert.deepStrictEqual(result.synthesisResults.map((s) => [s.level, s.content]), [
        ["step", "outline done"],
        ["step", "draft done"],
        ["step", "edit done"]
      ])
      assert.deepStrictEqual(result.agentResults.map((r) => r.agentId), ["outline/outline", "draft/draft", "edit/edit"])
    }))

  it.effect("a failing step stops the pipeline, and the result names it", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({
        reply: (request) =>
          request.system === "draft"
            ? Effect.fail(new ProviderError.InvalidRequest({ provider: "scripted", status: 400, detail: "too long" }))
            : Effect.succeed("ok")
      })
      const steps = ["outline", "draft", "edit"].map((name) => Workflow.agent({ name, system: name }))
      const stopped = yield* Orchestrator.run(Workflow.sequential(steps), "task").pipe(Effect.provide(layer))
      assert.strictEqual(stopped.status, "failed")
      assert.instanceOf(stopped.failure, OrchestratorError.StepFailed)
      assert.include(stopped.error!, "Step 2 (\"draft\") of \"sequential\" failed")
      assert.include(stopped.error!, "too long")
      assert.deepStrictEqual(log.calls.map((c) => c.request.system), ["outline", "draft"])

      const goneOn = yield* Orchestrator.run(Workflow.sequential(steps, { continueOnFailure: true }), "task").pipe(Effect.provide(layer))
      assert.strictEqual(goneOn.status, "completed")
      assert.deepStrictEqual(
        (goneOn.metadata.steps as Array<{ status: string }>).map((s) => s.status),
        ["completed", "failed", "completed"]
      )
    }))
})

describe("Workflow.conditional", () => {
  const adaptive = Workflow.conditional({
    condition: ({ context }) => Number(context.complexity) > 0.7,
    onTrue: DreamCascade.make({ belterCount: 3, drummerCount: 1, caminaCount: 1 }),
    onFalse: Workflow.agent({ name: "quick-answer" })
  })

  it.effect("takes either branch from the run context, and records the choice", () =>
    Effect.gen(function*() {
      const deep = recorder()
      const complex = yield* Orchestrator.run(adaptive, "Research quantum computing", {
        context: { complexity: 0.9 },
        onEvent: deep.onEvent
      }).pipe(Effect.provide(Provider.simulated()))
      assert.strictEqual(complex.metadata.branch, "true")
      assert.strictEqual(complex.agentResults.length, 5)
      assert.deepStrictEqual(deep.ofType("branch_selected")[0]!.data, { branch: "true", selected: "true", workflow: "dream-cascade" })

      const quick = yield* Orchestrator.run(adaptive, "What is a qubit?", { context: { complexity: 0.2 } }).pipe(
        Effect.provide(Provider.simulated())
      )
      assert.strictEqual(quick.metadata.branch, "false")
      assert.deepStrictEqual(quick.agentResults.map((r) => r.agentId), ["false/quick-answer"])
    }))

  it.effect("the condition can ask a model, and that call is metered", () =>
    Effect.gen(function*() {
      const rated = Workflow.conditional({
        condition: ({ task }) => Effect.map(Workflow.rate(`How complex is this task, from 0 to 1?\nTask: ${task}`), (j) => j.score > 0.5),
        onTrue: Workflow.agent({ name: "deep" }),
        onFalse: Workflow.agent({ name: "shallow" })
      })
      const { layer } = scripted({
        reply: (request) => Effect.succeed(request.system?.includes("judge") === true ? "```json\n{\"score\": 0.8, \"critique\": \"hard\"}\n```" : "answer"),
        usage: { inputTokens: 1000, outputTokens: 100 }
      })
      const result = yield* Orchestrator.run(rated, "Prove the Riemann hypothesis", { config: { primaryModel: "gpt-4o" } }).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(result.metadata.branch, "true")
      assert.strictEqual(result.costs!.byTier.condition!.calls, 1)
    }))

  it.effect("the keyed form takes the default for an unknown key, and fails clearly without one", () =>
    Effect.gen(function*() {
      const keyed = (withDefault: boolean) =>
        Workflow.conditional({
          select: ({ context }) => String(context.audience),
          branches: { expert: Workflow.agent({ name: "expert" }), novice: Workflow.agent({ name: "novice" }) },
          ...(withDefault ? { default: "novice" as const } : {})
        })
      const taken = yield* Orchestrator.run(keyed(true), "Explain entropy", { context: { audience: "child" } }).pipe(
        Effect.provide(Provider.simulated())
      )
      assert.deepStrictEqual([taken.metadata.branch, taken.metadata.selected], ["novice", "child"])
      const refused = yield* Orchestrator.run(keyed(false), "Explain entropy", { context: { audience: "child" } }).pipe(
        Effect.provide(Provider.simulated())
      )
      assert.instanceOf(refused.failure, OrchestratorError.ConditionFailed)
      assert.include(refused.error!, "it chose \"child\", which is none of the branches (expert, novice), and there is no default")
    }))
})

describe("Workflow.iterate", () => {
  it.effect("stops at convergence; each iteration is announced with its score and kept", () =>
    Effect.gen(function*() {
      const events = recorder()
      const loop = Workflow.agent({ name: "essay" }).pipe(Workflow.iterate({ maxIterations: 6, until: (r) => r.score > 0.9 }))
      const result = yield* Orchestrator.run(loop, "Write about tides", { onEvent: events.onEvent }).pipe(
        Effect.provide(Provider.simulated())
      )
      const scores = events.ofType("iteration_complete").map((e) => [e.data.iteration, e.data.score, e.data.converged])
      assert.deepStrictEqual(scores.map(([i, , converged]) => [i, converged]), [[1, false], [2, false], [3, false], [4, true]])
      const values = scores.map(([, score]) => score as number)
      values.slice(1).forEach((score, i) => assert.isAbove(score, values[i]!))
      assert.isAbove(values.at(-1)!, 0.9)
      assert.deepStrictEqual(events.ofType("iteration_start").map((e) => e.data.iteration), [1, 2, 3, 4])
      assert.strictEqual(result.metadata.converged, true)
      assert.strictEqual(result.metadata.chosenIteration, 4)
      assert.strictEqual(result.synthesisResults.filter((s) => s.level === "iteration").length, 4)
      assert.strictEqual(result.agentResults.length, 4)
      assert.strictEqual(result.costs!.byTier.judge!.calls, 4)
      assert.strictEqual(events.events.at(-1)!.progress, 100)
    }))

  it.effect("carries the previous synthesis and critique into the next task; without convergence keeps the best", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ reply: (request) => Effect.succeed(`draft ${log.calls.length}: ${request.prompt!.length}`) })
      const scores = [0.3, 0.8, 0.5]
      const loop = Workflow.iterate(Workflow.agent({ name: "essay" }), {
        maxIterations: 3,
        score: (iteration) => ({ score: scores[iteration.iteration - 1]!, critique: `critique ${iteration.iteration}` })
      })
      const result = yield* Orchestrator.run(loop, "Write about tides").pipe(Effect.provide(layer))
      assert.strictEqual(log.calls.length, 3)
      const second = log.calls[1]!.request.prompt!
      assert.include(second, "Write about tides")
      assert.include(second, "Previous draft (iteration 1, score 0.30):\ndraft 1:")
      assert.include(second, "Critique of the previous draft:\ncritique 1")
      assert.strictEqual(result.status, "completed")
      assert.strictEqual(result.metadata.converged, false)
      assert.strictEqual(result.metadata.chosenIteration, 2)
      assert.strictEqual(result.finalSynthesis, result.synthesisResults.filter((s) => s.level === "iteration")[1]!.content)
    }))

  it.effect("a judge reply that is not a score fails with what was wrong", () =>
    Effect.gen(function*() {
      const { layer } = scripted({
        reply: (request) => Effect.succeed(request.system?.includes("judge") === true ? "{\"score\": \"great\"}" : "draft")
      })
      const result = yield* Orchestrator.run(Workflow.iterate(Workflow.agent({ name: "essay" }), { maxIterations: 2 }), "task").pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(result.status, "failed")
      assert.instanceOf(result.failure, OrchestratorError.ScoringFailed)
      assert.include(result.error!, "Scoring iteration 1 of \"iterate(essay)\" failed")
      assert.include(result.error!, "score")
    }))
})

describe("Workflow.parallel", () => {
  it.effect("runs workflows side by side under one concurrency limit, then merges them", () =>
    Effect.gen(function*() {
      const { layer, log } = echo
      const both = Workflow.parallel([
        DreamSwarm.make({ numAgents: 3, domains: ["news", "academic", "technical"] }),
        Workflow.agent({ name: "overview", system: "overview" })
      ])
      const fiber = yield* Orchestrator.run(both, "Heat pumps", { config: { maxConcurrentAgents: 2 } }).pipe(
        Effect.provide(layer),
        Effect.fork
      )
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      assert.isAtMost(log.maxInFlight, 3) // two agents plus a decomposition call at most
      assert.match(result.finalSynthesis!, /^## dream-swarm\n\n[\s\S]+\n\n## overview\n\n<overview on: Heat pumps>$/)
      assert.deepStrictEqual(result.synthesisResults.filter((s) => s.level === "branch").map((s) => s.metadata.branch), [
        "dream-swarm",
        "overview"
      ])
    }))
})

describe("composition", () => {
  it.effect("a three-level nested run: events form the right tree, costs roll up, one concurrency limit", () =>
    Effect.gen(function*() {
      const events = recorder()
      const { layer, log } = scripted({
        latency: "1 second",
        reply: (request) =>
          Effect.succeed(
            request.system?.includes("numbered list") === true
              ? "1. one\n2. two\n3. three\n4. four"
              : request.system?.includes("judge") === true
              ? "{\"score\": 0.95}"
              : "content"
          ),
        usage: { inputTokens: 100, outputTokens: 10 }
      })
      const nested = Workflow.sequential([
        DreamSwarm.make({ numAgents: 4, domains: ["arxiv", "news"] }),
        Workflow.iterate(
          Workflow.conditional({
            condition: () => true,
            onTrue: DreamCascade.make({ belterCount: 4, drummerCount: 2, caminaCount: 1 }),
            onFalse: Workflow.agent({ name: "single" })
          }),
          { maxIterations: 2, until: (r) => r.score > 0.9 }
        )
      ], { name: "research-pipeline" })
      const fiber = yield* Orchestrator.run(nested, "Grid-scale storage", {
        taskId: "root",
        config: { maxConcurrentAgents: 3, primaryModel: "gpt-4o-mini" },
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("10 minutes")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")

      // The tree: every nested workflow starts under a parent that started before it.
      const parents = new Map<string, string | undefined>()
      const names = new Map<string, string>()
      for (const event of events.ofType("workflow_start")) {
        if (event.parentId !== undefined) assert.isTrue(parents.has(event.parentId), `parent of ${event.workflowId}`)
        parents.set(event.workflowId, event.parentId)
        names.set(event.workflowId, event.data.workflow)
      }
      const depth = (id: string): number => (parents.get(id) === undefined ? 0 : 1 + depth(parents.get(id)!))
      const tree = [...parents.keys()].map((id) => [depth(id), names.get(id)])
      assert.deepStrictEqual(tree, [
        [0, "research-pipeline"],
        [1, "dream-swarm"],
        [1, "iterate(conditional)"],
        [2, "conditional"],
        [3, "dream-cascade"]
      ])
      // Every agent event belongs to a workflow of the tree, and each nested workflow ends once.
      const isAgentEvent = (e: OrchestratorEvent.OrchestratorEvent) => e.type.startsWith("agent_")
      assert.isTrue(events.events.filter(isAgentEvent).every((e) => parents.has(e.workflowId)))
      const ends = events.events.filter((e) => e.type === "workflow_complete" && e.parentId !== undefined)
      assert.strictEqual(ends.length, 4)
      assert.strictEqual(events.events.filter((e) => e.type === "workflow_complete" && e.parentId === undefined).length, 1)

      // Costs and usage roll up: every call is in the outer total.
      assert.strictEqual(result.costs!.total.calls, log.calls.length)
      assert.deepStrictEqual(result.usage, { inputTokens: 100 * log.calls.length, outputTokens: 10 * log.calls.length })
      const iterationCost = events.events.find((e) =>
        e.type === "workflow_complete" && names.get(e.workflowId) === "iterate(conditional)"
      ) as OrchestratorEvent.Of<"workflow_complete">
      assert.isAbove(iterationCost.data.totalCost, 0)
      assert.isBelow(iterationCost.data.totalCost, result.totalCost)
      // One concurrency limit for the whole nested run.
      assert.isAtMost(log.maxInFlight, 3)
      assert.strictEqual(log.maxInFlight, 3)
      assert.isTrue(result.agentResults.some((r) => r.agentId.startsWith("iterate-conditional/iteration-1/true/belter")))
    }))
})
