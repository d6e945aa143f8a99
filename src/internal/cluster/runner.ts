/** A runner: hosts the agent entity, runs what it is sent on its own provider, and leaves cleanly. */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ClusterUnavailable, ListenAddressInUse, type RunnerOptions, type UnknownWorkflow } from "../../Cluster.js"
import * as Provider from "../../Provider.js"
import { shardingConfig, sqlLayer } from "./connect.js"
import { AgentEntity, RunnerDraining } from "./entity.js"
import { executeAgent, makeRegistry } from "./execute.js"
import type { AgentFrame, AgentReply, AgentRequest } from "./wire.js"

/** How long a leaving runner waits for the agents it holds before it hands them back unfinished. */
const drainLimit = Duration.seconds(60)

const isAddressInUse = (error: unknown): boolean => {
  for (let at: unknown = error; at !== undefined && at !== null; at = (at as { cause?: unknown }).cause) {
    if ((at as { code?: unknown }).code === "EADDRINUSE") return true
    if (at instanceof Error && /EADDRINUSE/.test(at.message)) return true
    if ((at as { cause?: unknown }).cause === at) break
  }
  return false
}

export const run = (
  options: RunnerOptions
): Effect.Effect<never, ClusterUnavailable | ListenAddressInUse, Provider.Provider | Scope.Scope> =>
  Effect.gen(function*() {
    const address = `${options.host}:${options.port}`
    const registry = makeRegistry(options.workflows ?? [], options.swarmTools)
    const permits = yield* Effect.makeSemaphore(options.maxConcurrent ?? 10)
    const state = { draining: false, held: 0, executions: 0 }

    const entity = AgentEntity.toLayer(
      Effect.gen(function*() {
        // Everything the runner was given (its provider, any tool services) serves every agent it runs.
        const services = yield* Effect.context<Provider.Provider>()
        /** One agent, held (so that a leaving runner waits for it) while it runs on one of the permits. */
        const execute = (request: AgentRequest, onEvent?: Parameters<typeof executeAgent>[3]) =>
          Effect.suspend((): Effect.Effect<AgentReply, UnknownWorkflow | RunnerDraining> => {
            if (state.draining) return Effect.fail(new RunnerDraining({ runner: address }))
            state.held++
            return permits.withPermits(1)(executeAgent(registry, request, address, onEvent)).pipe(
              Effect.provide(services),
              Effect.ensuring(Effect.sync(() => state.held--))
            )
          })
        return {
          ExecuteAgent: ({ payload }) => execute(payload),
          // The agent runs in a fiber of the stream's scope: a submitter that goes away stops it.
          ExecuteAgentLive: ({ payload }) =>
            Stream.unwrapScoped(Effect.gen(function*() {
              const frames = yield* Mailbox.make<AgentFrame, UnknownWorkflow | RunnerDraining>()
              const execution = `${address}/${++state.executions}`
              yield* execute(payload, (event) => void frames.unsafeOffer({ _tag: "Event", event, execution })).pipe(
                Effect.flatMap((reply) => frames.offer({ _tag: "Reply", reply })),
                Mailbox.into(frames),
                Effect.forkScoped
              )
              return Mailbox.toStream(frames)
            }))
        }
      }),
      // Agents of many runs share an entity (one per shard): the runner's own permits bound the work, not a mailbox.
      { concurrency: "unbounded", mailboxCapacity: "unbounded", maxIdleTime: Duration.seconds(30) }
    )

    const cluster = entity.pipe(
      Layer.provide(NodeClusterSocket.layer({
        storage: "sql",
        shardingConfig: shardingConfig(options, options)
      })),
      Layer.provide(sqlLayer(options.url)),
      Layer.catchAll((error): Layer.Layer<never, ClusterUnavailable | ListenAddressInUse> => {
        if (error instanceof ClusterUnavailable) return Layer.fail(error)
        if (isAddressInUse(error)) return Layer.fail(new ListenAddressInUse({ address, reason: "EADDRINUSE: the address is already in use" }))
        return Layer.die(error)
      })
    )
    yield* Layer.buildWithScope(cluster, yield* Effect.scope)
    // Finalizers run last-added first: this one, before the cluster closes, lets the agents held finish.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        state.draining = true
        return Effect.repeat(Effect.sync(() => state.held), {
          schedule: Schedule.spaced(Duration.millis(50)),
          until: (held) => held === 0
        }).pipe(Effect.timeout(drainLimit), Effect.ignore)
      })
    )
    options.onReady?.(address)
    return yield* Effect.never
  })
