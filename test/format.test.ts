import { assert, describe, it } from "@effect/vitest"
import { Format, OrchestratorError } from "multi-agent-orchestration"

describe("money and time as the CLI, progress and reports show them", () => {
  it("costs below a cent keep two significant digits, so that small amounts stay distinct", () => {
    const cases: ReadonlyArray<[number, string]> = [
      [0, "$0.0000"],
      [0.001, "$0.0010"],
      [0.0012345, "$0.0012"],
      [0.00012, "$0.00012"],
      [0.000001, "$0.0000010"],
      [0.0000015, "$0.0000015"],
      [0.01, "$0.01"],
      [12.345, "$12.35"],
      [-0.000002, "-$0.0000020"]
    ]
    for (const [dollars, text] of cases) assert.strictEqual(Format.formatCost(dollars), text, `${dollars}`)
  })

  it("a budget below a cent is never shown as $0.0000", () => {
    const tiny = new OrchestratorError.BudgetExceeded({ spent: 0.0000012, limit: 0.000001 })
    assert.strictEqual(tiny.message, "Budget exceeded: spent $0.0000012 of the $0.0000010 limit")
    assert.notInclude(new OrchestratorError.BudgetExceeded({ spent: 0.00004, limit: 0.00003 }).message, "$0.0000 ")
  })

  it("measured times: milliseconds below a second, tenths below a minute, then minutes", () => {
    const cases: ReadonlyArray<[number, string]> = [
      [0, "0ms"],
      [0.25, "250ms"],
      [0.9999, "999ms"],
      [1, "1.0s"],
      [4.27, "4.2s"],
      [59.99, "59.9s"],
      [61.7, "1m 1s"],
      [3725, "1h 2m"]
    ]
    for (const [seconds, text] of cases) assert.strictEqual(Format.formatSeconds(seconds), text, `${seconds}`)
  })
})
