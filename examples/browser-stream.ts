/**
 * Streaming to a browser: a page that shows each agent's text as its model writes it, from the run's
 * Server-Sent Events. The run streams tokens (`streamTokens: true`), so that its events include
 * `agent_delta`: at most one per agent per 50 ms, whatever the number of agents.
 *
 *   npx tsx examples/browser-stream.ts        # then open http://127.0.0.1:3000/
 *   PORT=0 npx tsx examples/browser-stream.ts # any free port
 */
import { createServer } from "node:http"
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { DreamCascade, EventHub, Orchestrator, Provider, Sse } from "multi-agent-orchestration"

// Text from events goes into the page as text (textContent), never as HTML.
const page = `<!doctype html>
<meta charset="utf-8"><title>Agents writing</title>
<style>body { font: 15px system-ui; margin: 2rem } pre { white-space: pre-wrap; background: #8881; padding: .5rem }</style>
<h1>Agents writing</h1><div id="agents"></div>
<script>
const panes = new Map()
const pane = (id) => {
  if (!panes.has(id)) {
    const h = document.createElement("h3"); h.textContent = id
    const pre = document.createElement("pre")
    document.getElementById("agents").append(h, pre)
    panes.set(id, pre)
  }
  return panes.get(id)
}
const events = new EventSource("/events")
events.addEventListener("agent_delta", (message) => {
  const event = JSON.parse(message.data)
  const pre = pane(event.agentId)
  // A retry or a fallback starts the agent's text again.
  pre.textContent = (event.data.restart ? "" : pre.textContent) + event.data.text
})
events.addEventListener("agent_complete", (message) => { pane(JSON.parse(message.data).agentId).style.borderLeft = "3px solid green" })
events.addEventListener("workflow_complete", () => events.close())
</script>`

const program = Effect.gen(function*() {
  const hub = yield* EventHub.make({ replay: 10_000 })
  yield* HttpServer.serveEffect(HttpRouter.empty.pipe(
    HttpRouter.get("/", HttpServerResponse.html(page)),
    HttpRouter.get("/events", Sse.handler(hub))
  ))
  yield* HttpServer.logAddress
  const result = yield* Orchestrator.run(
    DreamCascade.make({ belterCount: 4, drummerCount: 2, caminaCount: 1 }),
    "How do heat pumps work in cold climates?",
    { streamTokens: true, onEvent: hub.publish }
  )
  yield* Console.log(`Run ${result.status}; the page stays up (Ctrl-C to stop).`)
  yield* Effect.never
})

program.pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(
    NodeHttpServer.layer(createServer, { port: Number(process.env.PORT ?? 3000), host: "127.0.0.1" }),
    // Each call takes three seconds and is written a word at a time.
    Provider.simulated({ latency: "3 seconds" })
  )),
  NodeRuntime.runMain
)
