/**
 * How a runner finds the agents step a submitter sends it: by its path in the workflow, which is the same in
 * two copies of a workflow built by the same code (the submitter's and the runner's).
 */
import { assert, describe, it } from "@effect/vitest"
import { DreamCascade, Workflow } from "../src/index.js"
import { agentsAt, agentsPaths } from "../src/internal/cluster/paths.js"

const build = () =>
  Workflow.sequential([
    Workflow.agent({ name: "scout" }),
    Workflow.parallel([
      DreamCascade.make({ belterCount: 2, drummerCount: 1, caminaCount: 1 }),
      Workflow.conditional({
        condition: () => true,
        onTrue: Workflow.agent({ name: "deep" }),
        onFalse: Workflow.agent({ name: "quick" })
      })
    ])
  ])

const agentsOf = (workflow: Workflow.Workflow<unknown>): Array<Workflow.Agents<unknown>> => {
  const definition = workflow.definition
  switch (definition._tag) {
    case "Agents":
      return [definition]
    case "Sequential":
      return definition.steps.flatMap(agentsOf)
    case "Parallel":
      return definition.workflows.flatMap(agentsOf)
    case "Conditional":
      return Object.values(definition.branches).flatMap(agentsOf)
    case "Iterate":
      return agentsOf(definition.workflow)
    case "Approval":
      return []
  }
}

describe("agents step paths", () => {
  it("give every agents step of a nested workflow a distinct path that finds it again", () => {
    const workflow = build()
    const paths = agentsPaths(workflow)
    const steps = agentsOf(workflow)
    assert.isAbove(steps.length, 3)
    assert.strictEqual(new Set(steps.map((step) => paths.get(step))).size, steps.length)
    for (const step of steps) assert.strictEqual(agentsAt(workflow, paths.get(step)!), step)
  })

  it("find the corresponding step in another copy built by the same code", () => {
    const submitted = build()
    const runner = build()
    const paths = agentsPaths(submitted)
    const mine = agentsOf(submitted)
    const theirs = agentsOf(runner)
    for (let i = 0; i < mine.length; i++) assert.strictEqual(agentsAt(runner, paths.get(mine[i]!)!), theirs[i])
  })

  it("find nothing at a path the workflow does not have", () => {
    assert.isUndefined(agentsAt(build(), "7"))
    assert.isUndefined(agentsAt(build(), "1/0/9"))
    // The root of a sequential workflow is no agents step.
    assert.isUndefined(agentsAt(build(), ""))
  })
})
