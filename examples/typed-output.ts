/**
 * Typed output: Belters that return `{ claim, evidence, confidence }` decoded with Schema, a synthesis that
 * receives the decoded values, and a direct `Provider.completeObject` call with its one repair attempt.
 *
 *   npx tsx examples/typed-output.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Schema } from "effect"
import { Agent, DreamCascade, Orchestrator, Provider, SubTask, Workflow } from "multi-agent-orchestration"

const Finding = Schema.Struct({
  claim: Schema.String,
  evidence: Schema.Array(Schema.String),
  confidence: Schema.Number.pipe(Schema.between(0, 1))
}).annotations({ identifier: "Finding", description: "One research finding" })

// A Dream Cascade whose Belters answer with a Finding: each Belter's AgentResult.value is one.
const cascade = DreamCascade.make({ belterCount: 3, drummerCount: 1, caminaCount: 1, belterOutput: Finding })

// A workflow of your own: agents that return a Finding give the synthesis a ReadonlyArray<Finding>.
const ranked = Workflow.make({
  name: "ranked-findings",
  decompose: (task) =>
    Effect.succeed(["hardware", "algorithms", "markets"].map((id) =>
      new SubTask.SubTask({ id, description: `Research the ${id} of ${task}` })
    )),
  execute: (subtask) => Agent.run({ prompt: `Task: ${subtask.description}`, output: Finding }),
  synthesize: (_, { values }) =>
    Effect.succeed(
      [...values].sort((a, b) => b.confidence - a.confidence).map((f) => `- ${f.claim} (${f.confidence.toFixed(2)})`)
        .join("\n")
    )
})

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(cascade, "Quantum computing applications")
  for (const agent of result.agentResults) {
    const finding = agent.value
    if (Schema.is(Finding)(finding)) {
      yield* Console.log(`${agent.agentId}: ${finding.claim} (confidence ${finding.confidence.toFixed(2)})`)
    }
  }

  const synthesis = yield* Orchestrator.run(ranked, "quantum computing")
  yield* Console.log(`\nRanked:\n${synthesis.finalSynthesis}`)

  // The first reply is invalid (the simulated provider can be asked for that): one repair call fixes it.
  const repaired = yield* Provider.completeObject({ prompt: "One finding on heat pumps" }, Finding).pipe(
    Effect.provide(Provider.simulated({ invalidOutput: { calls: [1] } }))
  )
  yield* Console.log(`\nAfter ${repaired.attempts} replies: ${repaired.value.claim}`)
})

program.pipe(Effect.provide(Provider.simulated()), NodeRuntime.runMain)
