/**
 * The orchestrate CLI, run in-process through its Effect (`runCli`), with its output captured: every case but
 * exit codes and signals, which test/cli.process.test.ts checks on real processes.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, HashMap, Layer, Schedule, Schema } from "effect"
import { DreamSwarm, OrchestratorConfig, OrchestratorEvent, OrchestratorResult, Provider, RunStore } from "multi-agent-orchestration"
import { command, runCli, subcommands } from "../src/bin/cli.js"
import { colorAllowed } from "../src/bin/help.js"
import * as Output from "../src/bin/output.js"
import { providerLayer } from "../src/bin/providers.js"
import { CancelSignal } from "../src/bin/research.js"
import * as spec from "../src/bin/spec.js"
import { chatCompletion, fakeServer } from "./fakeServers.js"

interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

interface Options {
  /** The environment the providers read (none of the machine's keys). */
  readonly env?: Readonly<Record<string, string>>
  /** Ctrl-C: completes when the output so far satisfies it. */
  readonly interruptWhen?: (seen: Ran) => boolean
  readonly color?: boolean
}

/** Runs `orchestrate ...argv` in this process and returns its exit code and what it printed. */
const orchestrate = (argv: ReadonlyArray<string>, options: Options = {}) =>
  Effect.gen(function*() {
    let stdout = ""
    let stderr = ""
    const output = Output.make({
      stdout: (text) => void (stdout += text),
      stderr: (text) => void (stderr += text),
      color: options.color ?? false,
      columns: 120
    })
    const seen = () => ({ code: -1, stdout, stderr })
    const interrupt = options.interruptWhen
    const cancel = interrupt === undefined
      ? Effect.never
      : Effect.repeat(Effect.sync(() => interrupt(seen())), { until: (now) => now, schedule: Schedule.spaced("20 millis") }).pipe(
        Effect.asVoid
      )
    const code = yield* runCli(argv).pipe(
      Effect.provide(Layer.mergeAll(NodeContext.layer, Output.services(output), Layer.succeed(CancelSignal, { await: cancel }))),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(options.env ?? {}))))
    )
    return { code, stdout, stderr }
  })

const scratch = () => mkdtempSync(join(tmpdir(), "orchestrate-"))
const small = ["--belters", "3", "--drummers", "1", "--provider", "simulated"]
const decode = (json: string) => Schema.decodeUnknownSync(OrchestratorResult.OrchestratorResult)(JSON.parse(json))
const events = (file: string) =>
  readFileSync(file, "utf8").trim().split("\n").map((line) => Schema.decodeUnknownSync(OrchestratorEvent.OrchestratorEvent)(JSON.parse(line)))
const lines = (text: string) => text.trim().split("\n").filter((line) => line !== "")

describe("orchestrate: runs", () => {
  it.live("cascade writes reports and an event log, and --json prints a result that decodes with its Schema", () =>
    Effect.gen(function*() {
      const dir = scratch()
      const out = join(dir, "reports")
      const log = join(dir, "events.jsonl")
      const run = yield* orchestrate(["cascade", "Research tidal energy", ...small, "--format", "md,pdf", "--out", out, "--events", log, "--json"])
      assert.strictEqual(run.code, 0, run.stderr)
      assert.strictEqual(run.stderr, "")
      const result = decode(run.stdout)
      assert.strictEqual(result.status, "completed")
      assert.deepStrictEqual(result.agentResults.map((r) => r.tier), ["belter", "belter", "belter", "drummer", "camina"])
      assert.deepStrictEqual(result.documents.map((d) => d.format), ["markdown", "pdf"])
      for (const document of result.documents) {
        assert.isTrue(document.path.startsWith(out))
        assert.strictEqual(statSync(document.path).size, document.sizeBytes)
      }
      assert.include(readFileSync(result.documents[0]!.path, "utf8"), "Research tidal energy")
      const logged = events(log)
      assert.strictEqual(logged[0]!.type, "workflow_start")
      assert.strictEqual(logged.at(-1)!.type, "workflow_complete")
      assert.deepStrictEqual(logged.map((e) => e.sequence), logged.map((_, i) => i + 1))
    }), 60_000)

  it.live("without --json: progress, the synthesis, the costs, the files written, and one duration throughout", () =>
    Effect.gen(function*() {
      const dir = scratch()
      const run = yield* orchestrate(["cascade", "Research tidal energy", ...small, "--out", dir])
      assert.strictEqual(run.code, 0, run.stderr)
      assert.match(run.stdout, /\[\s*5%\] planned 5 agents/)
      assert.match(run.stdout, /belter-1 done in \d+(ms|\.\ds)/)
      assert.include(run.stdout, "## Synthesis: Tidal energy")
      assert.match(run.stdout, /^tier camina\s+1/m)
      // --out alone asks for the Markdown report.
      assert.match(run.stdout, /^wrote .*research-tidal-energy\.md/m)
      const report = readFileSync(join(dir, "research-tidal-energy.md"), "utf8")
      const duration = /^duration: "(.+)"$/m.exec(report)![1]!
      assert.match(run.stdout, new RegExp(`^\\[100%\\] completed: 5/5 agents in ${duration}, \\$0\\.\\d+$`, "m"))
      assert.match(run.stdout, new RegExp(`^completed in ${duration}, \\$0\\.\\d+$`, "m"))
      assert.notMatch(run.stdout + run.stderr, /\x1b\[/)
    }), 60_000)

  it.live("swarm runs over the domains given; --quiet prints only the synthesis", () =>
    Effect.gen(function*() {
      const run = yield* orchestrate(["swarm", "Home batteries", "--agents", "4", "--domains", "news,technical", "--max-parallel", "2", "--provider", "simulated", "--quiet"])
      assert.strictEqual(run.code, 0, run.stderr)
      assert.include(run.stdout, "## Findings by domain")
      assert.match(run.stdout, /### news\n\n- swarm-1: .*\n- swarm-3: /)
      assert.notInclude(run.stdout, "calls  input tokens")
    }), 60_000)

  it.live("a failed run exits 1; a budget below a cent is shown with the digits that tell it apart", () =>
    Effect.gen(function*() {
      const run = yield* orchestrate(["cascade", "task", ...small, "--budget", "0.000001"])
      assert.strictEqual(run.code, 1)
      assert.match(run.stdout, /^failed in \d+(ms|\.\ds), \$0\.\d+: Budget exceeded: spent \$0\.0000\d+ of the \$0\.0000010 limit$/m)
      assert.notInclude(run.stdout, "$0.0000 of the $0.0000 limit")
      // With --quiet or --json, stdout keeps only the output asked for; the failure is said on stderr, once.
      const quiet = yield* orchestrate(["cascade", "task", ...small, "--budget", "0.000001", "--quiet"])
      assert.strictEqual(quiet.code, 1)
      assert.deepStrictEqual(lines(quiet.stderr).length, 1)
      assert.match(quiet.stderr, /^orchestrate: failed in .*Budget exceeded/)
    }), 60_000)

  it.live("Ctrl-C stops the run: what was done and what it cost, the partial result as JSON, the log ends cancelled, exit 130", () =>
    Effect.gen(function*() {
      const dir = scratch()
      const log = join(dir, "events.jsonl")
      const firstAgentDone = () => {
        try {
          return readFileSync(log, "utf8").includes("\"agent_complete\"")
        } catch {
          return false
        }
      }
      const args = ["cascade", "Tidal", "--belters", "6", "--drummers", "2", "--provider", "simulated", "--max-concurrent", "1"]
      const json = yield* orchestrate([...args, "--json", "--events", log, "--format", "md", "--out", join(dir, "reports")], {
        interruptWhen: firstAgentDone
      })
      assert.strictEqual(json.code, 130, json.stderr)
      const result = decode(json.stdout)
      assert.strictEqual(result.status, "cancelled")
      const completed = result.agentResults.filter((agent) => agent.status === "completed").length
      assert.isAtLeast(completed, 1)
      assert.isAbove(result.totalCost, 0)
      assert.strictEqual(events(log).at(-1)!.type, "workflow_cancelled")
      assert.match(json.stderr, new RegExp(`^orchestrate: interrupted after \\S+: ${completed} of \\d+ agents completed, \\$0\\.\\d+ spent\n$`))
      assert.deepStrictEqual(result.documents, [], "an interrupted run writes no reports")

      const plain = yield* orchestrate(args, { interruptWhen: (seen) => seen.stdout.includes(" done in ") })
      assert.strictEqual(plain.code, 130)
      assert.match(plain.stdout, /\] cancelled: \d+\/\d+ agents in /)
      assert.match(plain.stdout, /^total\s+\d+/m)
      assert.match(plain.stdout, /^interrupted after \S+: \d+ of \d+ agents completed, \$0\.\d+ spent$/m)
    }), 60_000)
})

describe("orchestrate: every failure prints one line", () => {
  it.live("a path the event log cannot be written to: the path and the OS reason, exit 1, before any call", () =>
    Effect.gen(function*() {
      const dir = scratch()
      writeFileSync(join(dir, "file"), "not a directory")
      const path = join(dir, "file", "events.jsonl")
      const run = yield* orchestrate(["cascade", "task", ...small, "--events", path, "--json"])
      assert.strictEqual(run.code, 1)
      assert.strictEqual(run.stdout, "")
      assert.strictEqual(run.stderr, `orchestrate: cannot write the event log ${path}: not a directory (ENOTDIR)\n`)
    }), 60_000)

  it.live("an output directory that cannot be written: the directory and the OS reason, exit 1", () =>
    Effect.gen(function*() {
      const dir = scratch()
      writeFileSync(join(dir, "file"), "not a directory")
      const out = join(dir, "file", "reports")
      const run = yield* orchestrate(["cascade", "task", ...small, "--format", "pdf", "--out", out])
      assert.strictEqual(run.code, 1)
      assert.strictEqual(run.stdout, "")
      assert.strictEqual(run.stderr, `orchestrate: cannot write reports to ${out}: not a directory (ENOTDIR)\n`)
    }), 60_000)

  it.live("reports that could not be written after the run: exit 1 and why, and --json lists none", () =>
    Effect.gen(function*() {
      const dir = scratch()
      const out = join(dir, "reports")
      // The directory is there when the run starts, and a file by the time the reports are written.
      const run = yield* orchestrate(["cascade", "task", ...small, "--format", "md", "--out", out, "--json"], {
        interruptWhen: (seen) => {
          if (seen.stdout === "" && statSync(out, { throwIfNoEntry: false })?.isDirectory() === true) {
            rmSync(out, { recursive: true })
            writeFileSync(out, "in the way")
          }
          return false
        }
      })
      assert.strictEqual(run.code, 1)
      assert.deepStrictEqual(decode(run.stdout).documents, [])
      assert.match(run.stderr, new RegExp(`^orchestrate: cannot write the markdown report ${out}: .+ \\(E[A-Z]+\\)\\n$`))
    }), 60_000)

  it.live("a --serve port already in use: the port and the OS reason, exit 1", () =>
    Effect.gen(function*() {
      const taken = createServer()
      const port = yield* Effect.async<number>((resume) => {
        taken.listen(0, "127.0.0.1", () => resume(Effect.succeed((taken.address() as { port: number }).port)))
      })
      const run = yield* orchestrate(["cascade", "task", ...small, "--serve", `127.0.0.1:${port}`]).pipe(
        Effect.ensuring(Effect.sync(() => taken.close()))
      )
      assert.strictEqual(run.code, 1)
      assert.strictEqual(run.stderr, `orchestrate: cannot serve on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`)
    }), 60_000)

  it.live("bad usage exits 2 with what was wrong and what to type instead, on one line", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["cascade"], "Missing argument <task>. Usage: orchestrate cascade <task> [options]"],
        [["cascade", "task", "--belters", "many"], "Usage: orchestrate cascade <task> [options]"],
        [["swarm", "task", "--nope"], "Usage: orchestrate swarm <task> [options]"],
        [["summon", "task"], "The commands are cascade, swarm, run"],
        [["cascade", "task", "--provider", "simulated", "--format", "docx"], "unknown report format \"docx\". Use --format md, --format pdf or --format md,pdf"],
        [["cascade", "task", "--provider", "simulated", "--format", ""], "--format needs at least one report format"],
        [["cascade", "task", "--provider", "simulated", "--format", " , "], "--format needs at least one report format"],
        [["swarm", "task", "--provider", "simulated", "--domains", "tiktok"], "unknown domain \"tiktok\" (known domains: arxiv, github"],
        [["cascade", "task", "--provider", "simulated", "--belters", "0"], "belterCount must be an integer of at least 1, got 0"],
        [["cascade", "task", "--provider", "simulated", "--timeout", "0"], "timeoutSeconds must be positive"],
        [["cascade", "task", "--provider", "anthropic"], "ANTHROPIC_API_KEY is not set. Set ANTHROPIC_API_KEY, or run offline with --provider simulated"],
        [["cascade", "task", "--provider", "simulated", "--serve", "here"], "--serve takes HOST:PORT, got \"here\". For example --serve 127.0.0.1:8080"]
      ]
      for (const [argv, expected] of cases) {
        const run = yield* orchestrate(argv)
        assert.strictEqual(run.code, 2, argv.join(" "))
        assert.strictEqual(lines(run.stderr).length, 1, run.stderr)
        assert.isTrue(run.stderr.startsWith("orchestrate: "), run.stderr)
        assert.include(run.stderr, expected)
        assert.strictEqual(run.stdout, "")
      }
    }), 60_000)
})

describe("orchestrate run FILE: the real cause of a module that does not load", () => {
  const load = (file: string) => orchestrate(["run", file, "task", "--provider", "simulated"])

  it.live("runs a workflow module the user wrote", () =>
    Effect.gen(function*() {
      const run = yield* orchestrate(["run", "test/fixtures/greeting-workflow.ts", "Say hello", "--provider", "simulated", "--json"])
      assert.strictEqual(run.code, 0, run.stderr)
      assert.deepStrictEqual(decode(run.stdout).agentResults.map((r) => r.agentId), ["only"])
    }), 60_000)

  it.live("no such file; a syntax error with its line; an import that does not resolve, named; not a Workflow", () =>
    Effect.gen(function*() {
      // Broken modules are written here, not kept as fixtures, since they would not type-check.
      const dir = scratch()
      const broken = "export default {\n  name: \"broken\",\n  // the next line has two commas\n  decompose: () => [],,\n}\n"
      writeFileSync(join(dir, "syntax-error.mjs"), broken)
      writeFileSync(join(dir, "syntax-error.ts"), broken.replace("() =>", "(): Array<string> =>"))
      writeFileSync(join(dir, "missing-import.ts"), "import { x } from \"no-such-package-for-orchestrate\"\nexport default x\n")
      writeFileSync(join(dir, "missing-sibling.mjs"), "import { x } from \"./sibling.mjs\"\nexport default x\n")
      const expectations: ReadonlyArray<readonly [string, string]> = [
        ["test/fixtures/nowhere.ts", "cannot load test/fixtures/nowhere.ts: no such file"],
        [join(dir, "syntax-error.mjs"), `cannot load ${join(dir, "syntax-error.mjs")}: syntax error at line 4: Unexpected token ','`],
        [join(dir, "syntax-error.ts"), `cannot load ${join(dir, "syntax-error.ts")}: syntax error at line 4, column`],
        [join(dir, "missing-import.ts"), "it imports \"no-such-package-for-orchestrate\", which is not installed"],
        [join(dir, "missing-sibling.mjs"), `it imports "${join(dir, "sibling.mjs")}", which does not exist`],
        ["test/fixtures/not-a-workflow.mjs", "the default export of test/fixtures/not-a-workflow.mjs is not a Workflow"]
      ]
      for (const [file, expected] of expectations) {
        const run = yield* load(file)
        assert.strictEqual(run.code, 2, file)
        assert.strictEqual(lines(run.stderr).length, 1, run.stderr)
        assert.include(run.stderr, expected, run.stderr)
        // tsx is installed here: no hint to install it.
        assert.notInclude(run.stderr, "tsx")
      }
    }), 60_000)

  it.live("a Schema decode error is printed once, as the failing paths", () =>
    Effect.gen(function*() {
      const atLoad = yield* load("test/fixtures/invalid-at-load.ts")
      assert.strictEqual(atLoad.code, 2)
      assert.strictEqual(
        atLoad.stderr,
        "orchestrate: cannot load test/fixtures/invalid-at-load.ts: invalid data: id: Expected a non empty string, actual \"\"\n"
      )

      const inRun = yield* load("test/fixtures/invalid-subtask.ts")
      assert.strictEqual(inRun.code, 1)
      const output = inRun.stdout + inRun.stderr
      assert.strictEqual(output.split("id: Expected a non empty string").length - 1, 1, output)
      assert.notInclude(output, "└─")
      assert.match(inRun.stdout, /^failed in .*: Decomposition of "invalid-subtask" failed: .*invalid data: id: Expected a non empty string, actual ""$/m)
    }), 60_000)
})

describe("orchestrate: providers from the environment", () => {
  it.live("with no --provider and no keys, a run prices itself exactly as --provider simulated does", () =>
    Effect.gen(function*() {
      const implicit = yield* orchestrate(["cascade", "Tidal", "--belters", "2", "--drummers", "1", "--json"])
      const explicit = yield* orchestrate(["cascade", "Tidal", "--belters", "2", "--drummers", "1", "--json", "--provider", "simulated"])
      assert.strictEqual(implicit.code, 0)
      assert.match(implicit.stderr, /^orchestrate: No ANTHROPIC_API_KEY, OPENAI_API_KEY or OPENAI_BASE_URL is set: running as --provider simulated/)
      const [a, b] = [decode(implicit.stdout), decode(explicit.stdout)]
      assert.isAbove(a.totalCost, 0)
      assert.strictEqual(a.totalCost, b.totalCost)
      assert.deepStrictEqual(a.costs, b.costs)
    }), 60_000)

  it.scoped("--provider compatible and --provider openai take their model from OPENAI_MODEL", () =>
    Effect.gen(function*() {
      const server = yield* fakeServer((request) => ({ json: chatCompletion("ok", request.json.model) }))
      const run = yield* orchestrate(["run", "test/fixtures/greeting-workflow.ts", "Say hello", "--provider", "compatible", "--json"], {
        env: { OPENAI_BASE_URL: `${server.url}/v1`, OPENAI_MODEL: "my-local-model" }
      })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.deepStrictEqual(server.received.map((request) => request.json.model), ["my-local-model"])

      const openai = yield* Layer.build(providerLayer("openai")).pipe(
        Effect.map((context) => Context.get(context, Provider.Provider)),
        Effect.provide(Output.services(Output.make({ stdout: () => {}, stderr: () => {}, color: false }))),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["OPENAI_API_KEY", "sk-test"], ["OPENAI_MODEL", "gpt-4.1-mini"]])))
      )
      assert.strictEqual(openai.defaultModel, "gpt-4.1-mini")
    }).pipe(Effect.provide(NodeContext.layer)), 60_000)
})

describe("orchestrate: help and output", () => {
  it.live("--help: usage lines that read orchestrate <command>, the defaults, and the exit codes", () =>
    Effect.gen(function*() {
      const main = yield* orchestrate(["--help"])
      assert.strictEqual(main.code, 0)
      assert.include(main.stdout, "orchestrate cascade <task> [options]")
      assert.include(main.stdout, "orchestrate run <file> <task> [options]")
      for (const code of ["0 ", "1 ", "2 ", "130"]) assert.match(main.stdout, new RegExp(`^  ${code}\\s+\\S`, "m"))
      const cascade = yield* orchestrate(["cascade", "--help"])
      assert.strictEqual(cascade.code, 0)
      assert.isTrue(cascade.stdout.startsWith("Usage: orchestrate cascade <task> [options]\n"))
      assert.match(cascade.stdout, /--belters N\s+research agents \(tier 1\) \(default: 5\)/)
      assert.match(cascade.stdout, /--timeout SECONDS\s+.*\(default: 300\)/)
      assert.match(cascade.stdout, /^  130\s+interrupted/m)
      assert.notMatch(cascade.stdout, /\x1b\[/)
      const none = yield* orchestrate([])
      assert.strictEqual(none.code, 2)
      assert.include(none.stderr, "orchestrate cascade <task> [options]")
    }))

  it("the defaults in the help are the ones that apply", () => {
    const defaults = OrchestratorConfig.defaults
    assert.strictEqual(spec.runOptions.maxConcurrent.shownDefault, String(defaults.maxConcurrentAgents))
    assert.strictEqual(spec.runOptions.timeout.shownDefault, String(defaults.timeoutSeconds))
    assert.strictEqual(spec.runOptions.retries.shownDefault, String(defaults.maxRetries))
    assert.deepStrictEqual(spec.defaultDomains, DreamSwarm.defaultDomains)
    assert.deepStrictEqual(spec.knownDomains, DreamSwarm.knownDomains)
    assert.strictEqual(spec.defaultStore, RunStore.defaultFilename)
    // Every command of the table is a command of the parser, and the other way round.
    assert.deepStrictEqual(
      [...HashMap.keys(Command.getSubcommands(command))].sort(),
      spec.commands.map((entry) => entry.name).sort()
    )
    assert.strictEqual(subcommands.length, spec.commands.length)
  })

  it("colours and cursor movement only on a terminal without NO_COLOR", () => {
    assert.isTrue(colorAllowed(true, {}))
    assert.isFalse(colorAllowed(false, {}))
    assert.isFalse(colorAllowed(true, { NO_COLOR: "1" }))
    assert.isFalse(colorAllowed(true, { TERM: "dumb" }))
    let written = ""
    const output = Output.make({ stdout: (text) => void (written += text), stderr: () => {}, color: false })
    output.write("stdout", "\x1b[?25l\r\x1b[2K[██░░] 50%\x1b[1m!\x1b[22m\n")
    assert.strictEqual(written, "\r[██░░] 50%!\n")
  })
})
