/**
 * The README's custom orchestrator: decompose, execute, synthesise, on the offline simulated provider.
 *
 *   npx tsx examples/custom-workflow.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Format, Orchestrator, Provider, SubTask, Workflow } from "multi-agent-orchestration"

const research = Workflow.make({
  name: "research-and-analyze",
  // Break the task into subtasks: the analysis depends on the research.
  decompose: (task) =>
    Effect.succeed([
      new SubTask.SubTask({ id: "research", description: `Research: ${task}`, agentType: "researcher" }),
      new SubTask.SubTask({
        id: "analyze",
        description: "Analyze the findings",
        agentType: "analyst",
        dependencies: ["research"]
      })
    ]),
  // Execute one subtask. Calls are metered, retried and time-bounded by the orchestrator.
  execute: (subtask, { dependencies }) =>
    Provider.complete({
      system: "You are a careful research assistant.",
      prompt: [subtask.description, ...dependencies.map((result) => result.content)].join("\n\n")
    }).pipe(Effect.map((completion) => completion.content)),
  // Combine the results into the final output.
  synthesize: (results) => Effect.succeed(`## Summary\n\n${results.map((result) => result.content).join("\n\n")}`)
})

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(research, "Quantum computing applications in drug discovery", {
    config: { numAgents: 2, parallelExecution: true, primaryModel: "gpt-4o-mini" },
    onEvent: (event) => Console.log(`[${event.type}] ${event.progress.toFixed(1)}%`)
  })
  yield* Console.log(result.finalSynthesis ?? "")
  yield* Console.log(`Status: ${result.status}, cost: ${Format.formatCost(result.totalCost)}`)
})

program.pipe(Effect.provide(Provider.simulated()), NodeRuntime.runMain)
