import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { EventHub, Orchestrator, Provider, Sse } from "multi-agent-orchestration"
import { livePage } from "../src/bin/page.js"
import { launchBrowser } from "./browser.js"
import { fixedWorkflow, tasks } from "./helpers.js"
import { serve } from "./servers.js"

describe("the live page", () => {
  it.scopedLive("shows each agent's text as it is written, before the agent is done", () =>
    Effect.gen(function*() {
      // The model writes "Hello " and then waits for the test before it writes the rest.
      const gate = yield* Deferred.make<void>()
      const completion = { content: "Hello world", model: "m", usage: { inputTokens: 1, outputTokens: 2 } }
      const provider = Provider.make(() => Effect.succeed(completion), {
        stream: () =>
          Stream.concat(
            Stream.make(Provider.textDelta("Hello ")),
            Stream.fromEffect(Effect.as(Deferred.await(gate), Provider.textDelta("world")))
          ).pipe(Stream.concat(Stream.make(Provider.finish(completion))))
      })
      const hub = yield* EventHub.make()
      const url = yield* serve(HttpRouter.empty.pipe(
        HttpRouter.get("/", HttpServerResponse.html(livePage("Streaming"))),
        HttpRouter.get("/events", Sse.handler(hub))
      ))
      const run = yield* Orchestrator.run(fixedWorkflow(tasks("a")), "task", {
        streamTokens: true,
        onEvent: hub.publish
      }).pipe(Effect.provide(provider), Effect.fork)

      const browser = yield* Effect.acquireRelease(
        Effect.promise(launchBrowser),
        (browser) => Effect.promise(() => browser.close())
      )
      const tab = yield* Effect.promise(() => browser.newPage())
      yield* Effect.promise(() => tab.goto(`${url}/`))
      yield* Effect.promise(() =>
        tab.waitForFunction("document.querySelector('td.text')?.textContent === 'Hello '", undefined, { timeout: 15_000 })
      )
      assert.strictEqual(yield* Effect.promise(() => tab.textContent("td[class^=status-]")), "running")

      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(run)
      yield* Effect.promise(() =>
        tab.waitForFunction("document.getElementById('status')?.textContent === 'completed'", undefined, { timeout: 15_000 })
      )
      assert.strictEqual(yield* Effect.promise(() => tab.textContent("td.text")), "Hello world")
    }), 60_000)
})
