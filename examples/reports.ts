/**
 * A run with a terminal progress bar, then its report written as Markdown and PDF: the run writes no files;
 * `Report.generate` is the step after it, and needs a file system (NodeContext) in its type.
 *
 *   npx tsx examples/reports.ts [outputDirectory]     # default: reports/
 */
import { NodeContext, NodeRuntime, NodeTerminal } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { Format, Orchestrator, ProgressBar, Provider, Report, SubTask, Workflow } from "multi-agent-orchestration"

const outputDirectory = process.argv[2] ?? "reports"

const research = Workflow.make({
  name: "market-scan",
  decompose: (task) =>
    Effect.succeed(["suppliers", "prices", "regulation", "demand"].map((angle, i) =>
      new SubTask.SubTask({ id: `scan-${i + 1}`, description: `Research the ${angle} of ${task}`, agentType: "researcher" })
    )),
  execute: (subtask) => Provider.complete({ prompt: subtask.description }).pipe(Effect.map((c) => c.content)),
  synthesize: (results, { task }) =>
    Provider.complete({
      system: "You synthesise research findings into one brief.",
      prompt: `Task: ${task}\n\n${results.map((result) => result.content).join("\n\n")}`
    }).pipe(Effect.map((c) => c.content))
})

const program = Effect.gen(function*() {
  // A live bar on a terminal, one line per step when the output is a file or a pipe.
  const bar = yield* ProgressBar.make()
  const run = yield* Orchestrator.run(research, "Heat pumps in Northern Europe", {
    config: { primaryModel: "gpt-4o-mini" },
    onEvent: bar.onEvent
  })
  const result = yield* Report.generate(run, { formats: ["markdown", "pdf"], outputDirectory })
  for (const document of result.documents) {
    yield* Console.log(`${document.format.padEnd(8)} ${document.path} (${document.sizeBytes} bytes)`)
  }
  yield* Console.log(`${result.status} in ${Format.formatSeconds(result.executionTime)}, ${Format.formatCost(result.totalCost)}`)
})

program.pipe(
  Effect.scoped,
  // NodeContext gives Report.generate a file system; NodeTerminal is the bar's terminal.
  Effect.provide(Layer.mergeAll(Provider.simulated({ latency: "300 millis" }), NodeContext.layer, NodeTerminal.layer)),
  NodeRuntime.runMain
)
