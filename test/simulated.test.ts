import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, TestClock } from "effect"
import { Provider, ProviderError, Usage } from "multi-agent-orchestration"

const ask = (request: Provider.CompletionRequest) => Provider.complete(request)

describe("Provider.simulated", () => {
  it.effect("answers deterministically with structured text derived from the prompt", () =>
    Effect.gen(function*() {
      const request = { prompt: "Subtask: Survey quantum error correction in superconducting qubits" }
      const first = yield* ask(request)
      const second = yield* ask(request)
      assert.strictEqual(first.content, second.content)
      assert.match(first.content, /^## Survey quantum error correction/)
      assert.include(first.content, "### Key findings")
      assert.match(first.content, /\n- /)
      assert.strictEqual(first.model, "simulated")
      assert.deepStrictEqual(first.usage, {
        inputTokens: Usage.estimateTokens(request.prompt),
        outputTokens: Usage.estimateTokens(first.content)
      })
    }).pipe(Effect.provide(Provider.simulated())))

  it.effect("gives a numbered list of the size asked for, and JSON when asked for a score", () =>
    Effect.gen(function*() {
      const list = yield* ask({
        system: "Reply with a numbered list only.",
        prompt: "Break the task into 7 research subtasks.\nTask: Research quantum computing applications",
        model: "gpt-4o"
      })
      const lines = list.content.split("\n")
      assert.strictEqual(lines.length, 7)
      lines.forEach((line, i) => assert.match(line, new RegExp(`^${i + 1}\\. .*quantum computing applications`)))
      assert.strictEqual(list.model, "gpt-4o")

      const judged = yield* ask({ system: "Rate the draft. Reply with JSON: {\"score\": 0-1}", prompt: "Draft: ..." })
      const parsed = JSON.parse(judged.content)
      assert.isAtLeast(parsed.score, 0)
      assert.isAtMost(parsed.score, 1)
      assert.isString(parsed.critique)
    }).pipe(Effect.provide(Provider.simulated())))

  it.effect("stops at maxTokens like a real model", () =>
    Effect.gen(function*() {
      const reply = yield* ask({ prompt: "Subtask: a long question about distributed consensus", maxTokens: 20 })
      assert.isAtMost(reply.content.length, 80)
      assert.isAtMost(reply.usage.outputTokens, 20)
    }).pipe(Effect.provide(Provider.simulated())))

  it.effect("waits its latency on the Clock, so TestClock drives it", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(ask({ prompt: "hello" }))
      yield* TestClock.adjust("199 millis")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const completion = yield* Fiber.join(fiber)
      assert.include(completion.content, "hello")
    }).pipe(Effect.provide(Provider.simulated({ latency: "200 millis" }))))

  it.effect("fails the planned calls with the planned error", () =>
    Effect.gen(function*() {
      const outcomes = yield* Effect.forEach([1, 2, 3, 4, 5, 6], () => Effect.either(ask({ prompt: "x", model: "m" })))
      const failed = outcomes.flatMap((outcome, i) => (Either.isLeft(outcome) ? [i + 1] : []))
      assert.deepStrictEqual(failed, [2, 5])
      const error = (outcomes[1] as Either.Left<ProviderError.ProviderError, Provider.Completion>).left
      assert.instanceOf(error, ProviderError.RateLimited)
      assert.strictEqual(Duration.toSeconds((error as ProviderError.RateLimited).retryAfter!), 7)
    }).pipe(Effect.provide(Provider.simulated({
      failures: {
        calls: [2, 5],
        error: ({ model }) => new ProviderError.RateLimited({ provider: "simulated", model, retryAfter: Duration.seconds(7) })
      }
    }))))

  it.effect("fails a seeded share of calls, the same ones for the same seed", () =>
    Effect.gen(function*() {
      const failures = (seed: number) =>
        Effect.gen(function*() {
          const provider = yield* Provider.makeSimulated({ failures: { rate: 0.3, seed } })
          const outcomes = yield* Effect.forEach(Array.from({ length: 1000 }), () => Effect.either(provider.complete({ prompt: "x" })))
          return outcomes.flatMap((outcome, i) => (Either.isLeft(outcome) ? [i] : []))
        })
      const a = yield* failures(42)
      const b = yield* failures(42)
      const c = yield* failures(7)
      assert.deepStrictEqual(a, b)
      assert.notDeepEqual(a, c)
      assert.isAbove(a.length, 250)
      assert.isBelow(a.length, 350)
      const error = yield* Effect.flip((yield* Provider.makeSimulated({ failures: { calls: [1] } })).complete({ prompt: "x" }))
      assert.instanceOf(error, ProviderError.Unavailable)
      assert.isTrue(error.transient)
    }))

  it.effect("Provider.make turns a function into a provider", () =>
    Effect.gen(function*() {
      const completion = yield* ask({ system: "s", messages: [{ role: "user", content: "ping" }], prompt: "pong" })
      assert.strictEqual(completion.content, "user:ping|user:pong")
    }).pipe(Effect.provide(Provider.make((request) =>
      Effect.succeed({
        content: Provider.messagesOf(request).map((m) => `${m.role}:${m.content}`).join("|"),
        model: request.model ?? "echo",
        usage: Usage.empty
      })
    ))))
})
