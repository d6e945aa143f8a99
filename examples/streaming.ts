/**
 * Progress as an Effect Stream: every event of a run, in order, with its percentage.
 *
 *   npx tsx examples/streaming.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"
import { Orchestrator, Provider, SubTask, Workflow } from "multi-agent-orchestration"

const workflow = Workflow.make({
  name: "parallel-briefs",
  decompose: (task) =>
    Effect.succeed(
      ["history", "state of the art", "open problems"].map((angle, i) =>
        new SubTask.SubTask({ id: `brief-${i + 1}`, description: `Write a brief on the ${angle} of ${task}` })
      )
    ),
  execute: (subtask) => Provider.complete({ prompt: subtask.description }).pipe(Effect.map((c) => c.content))
})

const program = Orchestrator.stream(workflow, "solid-state batteries", { config: { maxConcurrentAgents: 2 } }).pipe(
  Stream.runForEach((event) =>
    Console.log(`${event.progress.toFixed(1).padStart(5)}%  ${event.type}${event.agentId === undefined ? "" : `  ${event.agentId}`}`)
  )
)

program.pipe(Effect.provide(Provider.simulated({ latency: "50 millis" })), NodeRuntime.runMain)
