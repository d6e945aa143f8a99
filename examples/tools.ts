/**
 * Tools: an agent with an `@effect/ai` Toolkit runs a bounded loop (model, tools, model, ...) and every tool
 * call shows up as `tool_call` and `tool_result` events; a failing tool goes back to the model as an error.
 *
 *   npx tsx examples/tools.ts
 */
import { Tool, Toolkit } from "@effect/ai"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Schema } from "effect"
import { Orchestrator, Provider, Workflow } from "multi-agent-orchestration"

const GetWeather = Tool.make("get_weather", {
  description: "The current weather in a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number, sky: Schema.String }),
  failure: Schema.Struct({ reason: Schema.String }),
  failureMode: "return"
})

const toolkit = Toolkit.make(GetWeather)

const handlers = toolkit.toLayer({
  get_weather: ({ city }) =>
    city === "Atlantis"
      ? Effect.fail({ reason: "no weather station there" })
      : Effect.succeed({ city, celsius: 21, sky: "clear" })
})

const Forecast = Schema.Struct({ summary: Schema.String, umbrella: Schema.Boolean })

const agent = Workflow.agent({
  name: "forecaster",
  system: "Answer with the weather tool's data.",
  tools: toolkit,
  output: Forecast,
  maxSteps: 4
})

// The simulated provider calls tools deterministically; here it is told which calls to make first.
const model = Provider.simulated({
  toolCalls: (request) =>
    request.messages?.some((message) => message.role === "tool") === true
      ? []
      : [{ name: "get_weather", params: { city: "Lisbon" } }, { name: "get_weather", params: { city: "Atlantis" } }]
})

const program = Effect.gen(function*() {
  const result = yield* Orchestrator.run(agent, "Do I need an umbrella in Lisbon?", {
    onEvent: (event) => {
      if (event.type === "tool_call") return Console.log(`tool_call ${event.data.tool} ${JSON.stringify(event.data.params)}`)
      if (event.type === "tool_result") {
        return Console.log(`tool_result ${event.data.tool} ${event.data.outcome}${event.data.error ? `: ${event.data.error}` : ""}`)
      }
      return Effect.void
    }
  })
  const forecaster = result.agentResults[0]!
  yield* Console.log(`status ${result.status}, ${forecaster.attempts} model calls, ${String(forecaster.metadata.toolCalls)} tool calls`)
  yield* Console.log(`typed: ${Schema.is(Forecast)(forecaster.value)}`)
})

program.pipe(Effect.provide(Layer.merge(model, handlers)), NodeRuntime.runMain)
