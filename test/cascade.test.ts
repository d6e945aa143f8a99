import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { DreamCascade, Orchestrator, Provider, ProviderError } from "multi-agent-orchestration"
import { recorder, scripted } from "./helpers.js"

const task = "Research quantum computing applications"

/** Replies like a cooperative model: a numbered list when asked for one, else a finding naming its prompt. */
const research = (request: Provider.CompletionRequest): string => {
  const prompt = request.prompt ?? ""
  if (request.system?.includes("numbered list") === true) {
    const count = Number(/exactly (\d+)/.exec(prompt)?.[1] ?? 3)
    return Array.from({ length: count }, (_, i) => `${i + 1}. angle ${i + 1}`).join("\n")
  }
  const subtask = /Subtask: (.*)/.exec(prompt)?.[1]
  return subtask === undefined ? `synthesis by ${request.system?.split(",")[0]}` : `finding on ${subtask}`
}

const systemOf = (request: Provider.CompletionRequest) => request.system ?? ""

describe("DreamCascade", () => {
  it.effect("the README example: Belters, Drummers and Camina in three tiers", () =>
    Effect.gen(function*() {
      const result = yield* Orchestrator.run(DreamCascade.make({ belterCount: 5, drummerCount: 3, caminaCount: 1 }), task).pipe(
        Effect.provide(Provider.simulated())
      )
      assert.strictEqual(result.status, "completed")
      const tiers = result.agentResults.map((r) => r.tier)
      assert.deepStrictEqual(tiers, ["belter", "belter", "belter", "belter", "belter", "drummer", "drummer", "drummer", "camina"])
      assert.deepStrictEqual(result.agentResults.map((r) => r.agentType).slice(4, 6), ["worker", "synthesizer"])
      assert.deepStrictEqual(
        result.synthesisResults.map((s) => [s.level, s.sourceAgentIds.length]),
        [["drummer", 2], ["drummer", 2], ["drummer", 1], ["camina", 8]]
      )
      assert.strictEqual(result.finalSynthesis, result.agentResults.at(-1)!.content)
      assert.deepStrictEqual(Object.keys(result.costs!.byTier).sort(), ["belter", "camina", "decomposition", "drummer"])
      assert.strictEqual(result.costs!.byTier.belter!.calls, 5)
      assert.strictEqual(result.costs!.total.calls, 10)
      assert.deepStrictEqual(result.metadata.tiers, {
        belter: { planned: 5, completed: 5 },
        drummer: { planned: 3, completed: 3 },
        camina: { planned: 1, completed: 1 }
      })
    }))

  it.effect("each tier receives what the one below produced", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ reply: (request) => Effect.succeed(research(request)) })
      yield* Orchestrator.run(DreamCascade.make({ belterCount: 4, drummerCount: 2, caminaCount: 1 }), task).pipe(Effect.provide(layer))
      const prompts = log.calls.map((call) => call.request)
      const planner = prompts[0]!
      assert.include(planner.prompt!, "exactly 4 research subtasks")
      assert.include(planner.prompt!, task)
      const drummers = prompts.filter((r) => systemOf(r).startsWith("You are a Drummer"))
      assert.strictEqual(drummers.length, 2)
      assert.include(drummers[0]!.prompt!, "finding on angle 1")
      assert.include(drummers[0]!.prompt!, "finding on angle 2")
      assert.notInclude(drummers[0]!.prompt!, "finding on angle 3")
      assert.include(drummers[1]!.prompt!, "finding on angle 4")
      const camina = prompts.find((r) => systemOf(r).startsWith("You are Camina"))!
      assert.include(camina.prompt!, "## drummer-1")
      assert.include(camina.prompt!, "## drummer-2")
      assert.include(camina.prompt!, "[belter-4]")
      assert.include(systemOf(camina), "Executive summary")
    }))

  it.effect("a Drummer starts as soon as its own Belters are done", () =>
    Effect.gen(function*() {
      const { layer } = scripted({
        latency: (request) => (request.prompt?.includes("Subtask: angle 4") === true ? "10 seconds" : "1 second"),
        reply: (request) => Effect.succeed(research(request))
      })
      const events = recorder()
      const fiber = yield* Orchestrator.run(DreamCascade.make({ belterCount: 4, drummerCount: 2, caminaCount: 1 }), task, {
        onEvent: events.onEvent
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      const startedAt = Object.fromEntries(events.ofType("agent_start").map((e) => [e.data.subtaskId, e.timestamp]))
      // Planning takes 1s, Belters 1s (belter-4: 10s), so drummer-1 starts at 2s and drummer-2 at 11s.
      assert.strictEqual(startedAt["drummer-1"], 2000)
      assert.strictEqual(startedAt["drummer-2"], 11000)
      assert.strictEqual(startedAt["camina-1"], 12000)
    }))

  it.effect("the plan is parsed robustly, trimmed or padded to size, and an unusable one is replaced and announced", () =>
    Effect.gen(function*() {
      const plan = (reply: string, belterCount: number) =>
        Effect.gen(function*() {
          const events = recorder()
          const { layer } = scripted({
            reply: (request) =>
              Effect.succeed(systemOf(request).includes("numbered list") ? reply : "finding")
          })
          const result = yield* Orchestrator.run(DreamCascade.make({ belterCount, drummerCount: 1 }), task, {
            onEvent: events.onEvent
          }).pipe(Effect.provide(layer))
          const decomposed = events.ofType("decomposition_complete")[0]!
          return {
            belters: decomposed.data.subtasks.filter((s) => s.tier === "belter").map((s) => s.description),
            note: decomposed.data.fallbackReason,
            result
          }
        })
      const bullets = yield* plan("Here is the plan:\n\n- **History** of the field\n* Current hardware\n• Algorithms\n3) Applications", 4)
      assert.deepStrictEqual(bullets.belters, ["History of the field", "Current hardware", "Algorithms", "Applications"])
      assert.isUndefined(bullets.note)
      const long = yield* plan("1. a\n2. b\n3. c\n4. d\n5. e\n6. f\n7. g", 3)
      assert.deepStrictEqual(long.belters, ["a", "b", "c"])
      const short = yield* plan("1. only one", 3)
      assert.strictEqual(short.belters.length, 3)
      assert.strictEqual(short.belters[0], "only one")
      assert.strictEqual(short.note, "the plan listed 1 of 3 subtasks; added 2 default ones")
      const refused = yield* plan("I cannot help with that.", 3)
      assert.strictEqual(refused.note, "the plan had no usable list; used 3 default subtasks")
      assert.isTrue(refused.belters.every((d) => d.endsWith(task)))
      assert.strictEqual(refused.result.status, "completed")
      assert.strictEqual(refused.result.metadata.decompositionFallback, refused.note)
    }))

  it.effect("if every Drummer fails, Camina works from the Belter findings, and the result says so", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({
        reply: (request) =>
          systemOf(request).startsWith("You are a Drummer")
            ? Effect.fail(new ProviderError.InvalidRequest({ provider: "scripted", status: 400 }))
            : Effect.succeed(research(request))
      })
      const result = yield* Orchestrator.run(DreamCascade.make({ belterCount: 3, drummerCount: 2, caminaCount: 1 }), task).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(result.status, "completed")
      const camina = log.calls.find((call) => systemOf(call.request).startsWith("You are Camina"))!.request
      assert.include(camina.prompt!, "no Drummer synthesis was available")
      assert.include(camina.prompt!, "finding on angle 2")
      assert.deepStrictEqual(result.agentResults.at(-1)!.metadata, { source: "belters" })
      assert.deepStrictEqual(result.metadata.degraded, ["every Drummer failed: Camina worked from the Belter findings"])
      assert.deepStrictEqual(result.synthesisResults.map((s) => s.status), ["failed", "failed", "completed"])
    }))

  it.effect("if Camina fails, the final synthesis is the combined Drummer output", () =>
    Effect.gen(function*() {
      const { layer } = scripted({
        reply: (request) =>
          systemOf(request).startsWith("You are Camina")
            ? Effect.fail(new ProviderError.InvalidRequest({ provider: "scripted", status: 400 }))
            : Effect.succeed(research(request))
      })
      const result = yield* Orchestrator.run(DreamCascade.make({ belterCount: 4, drummerCount: 2, caminaCount: 1 }), task).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(result.status, "completed")
      assert.match(result.finalSynthesis!, /^# Combined synthesis\n\nsynthesis by You are a Drummer\n\n---\n\nsynthesis by You are a Drummer$/)
      assert.deepStrictEqual(result.metadata.degraded, ["every Camina failed: the final synthesis combines the Drummer syntheses"])
    }))

  it.effect("several Caminas write from their own perspectives, merged under headings", () =>
    Effect.gen(function*() {
      const result = yield* Orchestrator.run(DreamCascade.make({ belterCount: 2, drummerCount: 1, caminaCount: 2 }), task).pipe(
        Effect.provide(Provider.simulated())
      )
      assert.match(result.finalSynthesis!, /^# Executive summary\n\n[\s\S]+\n\n# Risks, gaps and open questions\n\n/)
    }))

  it.effect("models and timeouts can be set per tier, and default to workerModel and synthesisModel", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted({ reply: (request) => Effect.succeed(research(request)) })
      const result = yield* Orchestrator.run(
        DreamCascade.make({ belterCount: 2, drummerCount: 1, caminaModel: "claude-sonnet-4-5", belterTimeoutSeconds: 20 }),
        task,
        { config: { primaryModel: "gpt-4o", workerModel: "gpt-4o-mini", synthesisModel: "gpt-4.1" } }
      ).pipe(Effect.provide(layer))
      const modelOf = (prefix: string) =>
        log.calls.filter((call) => systemOf(call.request).startsWith(prefix)).map((call) => call.request.model)
      assert.deepStrictEqual(modelOf("You plan research"), ["gpt-4o"])
      assert.deepStrictEqual(modelOf("You are a Belter"), ["gpt-4o-mini", "gpt-4o-mini"])
      assert.deepStrictEqual(modelOf("You are a Drummer"), ["gpt-4.1"])
      assert.deepStrictEqual(modelOf("You are Camina"), ["claude-sonnet-4-5"])
      assert.deepStrictEqual(Object.keys(result.costs!.byModel).sort(), ["claude-sonnet-4-5", "gpt-4.1", "gpt-4o", "gpt-4o-mini"])
    }))

  it.effect("a Belter over its tier's time bound fails alone", () =>
    Effect.gen(function*() {
      const { layer } = scripted({
        latency: (request) => (request.prompt?.includes("angle 2") === true ? "1 minute" : "1 second"),
        reply: (request) => Effect.succeed(research(request))
      })
      const fiber = yield* Orchestrator.run(DreamCascade.make({ belterCount: 3, drummerCount: 1, belterTimeoutSeconds: 5 }), task).pipe(
        Effect.provide(layer),
        Effect.fork
      )
      yield* TestClock.adjust("5 minutes")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.agentResults[1]!.error, "timed out after 5s")
      assert.strictEqual(result.agentResults[1]!.executionTime, 5)
      assert.deepStrictEqual(result.synthesisResults[0]!.sourceAgentIds, ["belter-1", "belter-3"])
      assert.strictEqual(result.status, "completed")
    }))

  it.effect("bad options are refused before any provider call", () =>
    Effect.gen(function*() {
      const { layer, log } = scripted()
      const error = yield* Orchestrator.run(DreamCascade.make({ belterCount: 0, drummerCount: 2, caminaCount: -1 }), task).pipe(
        Effect.provide(layer),
        Effect.flip
      )
      assert.deepStrictEqual(error.problems, [
        "dream-cascade: belterCount must be an integer of at least 1, got 0",
        "dream-cascade: caminaCount must be an integer of at least 0, got -1",
        "dream-cascade: drummerCount (2) cannot exceed belterCount (0)"
      ])
      assert.strictEqual(log.calls.length, 0)
    }))
})
