import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import {
  AgentResult,
  DreamCascade,
  Orchestrator,
  OrchestratorEvent,
  Provider,
  SubTask,
  Workflow
} from "multi-agent-orchestration"
import { recorder, scripted } from "./helpers.js"

const Finding = Schema.Struct({
  claim: Schema.String,
  evidence: Schema.Array(Schema.String),
  confidence: Schema.Number.pipe(Schema.between(0, 1))
}).annotations({ identifier: "Finding" })
type Finding = typeof Finding.Type

const isFinding = Schema.is(Finding)
const task = "Research quantum computing applications"

describe("typed output", () => {
  it.effect("a typed Dream Cascade decodes every Belter's findings, and each Belter's content is their JSON", () =>
    Effect.gen(function*() {
      const cascade = DreamCascade.make({ belterCount: 4, drummerCount: 2, caminaCount: 1, belterOutput: Finding })
      const result = yield* Orchestrator.run(cascade, task).pipe(Effect.provide(Provider.simulated()))
      assert.strictEqual(result.status, "completed")
      const belters = result.agentResults.filter((r) => r.tier === "belter")
      assert.strictEqual(belters.length, 4)
      for (const belter of belters) {
        assert.isTrue(isFinding(belter.value), JSON.stringify(belter.value))
        assert.deepStrictEqual(JSON.parse(belter.content), belter.value)
        assert.strictEqual(belter.attempts, 1)
      }
      // Not a single value repeated: each Belter's prompt gives its own findings.
      assert.strictEqual(new Set(belters.map((b) => b.content)).size, 4)
      for (const other of result.agentResults.filter((r) => r.tier !== "belter")) assert.isUndefined(other.value)
      // 1 plan + 4 Belters + 2 Drummers + 1 Camina: no repair was needed.
      assert.strictEqual(result.costs!.total.calls, 8)
    }))

  it.live("with streamTokens on, typed calls are answered whole and still decode; the text agents stream", () =>
    Effect.gen(function*() {
      const cascade = DreamCascade.make({ belterCount: 2, drummerCount: 1, caminaCount: 1, belterOutput: Finding })
      const events = recorder()
      const result = yield* Orchestrator.run(cascade, task, { streamTokens: true, onEvent: events.onEvent }).pipe(
        Effect.provide(Provider.simulated())
      )
      assert.strictEqual(result.status, "completed")
      const belters = result.agentResults.filter((r) => r.tier === "belter")
      for (const belter of belters) assert.isTrue(isFinding(belter.value), JSON.stringify(belter.value))
      const deltas = events.events.filter((e) => e.type === "agent_delta").map((e) => e.agentId)
      for (const belter of belters) assert.notInclude(deltas, belter.agentId)
      assert.include(deltas, result.agentResults.find((r) => r.tier === "camina")!.agentId)
    }))

  it.effect("a bad value triggers exactly one repair call, which sends the problems back", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({
        reply: (request, call) => {
          const system = request.system ?? ""
          if (system.startsWith("You plan")) return Effect.succeed("1. hardware\n2. algorithms")
          if (!system.startsWith("You are a Belter")) return Effect.succeed("synthesis")
          const first = request.prompt ?? ""
          const bad = first.includes("algorithms") && call < 5
          return Effect.succeed(
            bad
              ? "{\"claim\": \"Error rates fall\", \"confidence\": \"high\"}"
              : JSON.stringify({ claim: "Qubits scale", evidence: ["a survey"], confidence: 0.7 })
          )
        }
      })
      const result = yield* Orchestrator.run(
        DreamCascade.make({ belterCount: 2, drummerCount: 1, belterOutput: Finding }),
        task,
        { config: { maxConcurrentAgents: 1 } }
      ).pipe(Effect.provide(layer))
      assert.strictEqual(result.status, "completed")
      const belterCalls = log.calls.filter((c) => c.request.system?.startsWith("You are a Belter") === true)
      assert.strictEqual(belterCalls.length, 3)
      const repair = belterCalls[2]!.request
      assert.isUndefined(repair.prompt)
      const turns = repair.messages!
      assert.deepStrictEqual(turns.map((m) => m.role), ["user", "assistant", "user"])
      assert.include(turns[2]!.content, "evidence: is missing")
      assert.include(turns[2]!.content, "confidence: Expected number, actual \"high\"")
      assert.deepStrictEqual(repair.responseFormat?.name, "Finding")
      const [hardware, algorithms] = result.agentResults
      assert.strictEqual(hardware!.attempts, 1)
      assert.strictEqual(algorithms!.attempts, 2)
      assert.deepStrictEqual(algorithms!.value, { claim: "Qubits scale", evidence: ["a survey"], confidence: 0.7 })
    }))

  it.effect("JSON inside a code fence or between prose decodes without a repair call", () =>
    Effect.gen(function*() {
      const finding = { claim: "Qubits scale", evidence: ["a survey"], confidence: 0.7 }
      const { layer, log } = scripted({
        reply: (request) => {
          const system = request.system ?? ""
          if (system.startsWith("You plan")) return Effect.succeed("1. hardware\n2. algorithms")
          if (!system.startsWith("You are a Belter")) return Effect.succeed("synthesis")
          const json = JSON.stringify(finding)
          return Effect.succeed(
            (request.prompt ?? "").includes("hardware")
              ? `Here are the findings {as asked}:\n\`\`\`json\n${json}\n\`\`\`\nLet me know if you need more.`
              : `Sure! ${json} Hope this helps.`
          )
        }
      })
      const result = yield* Orchestrator.run(
        DreamCascade.make({ belterCount: 2, drummerCount: 1, belterOutput: Finding }),
        task
      ).pipe(Effect.provide(layer))
      assert.strictEqual(result.status, "completed")
      const belters = result.agentResults.filter((r) => r.tier === "belter")
      assert.deepStrictEqual(belters.map((b) => b.value), [finding, finding])
      assert.deepStrictEqual(belters.map((b) => b.attempts), [1, 1])
      assert.strictEqual(log.calls.filter((c) => c.request.system?.startsWith("You are a Belter") === true).length, 2)
    }))

  it.effect("a value still bad after the repair fails the agent with the parse issues; the run goes on", () =>
    Effect.gen(function*() {
      // Call 1 is the plan; calls 2 and 3 are belter-1's reply and its repair, both invalid.
      const simulated = Provider.simulated({ invalidOutput: { calls: [2, 3] } })
      const result = yield* Orchestrator.run(
        DreamCascade.make({ belterCount: 2, drummerCount: 1, belterOutput: Finding }),
        task,
        { config: { maxConcurrentAgents: 1 } }
      ).pipe(Effect.provide(simulated))
      assert.strictEqual(result.status, "completed")
      const [failed, fine] = result.agentResults
      assert.strictEqual(failed!.status, "failed")
      assert.strictEqual(failed!.attempts, 2)
      assert.match(failed!.error!, /^the reply does not match the output "Finding" after 1 repair: claim: is missing/)
      // The typed failure holds the parse issues, and survives JSON.
      assert.strictEqual(failed!.failure?._tag, "InvalidOutput")
      const decoded = Schema.decodeUnknownSync(AgentResult.AgentResult)(
        JSON.parse(JSON.stringify(Schema.encodeSync(AgentResult.AgentResult)(failed!)))
      )
      assert.strictEqual(decoded.failure?._tag, "InvalidOutput")
      assert.deepStrictEqual(
        decoded.failure?._tag === "InvalidOutput" ? decoded.failure.issues : [],
        failed!.failure?._tag === "InvalidOutput" ? failed!.failure.issues : undefined
      )
      assert.strictEqual(fine!.status, "completed")
      assert.isTrue(isFinding(fine!.value))
    }))

  it.effect("Provider.completeObject: a Schema that is not an object is asked for in a { value } envelope", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({
        reply: () => Effect.succeed(JSON.stringify({ value: [{ claim: "c", evidence: [], confidence: 1 }] }))
      })
      const completion = yield* Provider.completeObject({ prompt: "findings" }, Schema.Array(Finding)).pipe(
        Effect.provide(layer)
      )
      assert.deepStrictEqual(completion.value, [{ claim: "c", evidence: [], confidence: 1 }])
      const format = log.calls[0]!.request.responseFormat!
      assert.deepStrictEqual((format.jsonSchema as any).required, ["value"])
      assert.strictEqual((format.jsonSchema as any).properties.value.type, "array")
      assert.isTrue(format.strict)
    }))

  it.effect("the simulated provider gives valid values, the same for the same prompt and seed, and invalid ones on request", () =>
    Effect.gen(function*() {
      const Report = Schema.Struct({
        title: Schema.String.pipe(Schema.minLength(3)),
        score: Schema.Int.pipe(Schema.between(1, 5)),
        tags: Schema.Array(Schema.Literal("a", "b")),
        note: Schema.optional(Schema.String),
        // A refinement JSON Schema cannot express: the value is then drawn from the Schema's Arbitrary.
        code: Schema.String.pipe(Schema.filter((s) => s.startsWith("Q-")))
      })
      const ask = (seed: number, prompt = "Rate the proposal") =>
        Provider.completeObject({ prompt }, Report).pipe(Effect.provide(Provider.simulated({ seed })))
      const one = yield* ask(1)
      assert.isTrue(Schema.is(Report)(one.value))
      assert.deepStrictEqual((yield* ask(1)).value, one.value)
      const other = yield* ask(1, "Rate the other proposal")
      assert.isTrue(Schema.is(Report)(other.value))
      const bad = yield* Provider.completeObject({ prompt: "Rate" }, Report).pipe(
        Effect.provide(Provider.simulated({ invalidOutput: { calls: [1, 2] } })),
        Effect.flip
      )
      assert.strictEqual(bad._tag, "InvalidOutput")
    }))

  it.effect("Workflow.make: agents that return T give the synthesis ReadonlyArray<T>", () =>
    Effect.gen(function*() {
      const workflow = Workflow.make({
        name: "typed",
        decompose: () =>
          Effect.succeed(["tides", "wind", "sun"].map((id) => new SubTask.SubTask({ id, description: `Assess ${id}` }))),
        execute: (subtask) =>
          subtask.id === "wind"
            ? Effect.fail("no data")
            : Effect.succeed({ content: subtask.id, value: { claim: subtask.id, evidence: [], confidence: 0.5 } }),
        synthesize: (results, { values }) => {
          // `values` is a ReadonlyArray<{ claim, evidence, confidence }>: its fields type-check.
          const claims: ReadonlyArray<string> = values.map((finding) => finding.claim)
          const typed: ReadonlyArray<Finding | undefined> = results.map((r) => r.value)
          return Effect.succeed(`${claims.join(",")} / ${typed.length}`)
        }
      })
      const result = yield* Orchestrator.run(workflow, "energy").pipe(Effect.provide(Provider.simulated()))
      assert.strictEqual(result.finalSynthesis, "tides,sun / 3")
      const decoded = yield* AgentResult.fromJson(yield* AgentResult.toJson(result.agentResults[0]!))
      assert.deepStrictEqual(decoded.value, { claim: "tides", evidence: [], confidence: 0.5 })
      assert.deepStrictEqual(AgentResult.valuesOf(result.agentResults), [
        { claim: "tides", evidence: [], confidence: 0.5 },
        { claim: "sun", evidence: [], confidence: 0.5 }
      ])
    }))

  it.effect("the plan is typed output: a JSON plan is used as it is, and an unusable one gets one repair before the defaults", () =>
    Effect.gen(function*() {
      const plan = (replies: ReadonlyArray<string>) =>
        Effect.gen(function*() {
          const events = recorder()
          let planned = 0
          const { layer, log } = scripted({
            reply: (request) =>
              Effect.succeed(request.system?.startsWith("You plan") === true ? replies[planned++] ?? "" : "finding")
          })
          yield* Orchestrator.run(DreamCascade.make({ belterCount: 2, drummerCount: 1 }), task, {
            onEvent: events.onEvent
          }).pipe(Effect.provide(layer))
          const decomposed = events.ofType("decomposition_complete")[0]!
          return {
            belters: decomposed.data.subtasks.filter((s) => s.tier === "belter").map((s) => s.description),
            note: decomposed.data.fallbackReason,
            planner: log.calls.filter((c) => c.request.system?.startsWith("You plan") === true).map((c) => c.request)
          }
        })
      const json = yield* plan([JSON.stringify({ subtasks: ["1. **Hardware**", "Algorithms", "Markets"] })])
      assert.deepStrictEqual(json.belters, ["Hardware", "Algorithms"])
      assert.isUndefined(json.note)
      assert.strictEqual(json.planner.length, 1)
      assert.strictEqual(json.planner[0]!.responseFormat?.name, "ResearchPlan")
      const repaired = yield* plan(["I would rather not.", JSON.stringify({ subtasks: ["Hardware", "Algorithms"] })])
      assert.deepStrictEqual(repaired.belters, ["Hardware", "Algorithms"])
      assert.strictEqual(repaired.planner.length, 2)
      const refused = yield* plan(["No.", "Still no."])
      assert.strictEqual(refused.planner.length, 2)
      assert.strictEqual(refused.note, "the plan had no usable list; used 2 default subtasks")
    }))
})

describe("events", () => {
  it.effect("tool_call and tool_result encode to JSON and decode back", () =>
    Effect.gen(function*() {
      const base = { sequence: 3, taskId: "t", workflowId: "t", timestamp: 0, progress: 5, agentId: "a" }
      const call: OrchestratorEvent.OrchestratorEvent = {
        type: "tool_call",
        ...base,
        data: { subtaskId: "a", toolCallId: "call_1", tool: "lookup", step: 1, params: { term: "dag" } }
      }
      const result: OrchestratorEvent.OrchestratorEvent = {
        type: "tool_result",
        ...base,
        data: { subtaskId: "a", toolCallId: "call_1", tool: "lookup", step: 1, outcome: "failure", durationMillis: 5, error: "no" }
      }
      for (const event of [call, result]) {
        assert.deepStrictEqual(yield* OrchestratorEvent.decode(JSON.parse(OrchestratorEvent.toJson(event))), event)
      }
    }))
})
