import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { openAiStream, streamServer } from "./streamServers.js"
import { openAiResponse } from "./fakeServers.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const run = promisify(execFile)

const example = (env: Record<string, string>) =>
  Effect.promise(() => {
    const clean = { ...process.env }
    delete clean.OPENAI_API_KEY
    delete clean.ANTHROPIC_API_KEY
    delete clean.OPENAI_BASE_URL
    delete clean.ANTHROPIC_BASE_URL
    return run(process.execPath, ["--import", "tsx", "examples/own-model.ts"], {
      cwd: root,
      timeout: 60_000,
      env: { ...clean, NO_COLOR: "1", ...env }
    })
  })

describe("examples/own-model.ts", () => {
  it.live("offline, a LanguageModel of its own streams every agent's text and is priced", () =>
    Effect.gen(function*() {
      const { stdout } = yield* example({})
      assert.include(stdout, "using the in-process model")
      assert.include(stdout, "provider: model, status: completed")
      assert.match(stdout, /^camina-1 \(echo-large\): 50 in, 10 out, \$0\.000090, streamed \d+ characters$/m)
      assert.match(stdout, /^total: \$0\.00054$/m)
    }), 90_000)

  it.scopedLive("with OPENAI_API_KEY, OpenAI through @effect/ai-openai on the example's own HttpClient", () =>
    Effect.gen(function*() {
      const server = yield* streamServer((request) => {
        // The plan is typed output, asked for whole; every other call streams.
        if (request.json.stream !== true) {
          const plan = openAiResponse("1. tidal range\n2. tidal stream\n3. costs", request.json.model, { input: 120, output: 30 })
          return { contentType: "application/json", pieces: [JSON.stringify(plan)] }
        }
        const wire = openAiStream(request.json.model, ["A ", "streamed ", "brief."], { input: 120, output: 30 })
        return { pieces: [...wire.head, ...wire.deltas, ...wire.tail] }
      })
      const { stdout } = yield* example({ OPENAI_API_KEY: "sk-example-0123456789", OPENAI_BASE_URL: `${server.url}/v1` })
      assert.include(stdout, "provider: openai, status: completed")
      assert.match(stdout, /^belter-1 \(gpt-4o-mini\): 120 in, 30 out, \$0\.000036, streamed 17 characters$/m)
      // Every call went through the example's HttpClient: logged, and carrying its header.
      assert.strictEqual(stdout.match(/^POST http:\/\/127\.0\.0\.1:\d+\/v1\/responses → 200$/gm)?.length, server.received.length)
      assert.isTrue(server.received.every((request) => request.headers["x-request-source"] === "own-model-example"))
      assert.strictEqual(server.received.filter((request) => request.json.stream !== true).length, 1)
    }), 90_000)
})
