/**
 * Cluster runs: the per-agent overhead of sending agents to runner processes (1,000 zero-latency agents, 3
 * runners) beside the same run in one process, and the makespan of a swarm of 300 agents at 200 ms each with
 * `--max-concurrent 10` per runner, on 1, 2 and 3 runners. Runners are child processes of this file
 * (`node bench/.out/cluster.js runner URL PORT MAX LATENCY`), on a throwaway Postgres on loopback.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import { Duration, Effect, Exit, Layer, Scope } from "effect"
import { Cluster, DreamSwarm, Orchestrator, Provider, Workflow } from "multi-agent-orchestration"
import { startPostgres } from "./durable.js"
import { makeSubTasks } from "./throughput.js"

const timings = { shardLockExpirationMillis: 5000, shardLockRefreshMillis: 1500, refreshAssignmentsMillis: 500 }
const self = fileURLToPath(import.meta.url)

const simulated = (latency: number) =>
  Layer.effect(Provider.Provider, Provider.makeSimulated({ latency: Duration.millis(latency) }))

const throughputWorkflow = (n: number) =>
  Workflow.make({
    name: "throughput",
    decompose: () => Effect.succeed(makeSubTasks(n)),
    execute: (subtask) => Effect.map(Provider.complete({ prompt: subtask.description, maxTokens: 50 }), (c) => c.content),
    synthesize: (results) => Effect.succeed(`${results.length} results`)
  })

if (process.argv[1] === self && process.argv[2] === "runner") {
  const [, , , url = "", port = "0", max = "10", latency = "0"] = process.argv
  const scope = Effect.runSync(Scope.make())
  void Effect.runPromise(
    Cluster.runner({
      url,
      host: "127.0.0.1",
      port: Number(port),
      maxConcurrent: Number(max),
      // Known by name: its agents' step does not depend on how many subtasks a run has.
      workflows: [throughputWorkflow(0)],
      ...timings,
      onReady: () => process.stdout.write("ready\n")
    }).pipe(Effect.provide(simulated(Number(latency))), Scope.extend(scope))
  ).catch((error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(2)
  })
  process.on("SIGTERM", () => void Effect.runPromise(Scope.close(scope, Exit.void)).then(() => process.exit(0)))
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

const startRunner = async (url: string, max: number, latency: number): Promise<ChildProcess> => {
  const child = spawn(process.execPath, [self, "runner", url, String(await freePort()), String(max), String(latency)], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve()
    })
    child.on("close", (code) => reject(new Error(`a runner exited with ${code}`)))
  })
  return child
}

/**
 * Stops runners as an operator does, with SIGTERM: each hands its shards over before it exits. (A runner killed
 * outright keeps its shards until its locks expire, and a client that sends to it meanwhile keeps trying to
 * reconnect to it for as long as the process lives.)
 */
const stopRunners = async (runners: ReadonlyArray<ChildProcess>) => {
  await Promise.all(runners.map((runner) =>
    new Promise<void>((resolve) => {
      runner.removeAllListeners("close")
      if (runner.exitCode !== null || runner.signalCode !== null) return resolve()
      const kill = setTimeout(() => runner.kill("SIGKILL"), 30_000)
      runner.on("close", () => {
        clearTimeout(kill)
        resolve()
      })
      runner.kill("SIGTERM")
    })
  ))
}

/** How many agents each runner ran in the last timed run. */
let perRunner = new Map<string, number>()

/** Milliseconds of one run, on the cluster when `cluster` is given. */
const timeRun = async (
  workflow: Workflow.Workflow,
  config: { readonly maxConcurrentAgents: number },
  cluster: Layer.Layer<Cluster.RemoteAgents> | undefined
): Promise<number> => {
  const ran = new Map<string, number>()
  const started = performance.now()
  const result = await Effect.runPromise(
    Orchestrator.run(workflow, "Survey cluster schedulers", {
      config: { ...config, maxRetries: 0 },
      onEvent: (event) =>
        Effect.sync(() => {
          if (event.type === "agent_complete" && event.data.runner !== undefined) {
            ran.set(event.data.runner, (ran.get(event.data.runner) ?? 0) + 1)
          }
        })
    }).pipe(Effect.provide(cluster === undefined ? simulated(0) : Layer.merge(simulated(0), cluster)))
  )
  if (result.status !== "completed") throw new Error(`a bench run ${result.status}: ${result.error}`)
  perRunner = ran
  return performance.now() - started
}

/** Keeps a cluster client open across runs. */
const openCluster = async (url: string) => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(Cluster.layer({ url, ...timings }), scope))
  return { layer: Layer.succeedContext(context), close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const median = (values: Array<number>) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!

export const runClusterBench = async () => {
  const postgres = startPostgres()
  if (postgres === undefined) {
    console.log("cluster: skipped, no PostgreSQL binaries on this machine")
    return undefined
  }
  const runners: Array<ChildProcess> = []
  try {
    const client = await openCluster(postgres.url)
    // Overhead: 1,000 zero-latency agents, 3 runners each taking 100 at once.
    for (let i = 0; i < 3; i++) runners.push(await startRunner(postgres.url, 100, 0))
    const overheadConfig = { maxConcurrentAgents: 100 }
    await timeRun(throughputWorkflow(1000), overheadConfig, client.layer) // warm-up
    const local: Array<number> = []
    const remote: Array<number> = []
    for (let i = 0; i < 3; i++) {
      local.push(await timeRun(throughputWorkflow(1000), overheadConfig, undefined))
      remote.push(await timeRun(throughputWorkflow(1000), overheadConfig, client.layer))
    }
    const overhead = (median(remote) - median(local)) / 1000
    console.log(
      `cluster 1000 zero-latency agents on 3 runners | local ${median(local).toFixed(0)} ms | cluster ${
        median(remote).toFixed(0)
      } ms | overhead ${overhead.toFixed(2)} ms/agent`
    )
    await stopRunners(runners.splice(0))

    // Makespan: the capped swarm on 1, 2 and 3 runners (the run's own limit is not the bottleneck).
    const swarm = DreamSwarm.make({ numAgents: 300 })
    const makespans: Array<number> = []
    for (const count of [1, 2, 3]) {
      while (runners.length < count) runners.push(await startRunner(postgres.url, 10, 200))
      await timeRun(DreamSwarm.make({ numAgents: 30 }), { maxConcurrentAgents: 300 }, client.layer) // warm-up
      const made = median([
        await timeRun(swarm, { maxConcurrentAgents: 300 }, client.layer),
        await timeRun(swarm, { maxConcurrentAgents: 300 }, client.layer),
        await timeRun(swarm, { maxConcurrentAgents: 300 }, client.layer)
      ])
      makespans.push(made)
      console.log(
        `cluster swarm 300 agents × 200 ms, --max-concurrent 10 | ${count} runner${count === 1 ? "" : "s"} | makespan ${
          made.toFixed(0)
        } ms (median of 3) | ideal ${(6000 / count).toFixed(0)} ms | agents per runner ${[...perRunner.values()].join("/")}`
      )
    }
    await stopRunners(runners.splice(0))
    await client.close()
    const speedUp = makespans[0]! / makespans[2]!
    console.log(`targets: cluster speed-up with 3 runners ≥ 2.6× (got ${speedUp.toFixed(2)}×); per-agent overhead reported`)
    return { overhead, speedUp }
  } finally {
    await stopRunners(runners)
    postgres.stop()
  }
}

if (process.argv[1] === self && process.argv[2] === "only") {
  await runClusterBench()
  process.exit(0)
}
