import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Orchestrator, OrchestratorConfig } from "multi-agent-orchestration"
import { fixedWorkflow, scripted, tasks } from "./helpers.js"

describe("OrchestratorConfig", () => {
  it("the defaults are valid", () => {
    assert.deepStrictEqual(OrchestratorConfig.validate({}), [])
    const defaults = OrchestratorConfig.defaults
    assert.strictEqual(defaults.numAgents, 5)
    assert.strictEqual(defaults.maxConcurrentAgents, 10)
    assert.strictEqual(defaults.timeoutSeconds, 300)
    assert.strictEqual(defaults.maxRetries, 2)
    assert.isTrue(defaults.parallelExecution)
    assert.isTrue(defaults.enableCostTracking)
  })

  it("lists every problem at once, in field order", () => {
    assert.deepStrictEqual(
      OrchestratorConfig.validate({
        numAgents: 0,
        maxConcurrentAgents: 0,
        timeoutSeconds: 0,
        maxRetries: -1,
        maxTotalCost: 0
      }),
      [
        "numAgents must be at least 1",
        "maxConcurrentAgents must be at least 1",
        "timeoutSeconds must be positive",
        "maxRetries must be at least 0",
        "maxTotalCost must be positive if specified"
      ]
    )
  })

  it("says where the document options of the original went: reports are a step after the run", () => {
    const moved = "is not a run option: write reports after the run with Report.generate(result, { formats, outputDirectory })"
    assert.deepStrictEqual(OrchestratorConfig.validate({ generateDocuments: true, document_formats: ["pdf"] }), [
      `generateDocuments ${moved}`,
      `document_formats ${moved}`
    ])
  })

  it("names wrong types and unknown fields, with a suggestion for snake_case names", () => {
    assert.deepStrictEqual(OrchestratorConfig.validate({ num_agents: 3, parallelExecution: "yes", numAgents: 1.5 }), [
      "unknown field \"num_agents\" (did you mean \"numAgents\"?)",
      "numAgents must be an integer, got 1.5",
      "parallelExecution must be a boolean, got \"yes\""
    ])
    assert.deepStrictEqual(OrchestratorConfig.validate("fast"), ["the configuration must be an object"])
  })

  it("checks fields against each other", () => {
    assert.deepStrictEqual(OrchestratorConfig.validate({ maxTotalCost: 1, enableCostTracking: false }), [
      "maxTotalCost needs enableCostTracking: a budget cannot be enforced without pricing calls"
    ])
  })

  it.effect("decoding applies defaults and fails with an InvalidConfig naming every problem", () =>
    Effect.gen(function*() {
      const config = yield* OrchestratorConfig.decode({ primaryModel: "gpt-4o", maxConcurrentAgents: 3 })
      assert.strictEqual(config.maxConcurrentAgents, 3)
      assert.strictEqual(config.workerModelOrPrimary, "gpt-4o")
      assert.strictEqual(config.synthesisModelOrPrimary, "gpt-4o")
      const error = yield* Effect.flip(OrchestratorConfig.decode({ numAgents: 0, maxRetries: -1 }))
      assert.strictEqual(error._tag, "InvalidConfig")
      assert.deepStrictEqual(error.problems, ["numAgents must be at least 1", "maxRetries must be at least 0"])
      assert.strictEqual(error.message, "Invalid configuration: numAgents must be at least 1; maxRetries must be at least 0")
    }))

  it.effect("a run with an invalid configuration fails before any provider call", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted()
      const error = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        config: { numAgents: 0, timeoutSeconds: -1 }
      }).pipe(Effect.provide(layer), Effect.flip)
      assert.strictEqual(error._tag, "InvalidConfig")
      assert.deepStrictEqual(error.problems, ["numAgents must be at least 1", "timeoutSeconds must be positive"])
      assert.strictEqual(log.calls.length, 0)
    }))

  it.effect("an empty task is bad input too, reported with the configuration's problems", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted()
      const error = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "  ", { config: { maxRetries: -2 } }).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.deepStrictEqual(error.problems, ["task must be a non-empty string", "maxRetries must be at least 0"])
      assert.strictEqual(log.calls.length, 0)
    }))
})
