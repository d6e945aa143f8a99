/**
 * Makespan workloads, each beside a plain Promise version of the same work in the same process, as
 * actual ÷ ideal makespan (performance.md's harness). The library runs with cost tracking on and its events
 * consumed by an `onEvent` callback; the provider layer is built once, outside the timing.
 * - W2: 2,000 agents × 25 ms at concurrency 100 (ideal 500 ms);
 * - W3: a 50 → 10 → 1 Dream Cascade, 20 ms a call (ideal: plan, Belter, Drummer, Camina = 80 ms);
 * - W4: 20,000 agents × 1 s, all in flight at once (ideal 1 s), and the live heap per in-flight agent.
 * Beside them, the same work as bare Effect (`Effect.sleep` for the latency), with the same structure.
 */
import { Duration, Effect, Fiber, Layer, ManagedRuntime, Runtime } from "effect"
import { DreamCascade, Orchestrator, Provider, SubTask, Workflow } from "multi-agent-orchestration"
import pLimit from "p-limit"

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const model = "gpt-4o-mini"
const maxTokens = 50
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The Promise agent: waits its latency, then writes the same simulated reply. */
const promiseAgent = async (description: string, latencyMillis: number): Promise<string> => {
  await sleep(latencyMillis)
  return Provider.simulatedReply({ prompt: description, maxTokens })
}

/** The bare Effect agent: waits its latency with `Effect.sleep`, then writes the same simulated reply. */
const effectAgent = (description: string, latencyMillis: number): Effect.Effect<string> =>
  Effect.map(Effect.sleep(Duration.millis(latencyMillis)), () => Provider.simulatedReply({ prompt: description, maxTokens }))

const timed = async (run: () => Promise<unknown>): Promise<number> => {
  const started = performance.now()
  await run()
  return performance.now() - started
}

const subTasks = (n: number): ReadonlyArray<SubTask.SubTask> =>
  Array.from({ length: n }, (_, i) => new SubTask.SubTask({ id: `s${i}`, description: `Research item ${i}` }, true))

/** N independent agents as one workflow. */
const flat = (subtasks: ReadonlyArray<SubTask.SubTask>) =>
  Workflow.make({
    name: "flat",
    decompose: () => Effect.succeed(subtasks),
    execute: (subtask) =>
      Effect.map(Provider.complete({ prompt: subtask.description, maxTokens }), (completion) => completion.content),
    synthesize: (results) => Effect.succeed(`${results.length} results`)
  })

const simulatedWith = (latencyMillis: number) => Provider.simulated({ latency: `${latencyMillis} millis` })

const runtimeWith = (latencyMillis: number) => ManagedRuntime.make(simulatedWith(latencyMillis))

type Runtime = ReturnType<typeof runtimeWith>

const runFlat = async (
  runtime: Runtime,
  subtasks: ReadonlyArray<SubTask.SubTask>,
  concurrency: number,
  onEvent: (event: { readonly type: string }) => void = () => {}
): Promise<number> => {
  const started = performance.now()
  const result = await runtime.runPromise(
    Orchestrator.run(flat(subtasks), "latency", {
      config: { maxConcurrentAgents: concurrency, primaryModel: model, timeoutSeconds: 300 },
      onEvent
    })
  )
  const elapsed = performance.now() - started
  if (result.status !== "completed" || result.agentResults.length !== subtasks.length) {
    throw new Error(`run ${result.status}`)
  }
  return elapsed
}

const promisePool = async (subtasks: ReadonlyArray<SubTask.SubTask>, concurrency: number, latency: number) => {
  const limit = pLimit(concurrency)
  const started = performance.now()
  await Promise.all(subtasks.map((subtask) => limit(() => promiseAgent(subtask.description, latency))))
  return performance.now() - started
}

/** The same agents as bare Effect: `Effect.forEach` at the same concurrency. */
const effectPool = (subtasks: ReadonlyArray<SubTask.SubTask>, concurrency: number, latency: number) =>
  timed(() =>
    Effect.runPromise(Effect.forEach(subtasks, (subtask) => effectAgent(subtask.description, latency), { concurrency }))
  )

export interface Makespan {
  readonly library: number
  /** The Promise baseline: p-limit, or for W3 a Promise cascade. */
  readonly baseline: number
  /** The same work as bare Effect. */
  readonly bareEffect: number
  readonly ideal: number
}

/** W2: 2,000 × 25 ms at concurrency 100, the median of `runs` alternating runs. */
export const w2 = async (runs = 5): Promise<Makespan> => {
  const runtime = runtimeWith(25)
  const subtasks = subTasks(2000)
  await runFlat(runtime, subtasks, 100)
  const library: Array<number> = []
  const baseline: Array<number> = []
  const bareEffect: Array<number> = []
  for (let i = 0; i < runs; i++) {
    library.push(await runFlat(runtime, subtasks, 100))
    baseline.push(await promisePool(subtasks, 100, 25))
    bareEffect.push(await effectPool(subtasks, 100, 25))
  }
  await runtime.dispose()
  return { library: median(library), baseline: median(baseline), bareEffect: median(bareEffect), ideal: 500 }
}

/** The same cascade as Promises: plan, 50 Belters, 10 Drummers each after its 5 Belters, then the Camina. */
const promiseCascade = async (latency: number) => {
  const started = performance.now()
  await promiseAgent("plan", latency)
  const belters = Array.from({ length: 50 }, (_, i) => promiseAgent(`belter ${i}`, latency))
  const drummers = Array.from({ length: 10 }, (_, d) =>
    Promise.all(belters.slice(d * 5, d * 5 + 5)).then(() => promiseAgent(`drummer ${d}`, latency)))
  await Promise.all(drummers)
  await promiseAgent("camina", latency)
  return performance.now() - started
}

/** The same cascade as bare Effect: each Belter a fiber, each Drummer after joining its five. */
const effectCascade = (latency: number) =>
  timed(() =>
    Effect.runPromise(Effect.gen(function*() {
      yield* effectAgent("plan", latency)
      const belters = yield* Effect.forEach(Array.from({ length: 50 }, (_, i) => i), (i) =>
        Effect.fork(effectAgent(`belter ${i}`, latency)))
      yield* Effect.forEach(
        Array.from({ length: 10 }, (_, d) => d),
        (d) => Effect.zipRight(Fiber.joinAll(belters.slice(d * 5, d * 5 + 5)), effectAgent(`drummer ${d}`, latency)),
        { concurrency: "unbounded" }
      )
      yield* effectAgent("camina", latency)
    }))
  )

/** One W3 cascade on `runtime`, from call to result, in milliseconds; `options` adds to the run's options. */
export const cascadeRunner = <E>(
  runtime: ManagedRuntime.ManagedRuntime<Provider.Provider, E>,
  options: () => Omit<Orchestrator.RunOptions, "config" | "onEvent"> = () => ({})
) => {
  const workflow = DreamCascade.make({ belterCount: 50, drummerCount: 10, caminaCount: 1 })
  let events = 0
  const once = async () => {
    const started = performance.now()
    const result = await runtime.runPromise(
      Orchestrator.run(workflow, "Research grid-scale storage", {
        ...options(),
        config: { maxConcurrentAgents: 1000, primaryModel: model },
        onEvent: () => {
          events++
        }
      })
    )
    const elapsed = performance.now() - started
    if (result.status !== "completed" || result.agentResults.length !== 61) throw new Error(`cascade ${result.status}`)
    return elapsed
  }
  return { once, events: () => events }
}

const cascadeLatency = 20

/** W3: one warm-up, then the median of `runs` cascades of each, alternating. */
export const w3 = async (runs = 21): Promise<Makespan> => {
  const runtime = runtimeWith(cascadeLatency)
  const cascade = cascadeRunner(runtime)
  await cascade.once()
  await promiseCascade(cascadeLatency)
  const library: Array<number> = []
  const baseline: Array<number> = []
  for (let i = 0; i < runs; i++) {
    library.push(await cascade.once())
    baseline.push(await promiseCascade(cascadeLatency))
  }
  await runtime.dispose()
  // Bare Effect afterwards, in the same alternation, so that the library's runs are taken as they always were.
  await effectCascade(cascadeLatency)
  const bareEffect: Array<number> = []
  for (let i = 0; i < runs; i++) {
    bareEffect.push(await effectCascade(cascadeLatency))
    await promiseCascade(cascadeLatency)
  }
  if (cascade.events() === 0) throw new Error("no events")
  return {
    library: median(library),
    baseline: median(baseline),
    bareEffect: median(bareEffect),
    ideal: 4 * cascadeLatency
  }
}

/** W3 with a hook on beside the same cascade with none, alternating in one process: both makespans' medians. */
export interface Hooked {
  readonly plain: number
  readonly hooked: number
  readonly ideal: number
}

/**
 * W3 with `layer` (telemetry, a run store) added to the provider's runtime and `options` to each run, beside
 * the plain cascade: one warm-up of each, then the median of `runs` alternating runs of each.
 */
export const w3With = async <ROut, E>(
  layer: Layer.Layer<ROut, E>,
  options: () => Omit<Orchestrator.RunOptions, "config" | "onEvent"> = () => ({}),
  runs = 21
): Promise<Hooked> => {
  const plainRuntime = runtimeWith(cascadeLatency)
  const hookedRuntime = ManagedRuntime.make(Layer.merge(simulatedWith(cascadeLatency), layer))
  const plain = cascadeRunner(plainRuntime)
  const hooked = cascadeRunner(hookedRuntime, options)
  await plain.once()
  await hooked.once()
  const plainTimes: Array<number> = []
  const hookedTimes: Array<number> = []
  for (let i = 0; i < runs; i++) {
    plainTimes.push(await plain.once())
    hookedTimes.push(await hooked.once())
  }
  await plainRuntime.dispose()
  await hookedRuntime.dispose()
  return { plain: median(plainTimes), hooked: median(hookedTimes), ideal: 4 * cascadeLatency }
}

export interface W4 extends Makespan {
  /**
   * The least a fiber per agent costs in Effect: a fiber per agent started at once from the caller's runtime
   * (`Runtime.runFork`, cheaper than `forkDaemon`), each waiting on a `setTimeout` of its own through
   * `Effect.async`, then writing the same reply; nothing else (no events, no accounting).
   */
  readonly fibersOnly: number
  /** Live heap growth with every agent in flight, ÷ agents, in KB. */
  readonly libraryKb: number
  readonly baselineKb: number
}

const heapUsed = () => process.memoryUsage().heapUsed

const settle = async () => {
  await sleep(500)
  gc()
}

const fibersOnly = (subtasks: ReadonlyArray<SubTask.SubTask>, latency: number) =>
  timed(() =>
    Effect.runPromise(Effect.gen(function*() {
      const n = subtasks.length
      let done = 0
      let allDone: (() => void) | undefined
      const agent = (description: string) =>
        Effect.map(
          Effect.async<void>((resume) => {
            setTimeout(() => resume(Effect.void), latency)
          }),
          () => {
            Provider.simulatedReply({ prompt: description, maxTokens })
            if (++done === n) allDone?.()
          }
        )
      const start = Runtime.runFork(yield* Effect.runtime<never>())
      for (const subtask of subtasks) start(agent(subtask.description))
      if (done < n) {
        yield* Effect.async<void>((resume) => {
          allDone = () => resume(Effect.void)
        })
      }
    }))
  )

/** W4: 20,000 agents × 1 s, all in flight at once; makespans of `runs` alternating runs, then one of each for memory. */
export const w4 = async (runs = 3, n = 20_000): Promise<W4> => {
  const latency = 1000
  const runtime = runtimeWith(latency)
  const subtasks = subTasks(n)
  await runFlat(runtime, subTasks(1000), 1000)
  const library: Array<number> = []
  const baseline: Array<number> = []
  const bareEffect: Array<number> = []
  const fibers: Array<number> = []
  for (let i = 0; i < runs; i++) {
    gc()
    library.push(await runFlat(runtime, subtasks, n))
    gc()
    baseline.push(await promisePool(subtasks, n, latency))
    gc()
    bareEffect.push(await effectPool(subtasks, n, latency))
    gc()
    fibers.push(await fibersOnly(subtasks, latency))
  }

  // Memory: a full collection once every agent has started, against one before the run. Each run starts half a
  // second after the last one ended: for a few hundred milliseconds after a run, a full collection still finds
  // part of it alive, and its release would fall inside the next measurement.
  await settle()
  let before = heapUsed()
  let peak = 0
  let started = 0
  const limit = pLimit(n)
  await Promise.all(subtasks.map((subtask) =>
    limit(async () => {
      const reply = promiseAgent(subtask.description, latency)
      if (++started === n) {
        gc()
        peak = heapUsed()
      }
      return reply
    })
  ))
  const baselineKb = (peak - before) / n / 1024
  await settle()
  before = heapUsed()
  started = 0
  await runFlat(runtime, subtasks, n, (event) => {
    if (event.type === "agent_start" && ++started === n) {
      gc()
      peak = heapUsed()
    }
  })
  const libraryKb = (peak - before) / n / 1024
  await runtime.dispose()
  return {
    library: median(library),
    baseline: median(baseline),
    bareEffect: median(bareEffect),
    fibersOnly: median(fibers),
    ideal: latency,
    libraryKb,
    baselineKb
  }
}
