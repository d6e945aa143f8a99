/**
 * `orchestrate runner`: a cluster runner in this process, on the provider the flags choose, until SIGTERM or
 * Ctrl-C; then it stops taking work, lets its agents finish or hands them back, and leaves.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { describeError } from "../internal/describe.js"
import type * as Workflow from "../Workflow.js"
import { UsageError } from "./errors.js"
import type { ValuesOf } from "./flags.js"
import { loadWorkflows } from "./load.js"
import { Output } from "./output.js"
import { providerHint, providerLayer } from "./providers.js"
import { CancelSignal, clusterTimings } from "./research.js"
import type { RunnerOptions as ClusterOptions } from "../Cluster.js"
import type * as spec from "./spec.js"
import { searchTools } from "./tools.js"

type RunnerFlags = ValuesOf<typeof spec.runner.options>

const required = (value: Option.Option<string>, flag: string, example: string) =>
  Option.match(value, {
    onNone: () => Effect.fail(new UsageError({ problem: `orchestrate runner needs ${flag}`, hint: `For example: ${flag} ${example}` })),
    onSome: Effect.succeed
  })

/** `HOST:PORT`, with a port from 1 to 65535. */
const listenAddress = (text: string) => {
  const at = text.lastIndexOf(":")
  const host = at <= 0 ? "" : text.slice(0, at)
  const port = Number(text.slice(at + 1))
  return host === "" || !Number.isInteger(port) || port < 1 || port > 65535
    ? Effect.fail(new UsageError({ problem: `--listen must be HOST:PORT, got "${text}"`, hint: "For example: --listen 10.0.0.5:34431" }))
    : Effect.succeed({ host, port })
}

export const runRunner = (flags: RunnerFlags) =>
  Effect.gen(function*() {
    const output = yield* Output
    const cancel = yield* CancelSignal
    const url = yield* required(flags.store, "--store", "postgres://user:password@db-host:5432/orchestrate")
    const { host, port } = yield* listenAddress(yield* required(flags.listen, "--listen", "10.0.0.5:34431"))
    if (flags.maxConcurrent < 1) {
      return yield* new UsageError({ problem: "--max-concurrent must be 1 or more", hint: "For example: --max-concurrent 10" })
    }
    const workflows: ReadonlyArray<Workflow.Workflow> = Option.isSome(flags.workflows) ? yield* loadWorkflows(flags.workflows.value) : []
    const choice = Option.getOrUndefined(flags.provider)
    const search = yield* searchTools(Option.getOrElse(flags.tools, () => "simulated" as const))
    const Cluster = yield* Effect.promise(() => import("../Cluster.js"))
    const runner = Cluster.runner({
      url,
      host,
      port,
      maxConcurrent: flags.maxConcurrent,
      workflows,
      swarmTools: search.tools as unknown as NonNullable<ClusterOptions["swarmTools"]>,
      ...clusterTimings(),
      onReady: (address) => {
        const known = ["dream-cascade", "dream-swarm", ...workflows.map((workflow) => workflow.name)].join(", ")
        output.write("stderr", `Runner ${address} takes work: at most ${flags.maxConcurrent} agents at once; workflows: ${known}\n`)
      }
    }).pipe(
      Effect.provide(search.layer),
      Effect.provide(providerLayer(choice)),
      Effect.scoped,
      Effect.catchTags({
        ClusterUnavailable: (error) => new UsageError({ problem: error.message, hint: "Give the postgres:// URL of a running server with --store" }),
        ListenAddressInUse: (error) =>
          new UsageError({ problem: error.message, hint: "Another process listens there: give each runner its own --listen HOST:PORT" })
      }),
      Effect.catchIf(
        (error): error is Exclude<typeof error, UsageError> => !(error instanceof UsageError),
        (error) => new UsageError({ problem: describeError(error), hint: providerHint(choice) })
      )
    )
    yield* Effect.raceFirst(runner, cancel.await)
    output.write("stderr", `Runner ${host}:${port} left the cluster\n`)
  })
