import * as Effect from "effect/Effect"
import type { Provider } from "../Provider.js"
import type * as Workflow from "../Workflow.js"
import { runAgents } from "./agents.js"
import { runConditional, runIterate, runParallel, runSequential } from "./combinators.js"
import { runApproval } from "./durable/approval.js"
import { child, emit, type Node } from "./env.js"
import type { ChildOutcome, Input, Outcome } from "./outcome.js"

/** Interprets a workflow of any shape on `node`. */
export const interpret = <R>(
  node: Node,
  workflow: Workflow.Workflow<R>,
  input: Input
): Effect.Effect<Outcome, never, R | Provider> => {
  const definition = workflow.definition
  switch (definition._tag) {
    case "Agents":
      return runAgents(node, workflow.name, definition, input)
    case "Sequential":
      return runSequential(node, workflow.name, definition, input, interpretChild)
    case "Parallel":
      return runParallel(node, workflow.name, definition, input, interpretChild)
    case "Conditional":
      return runConditional(node, workflow.name, definition, input, interpretChild)
    case "Iterate":
      return runIterate(node, workflow.name, definition, input, interpretChild)
    case "Approval":
      return runApproval(node, workflow.name, definition, input)
  }
}

/**
 * Runs a nested workflow on a child node: its events carry its own `workflowId` and the parent's as
 * `parentId`, and it starts with `workflow_start` and ends with `workflow_complete` or `workflow_error`, so
 * that a consumer can draw the tree.
 */
const interpretChild = <R>(
  parent: Node,
  workflow: Workflow.Workflow<R>,
  input: Input,
  label: string,
  weight: number
): Effect.Effect<ChildOutcome, never, R | Provider> =>
  Effect.suspend(() => {
    const node = child(parent, workflow.name, label, weight)
    emit(node, "workflow_start", { task: input.task, title: label, workflow: workflow.name })
    const telemetry = node.env.telemetry
    const body = interpret(node, workflow, input)
    return Effect.map(telemetry === undefined ? body : telemetry.workflow(node, body), (outcome): ChildOutcome => {
      const executionTime = (node.env.clock.unsafeCurrentTimeMillis() - node.started) / 1000
      if (outcome.status === "completed") {
        emit(node, "workflow_complete", {
          status: outcome.status,
          executionTime,
          totalCost: node.cost,
          usage: { inputTokens: node.inputTokens, outputTokens: node.outputTokens }
        })
      } else {
        emit(node, "workflow_error", {
          error: outcome.failure?.message ?? outcome.status,
          reason: outcome.failure?._tag ?? "Failed",
          executionTime,
          totalCost: node.cost
        })
      }
      return {
        ...outcome,
        workflowId: node.workflowId,
        executionTime,
        cost: node.cost,
        inputTokens: node.inputTokens,
        outputTokens: node.outputTokens
      }
    })
  })
