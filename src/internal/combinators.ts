import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type { AgentResult } from "../AgentResult.js"
import { AllBranchesFailed, ConditionFailed, ScoringFailed, StepFailed } from "../OrchestratorError.js"
import type { Provider } from "../Provider.js"
import { SynthesisResult } from "../SynthesisResult.js"
import type * as Workflow from "../Workflow.js"
import { addProgress, advance, emit, type Node } from "./env.js"
import { budgetFailure, type ChildOutcome, failedOutcome, type Input, type Outcome } from "./outcome.js"
import { runStep } from "./durable/steps.js"
import { Step } from "./step.js"

/** A judge's score that is not a number from 0 to 1. */
class InvalidScore extends Data.TaggedError("InvalidScore")<{ readonly score: number }> {
  override get message(): string {
    return `the score must be a number from 0 to 1, got ${this.score}`
  }
}

/** Runs a nested workflow as a child of `parent`, with `weight` points of the run's progress. */
export type RunChild = <R>(
  parent: Node,
  workflow: Workflow.Workflow<R>,
  input: Input,
  label: string,
  weight: number
) => Effect.Effect<ChildOutcome, never, R | Provider>

const runContextOf = (node: Node, input: Input): Workflow.RunContext => ({
  task: input.task,
  context: input.context,
  config: node.env.config,
  previous: input.previous
})

/** Labels unique among siblings: the workflow's name, numbered when names repeat. */
const labels = (workflows: ReadonlyArray<Workflow.Workflow<unknown>>): ReadonlyArray<string> => {
  const counts = new Map<string, number>()
  for (const workflow of workflows) counts.set(workflow.name, (counts.get(workflow.name) ?? 0) + 1)
  return workflows.map((workflow, i) => (counts.get(workflow.name)! > 1 ? `${workflow.name}-${i + 1}` : workflow.name))
}

/** The synthesis a nested workflow produced, as a `SynthesisResult` of the enclosing one. */
const childSynthesis = (child: ChildOutcome, level: string, metadata: Record<string, unknown>): SynthesisResult =>
  new SynthesisResult({
    synthesisId: child.workflowId,
    level,
    content: child.finalSynthesis ?? "",
    sourceAgentIds: child.agentResults.filter((r) => r.status === "completed").map((r) => r.agentId),
    status: child.status,
    executionTime: child.executionTime,
    cost: child.cost,
    usage: { inputTokens: child.inputTokens, outputTokens: child.outputTokens },
    error: child.failure?.message,
    metadata
  })

export const runSequential = <R>(
  node: Node,
  name: string,
  definition: Workflow.Sequential<R>,
  input: Input,
  runChild: RunChild
): Effect.Effect<Outcome, never, R | Provider> =>
  Effect.gen(function*() {
    // The steps carry the whole of this workflow's progress.
    node.done = 1
    const steps = definition.steps
    const names = labels(steps)
    const weight = node.weight / steps.length
    const agentResults: Array<AgentResult> = []
    const synthesisResults: Array<SynthesisResult> = []
    const outputs: Array<Workflow.StepOutput> = []
    const report: Array<Record<string, unknown>> = []
    let firstFailure: StepFailed | undefined
    for (let i = 0; i < steps.length; i++) {
      if (node.env.budgetSpent) {
        return failedOutcome(yield* budgetFailure(node), agentResults, { workflow: name, steps: report }, synthesisResults)
      }
      const step = steps[i]!
      const child = yield* runChild(node, step, { ...input, previous: [...input.previous, ...outputs] }, names[i]!, weight)
      agentResults.push(...child.agentResults)
      synthesisResults.push(...child.synthesisResults, childSynthesis(child, "step", { step: step.name, index: i + 1 }))
      report.push({ step: step.name, index: i + 1, status: child.status, ...(child.failure ? { error: child.failure.message } : {}) })
      if (child.status === "completed") {
        outputs.push({ name: step.name, output: child.finalSynthesis ?? "" })
        continue
      }
      const failure = new StepFailed({
        workflow: name,
        step: step.name,
        index: i + 1,
        reason: child.failure?.message ?? child.status
      })
      firstFailure ??= failure
      if (!definition.continueOnFailure || child.failure?._tag === "BudgetExceeded") {
        return failedOutcome(
          child.failure?._tag === "BudgetExceeded" ? child.failure : failure,
          agentResults,
          { workflow: name, steps: report },
          synthesisResults
        )
      }
    }
    if (outputs.length === 0) {
      return failedOutcome(firstFailure!, agentResults, { workflow: name, steps: report }, synthesisResults)
    }
    return {
      status: "completed",
      agentResults,
      synthesisResults,
      finalSynthesis: outputs.at(-1)!.output,
      failure: undefined,
      metadata: { workflow: name, steps: report }
    } satisfies Outcome
  })

export const runParallel = <R>(
  node: Node,
  name: string,
  definition: Workflow.Parallel<R>,
  input: Input,
  runChild: RunChild
): Effect.Effect<Outcome, never, R | Provider> =>
  Effect.gen(function*() {
    const env = node.env
    const workflows = definition.workflows
    const names = labels(workflows)
    // The branches share 95% of this workflow's progress; the merge is the rest.
    node.done = 0.95
    const weight = (node.weight * 0.95) / workflows.length
    const children = yield* Effect.forEach(
      workflows,
      (workflow, i) => runChild(node, workflow, input, names[i]!, weight),
      { concurrency: "unbounded" }
    )
    const agentResults = children.flatMap((child) => child.agentResults)
    const synthesisResults = children.flatMap((child, i) => [
      ...child.synthesisResults,
      childSynthesis(child, "branch", { branch: names[i] })
    ])
    const branches = children.map((child, i) => ({
      branch: names[i],
      status: child.status,
      ...(child.failure ? { error: child.failure.message } : {})
    }))
    const metadata = { workflow: name, branches }
    if (env.budgetSpent) return failedOutcome(yield* budgetFailure(node), agentResults, metadata, synthesisResults)
    if (children.every((child) => child.status !== "completed")) {
      const firstError = children.find((child) => child.failure !== undefined)?.failure?.message ?? "failed"
      return failedOutcome(
        new AllBranchesFailed({ workflow: name, branches: children.length, firstError }),
        agentResults,
        metadata,
        synthesisResults
      )
    }
    const outputs: Array<Workflow.BranchOutput> = children.map((child, i) => ({
      name: names[i]!,
      status: child.status,
      finalSynthesis: child.finalSynthesis,
      error: child.failure?.message
    }))
    const model = env.config.synthesisModelOrPrimary ?? env.provider.defaultModel
    emit(node, "synthesis_start", { level: "merge", inputCount: outputs.filter((o) => o.status === "completed").length })
    const merged = yield* runStep(
      new Step(node, `${node.agentPrefix}(merge)`, "(merge)", "synthesis", model),
      env.config.timeoutSeconds,
      definition.merge(outputs, runContextOf(node, input))
    )
    if (merged._tag === "Failed") {
      return failedOutcome(
        merged.cancelled
          ? yield* budgetFailure(node)
          : new AllBranchesFailed({ workflow: name, branches: children.length, firstError: `merge failed: ${merged.error}` }),
        agentResults,
        metadata,
        synthesisResults
      )
    }
    advance(node, 1)
    emit(node, "synthesis_complete", { level: "merge", synthesisLength: merged.value.length })
    return {
      status: "completed",
      agentResults,
      synthesisResults,
      finalSynthesis: merged.value,
      failure: undefined,
      metadata
    } satisfies Outcome
  })

export const runConditional = <R>(
  node: Node,
  name: string,
  definition: Workflow.Conditional<R>,
  input: Input,
  runChild: RunChild
): Effect.Effect<Outcome, never, R | Provider> =>
  Effect.gen(function*() {
    const env = node.env
    node.done = 1
    const model = env.config.primaryModel ?? env.provider.defaultModel
    const selection = yield* runStep(
      new Step(node, `${node.agentPrefix}(condition)`, "(condition)", "condition", model),
      env.config.timeoutSeconds,
      definition.select(runContextOf(node, input))
    )
    if (selection._tag === "Failed") {
      return failedOutcome(
        selection.cancelled ? yield* budgetFailure(node) : new ConditionFailed({ workflow: name, reason: selection.error }),
        [],
        { workflow: name }
      )
    }
    const selected = selection.value
    const keys = Object.keys(definition.branches)
    const branch = Object.hasOwn(definition.branches, selected) ? selected : definition.defaultBranch
    if (branch === undefined) {
      return failedOutcome(
        new ConditionFailed({
          workflow: name,
          reason: `it chose "${selected}", which is none of the branches (${keys.join(", ")}), and there is no default`
        }),
        [],
        { workflow: name, selected }
      )
    }
    const workflow = definition.branches[branch]!
    emit(node, "branch_selected", { branch, selected, workflow: workflow.name })
    const child = yield* runChild(node, workflow, input, branch, node.weight)
    return {
      status: child.status,
      agentResults: child.agentResults,
      synthesisResults: child.synthesisResults,
      finalSynthesis: child.finalSynthesis,
      failure: child.failure,
      metadata: { workflow: name, branch, selected, branchWorkflow: workflow.name }
    } satisfies Outcome
  })

const judgementOf = (value: number | Workflow.Judgement): Workflow.Judgement =>
  typeof value === "number" ? { score: value } : value

export const runIterate = <R>(
  node: Node,
  name: string,
  definition: Workflow.Iterate<R>,
  input: Input,
  runChild: RunChild
): Effect.Effect<Outcome, never, R | Provider> =>
  Effect.gen(function*() {
    const env = node.env
    node.done = 1
    const perIteration = node.weight / definition.maxIterations
    const iterations: Array<Workflow.Iteration> = []
    const agentResults: Array<AgentResult> = []
    const synthesisResults: Array<SynthesisResult> = []
    const report: Array<Record<string, unknown>> = []
    const judgeModel = env.config.synthesisModelOrPrimary ?? env.provider.defaultModel
    let converged = false
    let stoppedBy: string | undefined
    let task = input.task
    for (let i = 1; i <= definition.maxIterations && !converged; i++) {
      if (env.budgetSpent) {
        return failedOutcome(yield* budgetFailure(node), agentResults, { workflow: name, iterations: report }, synthesisResults)
      }
      if (i > 1) task = definition.refine(input.task, iterations.at(-1)!)
      emit(node, "iteration_start", { iteration: i })
      const child = yield* runChild(node, definition.workflow, { ...input, task }, `iteration-${i}`, perIteration)
      agentResults.push(...child.agentResults)
      synthesisResults.push(...child.synthesisResults)
      if (child.status !== "completed" || child.finalSynthesis === undefined) {
        if (iterations.length === 0 || child.failure?._tag === "BudgetExceeded") {
          return { ...child, agentResults, synthesisResults, metadata: { workflow: name, iterations: report } }
        }
        stoppedBy = `iteration ${i} failed: ${child.failure?.message ?? child.status}`
        break
      }
      const candidate = { iteration: i, finalSynthesis: child.finalSynthesis, agentResults: child.agentResults }
      const scored = yield* runStep(
        new Step(node, `${node.agentPrefix}(judge-${i})`, "(judge)", "judge", judgeModel),
        env.config.timeoutSeconds,
        Effect.flatMap(definition.score(candidate, runContextOf(node, { ...input, task })), (value) => {
          const judgement = judgementOf(value)
          return Number.isFinite(judgement.score) && judgement.score >= 0 && judgement.score <= 1
            ? Effect.succeed(judgement)
            : Effect.fail(new InvalidScore({ score: judgement.score }))
        })
      )
      if (scored._tag === "Failed") {
        if (scored.cancelled) {
          return failedOutcome(yield* budgetFailure(node), agentResults, { workflow: name, iterations: report }, synthesisResults)
        }
        stoppedBy = `scoring iteration ${i} failed: ${scored.error}`
        if (iterations.length === 0) {
          return failedOutcome(
            new ScoringFailed({ workflow: name, iteration: i, reason: scored.error }),
            agentResults,
            { workflow: name, iterations: report },
            synthesisResults
          )
        }
        break
      }
      const iteration: Workflow.Iteration = { ...candidate, score: scored.value.score, critique: scored.value.critique }
      iterations.push(iteration)
      converged = definition.until(iteration)
      report.push({ iteration: i, score: iteration.score, converged, ...(iteration.critique ? { critique: iteration.critique } : {}) })
      synthesisResults.push(childSynthesis(child, "iteration", { iteration: i, score: iteration.score, converged }))
      emit(node, "iteration_complete", { iteration: i, score: iteration.score, converged })
    }
    // Iterations that did not run give their share of progress now.
    addProgress(node, perIteration * (definition.maxIterations - iterations.length))
    const chosen = converged
      ? iterations.at(-1)!
      : iterations.reduce((best, next) => (next.score > best.score ? next : best))
    return {
      status: "completed",
      agentResults,
      synthesisResults,
      finalSynthesis: chosen.finalSynthesis,
      failure: undefined,
      metadata: {
        workflow: name,
        iterations: report,
        converged,
        chosenIteration: chosen.iteration,
        score: chosen.score,
        ...(stoppedBy === undefined ? {} : { stoppedBy })
      }
    } satisfies Outcome
  })
