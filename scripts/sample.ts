/**
 * A sample research run on the simulated provider, for the report screenshot and the report tests: six
 * researcher agents (one of them fails), two group syntheses and a final synthesis with a table and a code
 * block.
 */
import { type Duration, Effect } from "effect"
import {
  type AgentResult,
  Orchestrator,
  Provider,
  ProviderError,
  SubTask,
  SynthesisResult,
  Workflow
} from "multi-agent-orchestration"

const angles = [
  "hardware platforms",
  "error correction",
  "chemistry simulation",
  "optimisation",
  "cryptography",
  "industry adoption"
]

const words = (text: string) => text.split(/\s+/).filter((word) => word !== "").length

const synthesise = (level: string, id: string, task: string, inputs: ReadonlyArray<{ readonly id: string; readonly content: string }>) =>
  Effect.map(
    Provider.complete({
      system: "You synthesise research findings into one brief.",
      prompt: `Task: ${task}\n\n${inputs.map((input) => input.content).join("\n\n")}`
    }),
    (completion) =>
      new SynthesisResult.SynthesisResult({
        synthesisId: id,
        level,
        content: completion.content,
        sourceAgentIds: inputs.map((input) => input.id),
        model: completion.model,
        usage: completion.usage
      })
  )

export const sampleWorkflow = Workflow.make({
  name: "research-cascade",
  decompose: (task) =>
    Effect.succeed(angles.map((angle, i) =>
      new SubTask.SubTask({
        id: `belter-${i + 1}`,
        description: `Research the ${angle} of ${task}`,
        agentType: "researcher",
        tier: "belter"
      })
    )),
  execute: (subtask) =>
    Effect.map(Provider.complete({ system: "You are a research agent.", prompt: subtask.description }), (c) => c.content),
  synthesize: (results: ReadonlyArray<AgentResult.AgentResult>, { task }) =>
    Effect.gen(function*() {
      const done = results.filter((result) => result.status === "completed")
      const groups = [done.slice(0, 3), done.slice(3)].filter((group) => group.length > 0)
      const drummers = yield* Effect.forEach(groups, (group, i) =>
        synthesise("drummer", `drummer-${i + 1}`, task, group.map((r) => ({ id: r.agentId, content: r.content }))))
      const camina = yield* synthesise("camina", "camina-1", task, drummers.map((d) => ({ id: d.synthesisId, content: d.content })))
      const sources = [
        "### Sources",
        "",
        "| Agent | Focus | Status | Words |",
        "|---|---|---|--:|",
        ...results.map((r, i) => `| ${r.agentId} | ${angles[i] ?? ""} | ${r.status} | ${words(r.content)} |`)
      ].join("\n")
      const reproduce = [
        "### Reproducing this brief",
        "",
        "```ts",
        "const result = yield* Orchestrator.run(workflow, task, {",
        "  config: { primaryModel: \"gpt-4o\", generateDocuments: true, documentFormats: [\"markdown\", \"pdf\"] }",
        "})",
        "```"
      ].join("\n")
      return {
        finalSynthesis: `${camina.content.trim()}\n\n${sources}\n\n${reproduce}\n`,
        synthesisResults: [...drummers, camina]
      }
    })
})

/** The simulated provider of the sample, answering after `latency`: the fifth call is refused, so one agent fails. */
export const sampleProviderWith = (latency: Duration.DurationInput = 0) =>
  Provider.simulated({
    latency,
    failures: {
      calls: [5],
      error: ({ model }) =>
        new ProviderError.InvalidRequest({ provider: "simulated", model, detail: "the prompt was rejected by a content filter" })
    }
  })

export const sampleProvider = sampleProviderWith()

/** Runs the sample. */
export const runSample = (options: Orchestrator.RunOptions = {}) =>
  Orchestrator.run(sampleWorkflow, "Quantum computing applications in drug discovery", {
    title: "Quantum computing applications in drug discovery",
    taskId: "sample-0001",
    ...options,
    config: { primaryModel: "gpt-4o", ...options.config }
  })
