/**
 * A run watched over HTTP: its events as Server-Sent Events on /events and as WebSocket messages on /ws, for
 * any number of clients, who can join late or reconnect. The run starts with the server.
 *
 *   npx tsx examples/live-server.ts        # then: curl -N http://127.0.0.1:3000/events
 *   PORT=0 npx tsx examples/live-server.ts # any free port
 */
import { createServer } from "node:http"
import { HttpRouter, HttpServer } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { EventHub, Orchestrator, Provider, Sse, SubTask, WebSocket, Workflow } from "multi-agent-orchestration"

const research = Workflow.make({
  name: "parallel-briefs",
  decompose: (task) =>
    Effect.succeed(["history", "state of the art", "open problems", "industry"].map((angle, i) =>
      new SubTask.SubTask({ id: `brief-${i + 1}`, description: `Write a brief on the ${angle} of ${task}` })
    )),
  execute: (subtask) => Provider.complete({ prompt: subtask.description }).pipe(Effect.map((c) => c.content))
})

const program = Effect.gen(function*() {
  // The run's events go into a hub that keeps the last 1000 for clients that join late or reconnect.
  const hub = yield* EventHub.make({ replay: 1000 })

  const app = HttpRouter.empty.pipe(
    HttpRouter.get("/events", Sse.handler(hub, { heartbeat: "15 seconds" })),
    HttpRouter.get("/ws", WebSocket.handler(hub))
  )
  yield* HttpServer.serveEffect(app)
  yield* HttpServer.logAddress

  const result = yield* Orchestrator.run(research, "solid-state batteries", {
    config: { maxConcurrentAgents: 2 },
    onEvent: hub.publish
  })
  yield* Console.log(`Run ${result.status}; still serving its events to late clients (Ctrl-C to stop).`)
  yield* Effect.never
})

const port = Number(process.env.PORT ?? 3000)

program.pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(
    NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" }),
    Provider.simulated({ latency: "1 second" })
  )),
  NodeRuntime.runMain
)
