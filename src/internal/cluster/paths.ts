/**
 * Where an agents step sits inside a workflow: a path of child positions from the root ("" for the root itself,
 * "1/then" for the `then` branch of the second step). Submitters and runners build workflows from the same code,
 * so the same path finds the same step on both sides, without sending functions over the wire.
 */
import type * as Workflow from "../../Workflow.js"

type AnyAgents = Workflow.Agents<unknown>

const childrenOf = (definition: Workflow.Definition<unknown>): ReadonlyArray<readonly [string, Workflow.Workflow<unknown>]> => {
  switch (definition._tag) {
    case "Sequential":
      return definition.steps.map((step, i) => [String(i), step] as const)
    case "Parallel":
      return definition.workflows.map((branch, i) => [String(i), branch] as const)
    case "Conditional":
      return Object.entries(definition.branches)
    case "Iterate":
      return [["body", definition.workflow]]
    case "Agents":
    case "Approval":
      return []
  }
}

/** Every agents step of a workflow, by its definition, with its path (the first one when a step appears twice). */
export const agentsPaths = (workflow: Workflow.Workflow<unknown>): Map<AnyAgents, string> => {
  const paths = new Map<AnyAgents, string>()
  const visit = (at: Workflow.Workflow<unknown>, path: string) => {
    const definition = at.definition
    if (definition._tag === "Agents") {
      if (!paths.has(definition)) paths.set(definition, path)
      return
    }
    for (const [key, child] of childrenOf(definition)) visit(child, path === "" ? key : `${path}/${key}`)
  }
  visit(workflow, "")
  return paths
}

/** The agents step at `path`, if there is one. */
export const agentsAt = (workflow: Workflow.Workflow<unknown>, path: string): AnyAgents | undefined => {
  let at: Workflow.Workflow<unknown> | undefined = workflow
  for (const key of path === "" ? [] : path.split("/")) {
    at = childrenOf(at.definition).find(([name]) => name === key)?.[1]
    if (at === undefined) return undefined
  }
  return at.definition._tag === "Agents" ? at.definition : undefined
}
