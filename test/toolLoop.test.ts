import { Tool, Toolkit } from "@effect/ai"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Schema, TestClock } from "effect"
import { Agent, AgentError, Orchestrator, Pricing, Provider, SubTask, Workflow } from "multi-agent-orchestration"
import { recorder } from "./helpers.js"

const Lookup = Tool.make("lookup", {
  description: "Look a term up in the glossary",
  parameters: { term: Schema.String },
  success: Schema.Struct({ definition: Schema.String })
})
const Strict = Tool.make("strict", {
  description: "Fails in the error channel",
  parameters: { term: Schema.String },
  success: Schema.String,
  failure: Schema.Struct({ reason: Schema.String })
})
const tools = Toolkit.make(Lookup, Strict)

const handlersWith = (lookup: (term: string) => Effect.Effect<{ readonly definition: string }>) =>
  tools.toLayer({
    lookup: ({ term }) => lookup(term),
    strict: ({ term }) => Effect.fail({ reason: `strict refuses ${term}` })
  })

const price = { input: 2, output: 8 }

describe("the tool loop", () => {
  it.effect("stops at maxSteps, failing the agent with MaxStepsReached, every step metered and charged", () =>
    Effect.gen(function*() {
      const events = recorder()
      const simulated = Provider.simulated({ toolCalls: () => [{ name: "lookup", params: { term: "dag" } }] })
      const result = yield* Orchestrator.run(Workflow.agent({ name: "looper", tools, maxSteps: 3 }), "What is a DAG?", {
        onEvent: events.onEvent
      }).pipe(
        Effect.provide(Layer.mergeAll(simulated, handlersWith(() => Effect.succeed({ definition: "a graph" })), Pricing.layer({ simulated: price })))
      )
      const agent = result.agentResults[0]!
      assert.strictEqual(agent.status, "failed")
      assert.strictEqual(agent.error, "the model was still calling tools after 3 steps (2 tool calls made)")
      assert.instanceOf(agent.failure, AgentError.MaxStepsReached)
      assert.deepStrictEqual(agent.failure?._tag === "MaxStepsReached" ? [agent.failure.maxSteps, agent.failure.toolCalls] : [], [3, 2])
      assert.strictEqual(agent.attempts, 3)
      assert.strictEqual(result.costs!.total.calls, 3)
      assert.isAbove(agent.usage.inputTokens, 0)
      assert.closeTo(agent.cost, Pricing.costAt(price, agent.usage), 1e-15)
      assert.closeTo(result.totalCost, agent.cost, 1e-15)
      // The calls of steps 1 and 2 ran; those the last step asked for did not.
      assert.deepStrictEqual(events.ofType("tool_call").map((e) => e.data.step), [1, 2])
      assert.deepStrictEqual(events.ofType("tool_result").map((e) => e.data.outcome), ["success", "success"])
    }))

  it.effect("a failing, dying, unknown or badly called tool goes back to the model as an error; the run completes", () =>
    Effect.gen(function*() {
      const seen: Array<Provider.CompletionRequest> = []
      const simulated = Provider.simulated({
        toolCalls: (request) => {
          seen.push(request)
          return seen.length === 1
            ? [
              { name: "lookup", params: { term: "boom" } },
              { name: "strict", params: { term: "x" } },
              { name: "search_web", params: {} },
              { name: "lookup", params: { term: 42 } }
            ]
            : []
        }
      })
      const events = recorder()
      const result = yield* Orchestrator.run(Workflow.agent({ name: "careful", tools }), "task", {
        onEvent: events.onEvent
      }).pipe(Effect.provide(Layer.merge(simulated, handlersWith(() => Effect.die(new Error("disk on fire"))))))
      assert.strictEqual(result.status, "completed")
      const answers = seen[1]!.messages!.filter((m): m is Provider.ToolMessage => m.role === "tool")
      assert.deepStrictEqual(answers.map((m) => m.isError), [true, true, true, true])
      const errors = answers.map((m) => JSON.parse(m.content).error as string)
      assert.strictEqual(errors[0], "the tool failed unexpectedly: disk on fire")
      assert.strictEqual(errors[1], "{\"reason\":\"strict refuses x\"}")
      assert.strictEqual(errors[2], "there is no tool \"search_web\"; the tools are: lookup, strict")
      assert.strictEqual(errors[3], "the parameters do not match the tool's parameters: term: Expected string, actual 42")
      assert.deepStrictEqual(events.ofType("tool_result").map((e) => e.data.outcome), Array(4).fill("failure"))
    }))

  it.effect("a tool that outlives toolTimeout is abandoned, and the model is told it timed out", () =>
    Effect.gen(function*() {
      const events = recorder()
      const simulated = Provider.simulated()
      const fiber = yield* Orchestrator.run(
        Workflow.agent({ name: "patient", tools, toolTimeout: "5 seconds" }),
        "Task: define a DAG",
        { onEvent: events.onEvent }
      ).pipe(
        Effect.provide(Layer.merge(simulated, handlersWith(() => Effect.as(Effect.sleep("1 minute"), { definition: "late" })))),
        Effect.fork
      )
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      const timedOut = events.ofType("tool_result").find((e) => e.data.tool === "lookup")!
      assert.strictEqual(timedOut.data.outcome, "failure")
      assert.strictEqual(timedOut.data.durationMillis, 5000)
      assert.strictEqual(timedOut.data.error, "the tool timed out after 5s")
    }))

  it.effect("tool calls in flight count against the run's maxConcurrentAgents", () =>
    Effect.gen(function*() {
      let inFlight = 0
      let most = 0
      const slow = () =>
        Effect.acquireUseRelease(
          Effect.sync(() => {
            inFlight++
            most = Math.max(most, inFlight)
          }),
          () => Effect.as(Effect.sleep("1 second"), { definition: "d" }),
          () => Effect.sync(() => inFlight--)
        )
      const simulated = Provider.simulated({
        toolCalls: (request) =>
          request.messages?.some((m) => m.role === "tool") === true
            ? []
            : ["a", "b", "c"].map((term) => ({ name: "lookup", params: { term } }))
      })
      const workflow = Workflow.make({
        name: "three",
        decompose: () => Effect.succeed(["x", "y", "z"].map((id) => new SubTask.SubTask({ id, description: id }))),
        execute: (subtask) => Agent.run({ prompt: subtask.description, tools, only: ["lookup"] })
      })
      const fiber = yield* Orchestrator.run(workflow, "task", { config: { maxConcurrentAgents: 2 } }).pipe(
        Effect.provide(Layer.merge(simulated, handlersWith(slow))),
        Effect.fork
      )
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.status, "completed")
      assert.deepStrictEqual(result.agentResults.map((r) => r.metadata.toolCalls), [3, 3, 3])
      // Without the run's limit, two agents would have had six calls in flight.
      assert.strictEqual(most, 2)
    }))

  it.effect("interrupting the run interrupts the tools in flight, and the run still returns", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      let interrupted = 0
      const hang = () =>
        Deferred.succeed(started, undefined).pipe(
          Effect.zipRight(Effect.never),
          Effect.onInterrupt(() => Effect.sync(() => interrupted++))
        )
      const events = recorder()
      const result = yield* Orchestrator.run(Workflow.agent({ name: "stuck", tools }), "Task: wait", {
        onEvent: events.onEvent,
        cancelWhen: Deferred.await(started)
      }).pipe(Effect.provide(Layer.merge(Provider.simulated(), handlersWith(hang))))
      assert.strictEqual(result.status, "cancelled")
      assert.strictEqual(interrupted, 1)
      assert.strictEqual(events.ofType("tool_call").length, 2)
      assert.strictEqual(events.types().at(-1), "workflow_cancelled")
    }))

  it.effect("a maxSteps below 1 is refused before anything runs", () =>
    Effect.gen(function*() {
      const error = yield* Orchestrator.run(Workflow.agent({ name: "never", tools, maxSteps: 0 }), "task").pipe(
        Effect.provide(Layer.merge(Provider.simulated(), handlersWith(() => Effect.succeed({ definition: "d" })))),
        Effect.flip
      )
      assert.deepStrictEqual(error.problems, ["never: maxSteps must be an integer of at least 1, got 0"])
    }))

  it.effect("Agent.run outside a run: typed answer after tools, with the calls it made", () =>
    Effect.gen(function*() {
      const Definition = Schema.Struct({ term: Schema.String, meaning: Schema.String })
      const answer = yield* Agent.run({ prompt: "Task: What is a DAG?", tools, only: ["lookup"], output: Definition }).pipe(
        Effect.provide(Layer.merge(Provider.simulated(), handlersWith((term) => Effect.succeed({ definition: `${term}!` }))))
      )
      assert.isTrue(Schema.is(Definition)(answer.value))
      assert.strictEqual(answer.steps, 2)
      assert.deepStrictEqual(answer.toolCalls.map((c) => [c.name, c.isFailure, c.result]), [
        ["lookup", false, { definition: "What is a DAG!" }]
      ])
    }))
})
