/**
 * `npm run demo`: a research workflow run offline on the simulated provider, with live events, the final
 * synthesis and the cost table.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { Format, Orchestrator, Provider, SubTask, Workflow } from "multi-agent-orchestration"

const task = process.argv[2] ?? "Research quantum computing applications"

const research = Workflow.make({
  name: "research-brief",
  decompose: (task, { config }) =>
    Provider.complete({
      system: "You plan research. Reply with a numbered list only.",
      prompt: `Break this task into ${config.numAgents} research subtasks.\nTask: ${task}`
    }).pipe(
      Effect.map((plan) =>
        plan.content
          .split("\n")
          .map((line) => /^\s*\d+[.)]\s*(.+)$/.exec(line)?.[1])
          .filter((item): item is string => item !== undefined)
          .map((description, i) => new SubTask.SubTask({ id: `research-${i + 1}`, description, agentType: "researcher" }))
      )
    ),
  execute: (subtask) =>
    Provider.complete({ system: "You are a research agent.", prompt: `Subtask: ${subtask.description}` }).pipe(
      Effect.map((completion) => completion.content)
    ),
  synthesize: (results, { task }) =>
    Provider.complete({
      system: "You synthesise research findings into one brief.",
      prompt: `Task: ${task}\n\n${results.map((result) => result.content).join("\n\n")}`
    }).pipe(Effect.map((completion) => completion.content))
})

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(research, task, {
    config: { numAgents: 4, maxConcurrentAgents: 2, primaryModel: "gpt-4o", workerModel: "gpt-4o-mini" },
    onEvent: (event) =>
      Console.log(
        `${event.progress.toFixed(1).padStart(5)}%  ${event.type.padEnd(22)} ${event.agentId ?? ""}`.trimEnd()
      )
  })
  yield* Console.log(`\n${result.finalSynthesis ?? result.error}\n`)
  if (result.costs !== undefined) yield* Console.log(Format.costTable(result.costs))
  yield* Console.log(`\n${result.status} in ${Format.formatDuration(result.executionTime)}, ${Format.formatCost(result.totalCost)}`)
})

program.pipe(Effect.provide(Provider.simulated({ latency: "150 millis" })), NodeRuntime.runMain)
