/**
 * W3: the makespan of a 50 → 10 → 1 Dream Cascade with 20 ms per call on the real clock and no concurrency
 * bound within a tier. The ideal is four calls in a row: the plan, a Belter, a Drummer, the Camina. The
 * provider layer is built once, as in an application; each run is timed from `Orchestrator.run` to its result.
 */
import { ManagedRuntime } from "effect"
import { DreamCascade, Orchestrator, Provider } from "multi-agent-orchestration"

export const latencyMillis = 20
export const idealMillis = 4 * latencyMillis

const runtime = ManagedRuntime.make(Provider.simulated({ latency: `${latencyMillis} millis` }))

export const runCascade = async (): Promise<number> => {
  const workflow = DreamCascade.make({ belterCount: 50, drummerCount: 10, caminaCount: 1 })
  const started = performance.now()
  const result = await runtime.runPromise(
    Orchestrator.run(workflow, "Research grid-scale storage", {
      config: { maxConcurrentAgents: 1000, primaryModel: "gpt-4o-mini" }
    })
  )
  const elapsed = performance.now() - started
  if (result.status !== "completed" || result.agentResults.length !== 61) throw new Error(`cascade ${result.status}`)
  return elapsed
}

export const dispose = () => runtime.dispose()
