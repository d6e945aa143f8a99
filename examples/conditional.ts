/**
 * Runtime branching: a full Dream Cascade for complex tasks, a single agent for simple ones.
 *
 *   npx tsx examples/conditional.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { DreamCascade, Orchestrator, Provider, Workflow } from "multi-agent-orchestration"

const shouldDeepAnalyze = ({ context }: Workflow.RunContext) => Number(context.complexity) > 0.7

const adaptive = Workflow.conditional({
  condition: shouldDeepAnalyze,
  onTrue: DreamCascade.make({ belterCount: 3, drummerCount: 1, caminaCount: 1 }),
  onFalse: Workflow.agent({ name: "quick-analysis" })
})

// The condition may also ask a model: here it rates the task's complexity from 0 to 1.
const rated = Workflow.conditional({
  condition: ({ task }) =>
    Effect.map(Workflow.rate(`How complex is this task, from 0 (trivial) to 1 (very complex)?\nTask: ${task}`), (judgement) =>
      judgement.score > 0.5),
  onTrue: DreamCascade.make({ belterCount: 3, drummerCount: 1, caminaCount: 1 }),
  onFalse: Workflow.agent({ name: "quick-analysis" })
})

const program = Effect.gen(function*() {
  for (const complexity of [0.9, 0.3]) {
    const result = yield* Orchestrator.run(adaptive, "Assess grid-scale battery storage", { context: { complexity } })
    yield* Console.log(`complexity ${complexity}: branch ${String(result.metadata.branch)}, ${result.agentResults.length} agents`)
  }
  const byModel = yield* Orchestrator.run(rated, "Assess grid-scale battery storage")
  yield* Console.log(`rated by a model: branch ${String(byModel.metadata.branch)}`)
})

program.pipe(Effect.provide(Provider.simulated()), NodeRuntime.runMain)
