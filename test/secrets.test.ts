import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, LogLevel, Option, Redacted, TestClock } from "effect"
import {
  DreamCascade,
  Format,
  Orchestrator,
  type OrchestratorError,
  OrchestratorEvent,
  OrchestratorResult,
  Provider,
  Report
} from "multi-agent-orchestration"
import { anthropicMessage, buildProvider, chatCompletion, fakeServer, openAiResponse, type Reply } from "./fakeServers.js"
import { assertNoFragment, findFragment, secretPart } from "./leaks.js"

/** One provider layer, with a key of its own. */
interface Kit {
  readonly name: string
  readonly model: string
  readonly key: string
  readonly layer: (url: string) => Layer.Layer<Provider.Provider, OrchestratorError.InvalidConfig>
  readonly success: (text: string) => unknown
}

const kits: ReadonlyArray<Kit> = [
  {
    name: "openai",
    model: "gpt-4o-mini",
    key: "sk-proj-Q7vT2mK9xR4wL8pZ3nB6cY1hJ5sD0fGa",
    layer(url) {
      return Provider.openAi({ apiKey: Redacted.make(this.key), apiUrl: `${url}/v1`, timeout: "1 hour" })
    },
    success: (text) => openAiResponse(text, "gpt-4o-mini", { input: 10, output: 5 })
  },
  {
    name: "anthropic",
    model: "claude-sonnet-4-5",
    key: "sk-ant-api03-Hx8Kd2Lm5Qp9Rt3Vw7Yz1Ab4Cd6Ef0GhJ",
    layer(url) {
      return Provider.anthropic({ apiKey: Redacted.make(this.key), apiUrl: url, timeout: "1 hour" })
    },
    success: (text) => anthropicMessage(text, "claude-sonnet-4-5", { input: 10, output: 5 })
  },
  {
    name: "openAiCompatible",
    model: "llama3.1",
    key: "sk-Mn3Bv7Cx1Zq5Wr9Ty2Ui6Op0As4Df8GhK",
    layer(url) {
      return Provider.openAiCompatible({ baseUrl: `${url}/v1`, apiKey: Redacted.make(this.key), timeout: "1 hour" })
    },
    success: (text) => chatCompletion(text, "llama3.1", { input: 10, output: 5 })
  }
]

/** A key nobody configured: scrubbed because it looks like a key. */
const foreignKey = "sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2"

/** Where the excerpt of a non-JSON body and the message of an error body used to be cut. */
const excerptCut = 60
const messageCut = 299

/** A 200 `text/html` page whose key starts 30 characters before the excerpt's cut, and again further on. */
const htmlPage = (key: string, keyAt = excerptCut - 30): Reply => {
  const head = "<html><head><title>Sign-in: "
  return {
    headers: { "content-type": "text/html; charset=utf-8", "x-echo-key": key },
    text: `${head}${"y".repeat(Math.max(0, keyAt - head.length))}${key}</title></head><body><p>Your key ${key} ` +
      `was refused.</p></body></html>`
  }
}

/** A 503 with a long JSON `message` quoting the key (once as JSON escapes), a bearer header and a foreign key. */
const longMessage = (key: string): Reply => {
  const escaped = [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")
  const message = `Upstream refused Authorization: Bearer ${key}. ${"The service is overloaded. ".repeat(12)}` +
    `Key on file: ${key}; also tried ${foreignKey}; escaped: @ESCAPED@`
  return {
    status: 503,
    headers: { "content-type": "application/json", "x-echo-key": key, "retry-after": key },
    text: JSON.stringify({ type: "error", error: { type: "overloaded_error", message } }).replace("@ESCAPED@", escaped)
  }
}

/** A 503 whose JSON `message` has the key across the cut, `keep` of its characters before it. */
const splitMessage = (key: string, keep: number): Reply => ({
  status: 503,
  json: { error: { message: `${"x".repeat(messageCut - keep)}${key} (the key you sent)` } }
})

/** The three ways, in turn, after a first reply that succeeds (the decomposition). */
const leaky = (kit: Kit) => (_: unknown, n: number): Reply => {
  if (n === 1) return { json: kit.success("1. Tides\n2. Turbines\n3. Grids") }
  const way = (n - 2) % 3
  return way === 0 ? htmlPage(kit.key) : way === 1 ? longMessage(kit.key) : splitMessage(kit.key, 24 + (n % 8))
}

/**
 * Runs `effect` while advancing the TestClock in small steps, giving real sockets time between steps, so that
 * retries wait their backoff in virtual time.
 */
const withVirtualTime = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (;;) {
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) return yield* exit.value
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
      yield* TestClock.adjust("500 millis")
    }
  })

describe("no secret leaks, not even in part", () => {
  it("the test's own check finds an 8-character piece of a secret anywhere, and nothing shorter", () => {
    const key = kits[1]!.key
    assert.strictEqual(secretPart(key), "Hx8Kd2Lm5Qp9Rt3Vw7Yz1Ab4Cd6Ef0GhJ")
    assert.deepStrictEqual(findFragment(`text ${key.slice(20, 28)} text`, key), { fragment: key.slice(20, 28), at: 5 })
    assert.isUndefined(findFragment(`text ${key.slice(20, 27)}… text sk-ant-api03-`, key))
  })

  for (const kit of kits) {
    describe(`Provider.${kit.name}`, () => {
      it.scoped("a key cut by the excerpt of a page or by the message's length leaves no piece of itself, at any offset", () =>
        Effect.gen(function*() {
          const offsets = Array.from({ length: kit.key.length + 8 }, (_, i) => i)
          // Calls 1..n cut the message after i characters of the key; calls n+1..2n put the key across the
          // page excerpt's cut at every offset.
          const server = yield* fakeServer((_, n) =>
            n <= offsets.length
              ? splitMessage(kit.key, offsets[n - 1]!)
              : htmlPage(kit.key, excerptCut - offsets[n - 1 - offsets.length]!)
          )
          const provider = yield* buildProvider(kit.layer(server.url))
          const shown: Array<string> = []
          for (let i = 0; i < 2 * offsets.length; i++) {
            const error = yield* Effect.flip(provider.complete({ prompt: "hi" }))
            shown.push(error.message, JSON.stringify(error))
          }
          assert.strictEqual(server.received.length, 2 * offsets.length)
          for (const text of shown) assertNoFragment(text, kit.key, "an error")
          assert.include(shown.join("\n"), "[redacted]")
          assert.include(shown.join("\n"), `content type is "text/html; charset=utf-8"`)
        }))

      it.scoped("a Dream Cascade against a server that echoes the key shows no piece of it anywhere", () =>
        Effect.gen(function*() {
          const server = yield* fakeServer(leaky(kit))
          const events: Array<OrchestratorEvent.OrchestratorEvent> = []
          const logs: Array<string> = []
          const logger = Logger.make((options) => {
            logs.push(Logger.logfmtLogger.log(options))
          })
          const result = yield* withVirtualTime(
            Orchestrator.run(DreamCascade.make({ belterCount: 3, drummerCount: 1, caminaCount: 1 }), "Research tidal energy", {
              config: { primaryModel: kit.model, maxRetries: 1, timeoutSeconds: 3600 },
              // Like a user who logs every event.
              onEvent: (event) => {
                events.push(event)
                return Effect.logDebug(OrchestratorEvent.toJson(event))
              }
            }).pipe(
              Effect.provide(Layer.merge(kit.layer(server.url), Logger.replace(Logger.defaultLogger, logger))),
              Logger.withMinimumLogLevel(LogLevel.All)
            )
          )

          // The key reached the server, every way of echoing it was served, and each was shown.
          assert.isAtLeast(server.received.length, 6)
          const sent = server.received.map((r) => r.headers.authorization ?? r.headers["x-api-key"])
          assert.isTrue(sent.every((value) => value === kit.key || value === `Bearer ${kit.key}`))
          const errors = [
            result.error ?? "",
            result.failure === undefined ? "" : result.failure.message,
            ...result.agentResults.map((agent) => agent.error ?? ""),
            ...result.synthesisResults.map((synthesis) => synthesis.error ?? "")
          ]
          const output: ReadonlyArray<readonly [string, string]> = [
            ["the events", events.map(OrchestratorEvent.toJson).join("\n")],
            ["the result", yield* OrchestratorResult.toJson(result)],
            ["the result object", JSON.stringify(result)],
            ["the error messages", errors.join("\n")],
            ["the Markdown report", Report.markdown(result)],
            ["the cost table", result.costs === undefined ? "" : Format.costTable(result.costs)],
            ["the log", logs.join("\n")]
          ]
          const all = output.map(([, text]) => text).join("\n")
          assert.include(all, "[redacted]")
          assert.include(all, "content type is \\\"text/html; charset=utf-8\\\"")
          assert.include(all, "unavailable (HTTP 503)")
          assert.isTrue(events.some((event) => event.type === "agent_retry"))
          assert.isAtLeast(logs.length, events.length)
          for (const [what, text] of output) {
            assertNoFragment(text, kit.key, what)
            assertNoFragment(text, foreignKey, what)
          }
        }))
    })
  }
})

// ============================================================================================================
// What the orchestrate process prints
// ============================================================================================================

const root = fileURLToPath(new URL("..", import.meta.url))

/** Runs the CLI as a child process with these variables (and no provider variables of the machine). */
const orchestrate = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resume) => {
    const clean: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", ...env }
    for (const name of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENAI_MODEL"]) {
      if (!(name in env)) delete clean[name]
    }
    const child = spawn(process.execPath, ["--import", "tsx", join(root, "src/bin/orchestrate.ts"), ...args], {
      cwd: root,
      env: clean
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => (stdout += chunk))
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const processes: ReadonlyArray<{ readonly kit: Kit; readonly env: (url: string) => Record<string, string> }> = [
  { kit: kits[1]!, env: (url) => ({ ANTHROPIC_API_KEY: kits[1]!.key, ANTHROPIC_BASE_URL: url }) },
  { kit: kits[2]!, env: (url) => ({ OPENAI_API_KEY: kits[2]!.key, OPENAI_BASE_URL: `${url}/v1` }) }
]

describe("the orchestrate process", () => {
  for (const { env, kit } of processes) {
    it.live(`prints no piece of the ${kit.name} key on stdout or stderr, nor in its event log or report`, () =>
      Effect.gen(function*() {
        const server = yield* fakeServer(leaky(kit))
        const dir = mkdtempSync(join(tmpdir(), "orchestrate-secrets-"))
        const events = join(dir, "events.jsonl")
        const run = yield* orchestrate([
          "cascade",
          "Research tidal energy",
          "--belters",
          "3",
          "--drummers",
          "1",
          "--model",
          kit.model,
          "--retries",
          "1",
          "--events",
          events,
          "--format",
          "md",
          "--out",
          join(dir, "reports")
        ], env(server.url))
        const reports = readdirSync(join(dir, "reports"), { recursive: true, encoding: "utf8" })
          .filter((file) => file.endsWith(".md"))
          .map((file) => readFileSync(join(dir, "reports", file), "utf8"))
        const output: ReadonlyArray<readonly [string, string]> = [
          ["stdout", run.stdout],
          ["stderr", run.stderr],
          ["the event log", readFileSync(events, "utf8")],
          ["the report", reports.join("\n")]
        ]
        assert.isAtLeast(server.received.length, 6, run.stderr)
        assert.isNotEmpty(run.stdout + run.stderr)
        assert.include(output.map(([, text]) => text).join("\n"), "[redacted]")
        for (const [what, text] of output) {
          assertNoFragment(text, kit.key, what)
          assertNoFragment(text, foreignKey, what)
        }
      }).pipe(Effect.scoped), { timeout: 90_000 })
  }
})
