import { Terminal } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Stream, TestClock } from "effect"
import { Format, Orchestrator, type OrchestratorEvent, ProgressBar, Provider, ProviderError } from "multi-agent-orchestration"
import { fixedWorkflow, scripted, tasks } from "./helpers.js"
import { runEvents } from "./servers.js"

/** A Terminal test double that records what is displayed. */
const fakeTerminal = (options: { readonly isTTY: boolean; readonly columns?: number }) => {
  const output: Array<string> = []
  const layer = Layer.succeed(
    Terminal.Terminal,
    Terminal.Terminal.of({
      columns: Effect.succeed(options.columns ?? 120),
      rows: Effect.succeed(40),
      isTTY: Effect.succeed(options.isTTY),
      readInput: Effect.die("not used"),
      readLine: Effect.die("not used"),
      display: (text) => Effect.sync(() => void output.push(text))
    })
  )
  return { output, layer }
}

/** What a terminal shows after this output: carriage returns and line clears applied, cursor codes dropped. */
const screen = (output: ReadonlyArray<string>): Array<string> => {
  const lines: Array<string> = [""]
  const text = output.join("").replace(/\x1b\[\?25[lh]/g, "")
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith("\x1b[2K", i)) {
      lines[lines.length - 1] = ""
      i += 3
    } else if (text[i] === "\r") {
      lines[lines.length - 1] = ""
    } else if (text[i] === "\n") {
      lines.push("")
    } else {
      lines[lines.length - 1] += text[i]
    }
  }
  return lines
}

const ansi = /\x1b\[/

describe("ProgressBar", () => {
  it.scoped("on a TTY redraws one line: bar, %, agents done/planned, running agents, elapsed time, cost", () =>
    Effect.gen(function*() {
      const terminal = fakeTerminal({ isTTY: true })
      const { layer } = scripted({ latency: (r) => (r.prompt === "do slow" ? "10 seconds" : "2 seconds") })
      const bar = yield* ProgressBar.make().pipe(Effect.provide(terminal.layer))
      const run = yield* Orchestrator.run(fixedWorkflow(tasks("quick", "slow", "other")), "task", {
        title: "Three agents",
        config: { primaryModel: "gpt-4o" },
        onEvent: bar.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)

      yield* TestClock.adjust("3 seconds")
      let shown = screen(terminal.output)
      assert.strictEqual(shown.length, 1, "a live bar stays on one line")
      assert.match(shown[0]!, /^… \[█+░+\]\s+\d+% · 2\/3 agents · running slow · 3\.0s · \$0\.\d{4,}$/)

      // While no event comes, the elapsed time still moves.
      yield* TestClock.adjust("4 seconds")
      shown = screen(terminal.output)
      assert.match(shown[0]!, / · running slow · 7\.0s · /)

      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(run)
      shown = screen(terminal.output)
      assert.deepStrictEqual(shown.length, 2, "the final line stays, followed by a newline")
      assert.strictEqual(
        shown[0],
        `✔ [${"█".repeat(24)}] 100% · 3/3 agents · completed · 10.0s · ${Format.formatCost(result.totalCost)}`
      )
      assert.strictEqual(terminal.output.join("").match(/\x1b\[\?25l/g)?.length, 1)
      assert.isTrue(terminal.output.join("").endsWith("\x1b[?25h"))
    }))

  it.scoped("a live line is clipped to the terminal's width and shows failures", () =>
    Effect.gen(function*() {
      const terminal = fakeTerminal({ isTTY: true, columns: 40 })
      const { layer } = scripted({
        reply: (request) =>
          request.prompt === "do b"
            ? Effect.fail(new ProviderError.InvalidRequest({ provider: "test", model: "m", detail: "bad" }))
            : Effect.succeed("ok")
      })
      yield* Orchestrator.stream(fixedWorkflow(tasks("a", "b")), "task").pipe(
        Stream.run(ProgressBar.sink()),
        Effect.provide(Layer.merge(layer, terminal.layer))
      )
      const [line] = screen(terminal.output)
      assert.strictEqual(line!.length, 39)
      assert.isTrue(line!.endsWith("…"))
      assert.include(ProgressBar.render(yield* stateAfter(layer, ["a", "b"]), 0), "2/2 agents (1 failed)")
    }))

  it.effect("the state follows the run: planning, running agents, synthesis, the end", () =>
    Effect.gen(function*() {
      const events = yield* runEvents(2)
      const upTo = (type: OrchestratorEvent.Type) =>
        events.slice(0, events.findIndex((event) => event.type === type) + 1).reduce(ProgressBar.update, ProgressBar.initial)
      assert.include(ProgressBar.render(upTo("decomposition_start"), 0), " · 0/0 agents · planning · ")
      assert.include(ProgressBar.render(upTo("agent_start"), 0), " · 0/2 agents · running t1 · ")
      assert.include(ProgressBar.render(upTo("synthesis_start"), 0), " · 2/2 agents · synthesis (final) · ")
      const end = upTo("workflow_complete")
      assert.strictEqual(end.finished?.type, "workflow_complete")
      assert.isTrue(ProgressBar.render(end, 0).startsWith(`✔ [${"█".repeat(24)}] 100% · 2/2 agents · completed · `))
    }))

  it.scoped("off a TTY prints one plain line per notable event", () =>
    Effect.gen(function*() {
      const terminal = fakeTerminal({ isTTY: false })
      const { layer } = scripted({ latency: "1 second" })
      const bar = yield* ProgressBar.make().pipe(Effect.provide(terminal.layer))
      const run = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b"), { synthesize: true }), "task", {
        title: "Two agents",
        config: { primaryModel: "gpt-4o" },
        onEvent: bar.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(run)
      // Both agents finish at the same moment, in either order.
      const lines = terminal.output.join("").split("\n").map((line) => line.replace(/\] [ab] done/, "] a|b done"))
      assert.isFalse(ansi.test(terminal.output.join("")))
      assert.deepStrictEqual(lines, [
        `[  0%] started "Two agents" (fixed)`,
        `[  5%] planned 2 agents`,
        `[ 50%] a|b done in 1.0s, ${formatted(result.agentResults[0]!.cost)} (1/2)`,
        `[ 94%] a|b done in 1.0s, ${formatted(result.agentResults[1]!.cost)} (2/2)`,
        `[ 99%] synthesis (final) done`,
        `[100%] completed: 2/2 agents in 2.0s, ${formatted(result.totalCost)}`,
        ""
      ])
    }))

  it.scoped("a failed run's line names the failure and shows the run's own duration; retry delays under a second in ms", () =>
    Effect.gen(function*() {
      const terminal = fakeTerminal({ isTTY: false })
      const { layer } = scripted({
        latency: "1200 millis",
        reply: (request, call) =>
          call === 1
            ? Effect.fail(new ProviderError.Unavailable({ provider: "test", model: "m", status: 503, detail: "busy" }))
            : request.prompt === "do b"
            ? Effect.fail(new ProviderError.InvalidRequest({ provider: "test", model: "m", detail: "bad" }))
            : Effect.succeed("ok")
      })
      const bar = yield* ProgressBar.make().pipe(Effect.provide(terminal.layer))
      const run = yield* Orchestrator.run(fixedWorkflow(tasks("a", "b")), "task", {
        config: { retryBaseDelaySeconds: 0.25, maxConcurrentAgents: 1 },
        onEvent: bar.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(run)
      const lines = terminal.output.join("").split("\n")
      assert.strictEqual(result.status, "completed")
      assert.isTrue(lines.some((line) => /^\[\s*\d+%\] a retry 1 in \d{3}ms: Unavailable$/.test(line)), lines.join("\n"))
      const last = lines.at(-2)!
      assert.isTrue(last.endsWith(` in ${Format.formatSeconds(result.executionTime)}, ${Format.formatCost(result.totalCost)}`), last)

      // A run that fails: the line names the failure's tag, and leaves its message to the summary.
      const failing = fakeTerminal({ isTTY: false })
      const failingBar = yield* ProgressBar.make().pipe(Effect.provide(failing.layer))
      const failed = yield* Orchestrator.run(fixedWorkflow(tasks("b")), "task", { onEvent: failingBar.onEvent }).pipe(
        Effect.provide(scripted({ reply: () => Effect.fail(new ProviderError.InvalidRequest({ provider: "test", model: "m", detail: "bad" })) }).layer)
      )
      assert.strictEqual(failed.status, "failed")
      const end = failing.output.join("").trim().split("\n").at(-1)!
      assert.match(end, /^\[\s*\d+%\] failed \(AllAgentsFailed\): /)
      assert.isTrue(end.endsWith(`): 1/1 agents in ${Format.formatSeconds(failed.executionTime)}, $0.0000`), end)
      assert.notInclude(end, "bad")
    }))
})

const formatted = Format.formatCost

/** The state of a bar that watched a run of these agents. */
const stateAfter = (layer: Layer.Layer<Provider.Provider>, ids: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const bar = yield* ProgressBar.make({ live: false }).pipe(Effect.provide(fakeTerminal({ isTTY: false }).layer))
    yield* Orchestrator.run(fixedWorkflow(tasks(...ids)), "task", { onEvent: bar.onEvent }).pipe(Effect.provide(layer))
    return yield* bar.state
  })
