import * as Deferred from "effect/Deferred"
import * as Either from "effect/Either"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import { hostname } from "node:os"
import { AwaitingApproval, type OrchestratorError } from "../../OrchestratorError.js"
import * as OrchestratorResult from "../../OrchestratorResult.js"
import * as Provider from "../../Provider.js"
import {
  type DurableError,
  RunHeld,
  RunMismatch,
  RunNotFound,
  RunStore,
  RunStoreError,
  type RunStatus,
  type Service as Store
} from "../../RunStore.js"
import type * as Workflow from "../../Workflow.js"
import type { RunOptions } from "../../Orchestrator.js"
import { prepare } from "../root.js"
import { differences, encodeIdentity, fingerprintOf, identityOf, parseIdentity } from "./fingerprint.js"
import * as Journal from "./journal.js"
import { type DurableOptions, withJournal } from "./options.js"

/** How a plain run is started: `Orchestrator.run` without durability. */
export type RunPlain<R> = (
  workflow: Workflow.Workflow<R>,
  task: string,
  options: RunOptions
) => Effect.Effect<OrchestratorResult.OrchestratorResult, OrchestratorError, Provider.Provider | R>

const finished: ReadonlySet<RunStatus> = new Set(["completed", "failed", "cancelled"])

/** This process, as a lease holder: host, pid and a random token. */
const holderId = Effect.map(Random.nextIntBetween(0, 0x7fffffff), (n) => `${hostname()}:${process.pid}:${n.toString(36)}`)

/** A holder of this machine whose process is gone: its lease can be taken at once. */
export const isDeadLocalHolder = (holder: string): boolean => {
  const [host, pid] = holder.split(":")
  if (host !== hostname() || pid === undefined || !/^\d+$/.test(pid) || Number(pid) === process.pid) return false
  try {
    process.kill(Number(pid), 0)
    return false
  } catch (error) {
    return (error as { code?: string }).code === "ESRCH"
  }
}

const acquire = (store: Store, runId: string, holder: string, ttlMillis: number) =>
  Effect.catchTag(store.acquire(runId, holder, ttlMillis), "RunHeld", (held) =>
    isDeadLocalHolder(held.holder)
      ? store.acquire(runId, holder, ttlMillis, held.holder)
      : Effect.fail(held))

const readResult = (store: Store, json: string) =>
  Effect.mapError(
    OrchestratorResult.fromJson(json),
    (error) => new RunStoreError({ store: store.location, reason: `the stored result is unreadable: ${error.message}` })
  )

/**
 * Runs a workflow durably: records it in the store in context, or continues it when the store has it. A run
 * that finished returns its stored result and calls nothing; one started with something else fails with
 * `RunMismatch`; one held by a live process fails with `RunHeld`.
 */
export const run = <R>(
  workflow: Workflow.Workflow<R>,
  task: string,
  options: RunOptions & { readonly durable: DurableOptions },
  runPlain: RunPlain<R>
): Effect.Effect<OrchestratorResult.OrchestratorResult, OrchestratorError | DurableError, Provider.Provider | R | RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const durable = options.durable
    const runId = durable.runId
    const prepared = yield* prepare(workflow, task, { ...options, taskId: runId })
    const identity = identityOf(workflow, task, prepared.config, options.context ?? {})
    const fingerprint = fingerprintOf(identity)
    const stored = yield* store.create({
      runId,
      workflow: workflow.name,
      title: prepared.title,
      task,
      fingerprint,
      identity: encodeIdentity(identity),
      launch: durable.launch
    })
    if (stored.fingerprint !== fingerprint) {
      return yield* new RunMismatch({ runId, differences: differences(stored.identity, identity) })
    }
    if (finished.has(stored.status) && stored.result !== undefined) return yield* readResult(store, stored.result)

    const holder = yield* holderId
    const ttl = Duration.toMillis(Duration.seconds(durable.leaseSeconds ?? 30))
    yield* acquire(store, runId, holder, ttl)
    return yield* Effect.scoped(Effect.gen(function*() {
      const stop = yield* Deferred.make<void>()
      const lost = yield* Deferred.make<RunHeld>()
      // Losing the lease (it expired while this process stalled, and another took the run over) stops the run;
      // the journal writes nothing from then on.
      const loseLease = (held: RunHeld) => Deferred.unsafeDone(lost, Exit.succeed(held))
      const journal = Journal.make({
        runId,
        store,
        durable,
        holder,
        steps: yield* store.steps(runId),
        lastSequence: yield* store.lastSequence(runId),
        onSuspend: () => Deferred.unsafeDone(stop, Exit.void),
        onLost: loseLease
      })
      yield* Effect.forkScoped(journal.writer)
      // The lease is renewed while the run holds it, every third of its length.
      yield* Effect.forkScoped(
        Effect.sleep(Duration.millis(ttl / 3)).pipe(
          Effect.zipRight(store.renew(runId, holder, ttl)),
          Effect.catchTag("RunStoreError", (error) => Effect.logWarning("Could not renew the lease of a durable run", error.message)),
          Effect.forever,
          Effect.catchTag("RunHeld", (held) => Effect.sync(() => loseLease(held)))
        )
      )
      const stillHeld = Effect.flatMap(Deferred.poll(lost), (held) =>
        Option.isSome(held) ? Effect.flatMap(held.value, (error) => Effect.fail(error)) : store.renew(runId, holder, ttl))
      yield* store.setStatus(runId, "running")
      const provider = yield* Provider.Provider
      const stopped = Effect.raceFirst(Deferred.await(stop), Deferred.await(lost))
      const cancelWhen = options.cancelWhen === undefined ? stopped : Effect.raceFirst(options.cancelWhen, stopped)
      const result = yield* runPlain(workflow, task, withJournal({ ...options, taskId: runId, cancelWhen }, journal)).pipe(
        Effect.provideService(Provider.Provider, journal.provider(provider)),
        Effect.onExit((exit) =>
          Exit.isSuccess(exit)
            ? Effect.void
            : Effect.zipRight(Effect.ignore(journal.drain), Effect.ignore(Effect.zipRight(stillHeld, store.setStatus(runId, "interrupted"))))
        )
      )
      const drained = yield* Effect.either(journal.drain)
      // The run's status is written only while this process still holds it.
      yield* stillHeld
      if (Either.isLeft(drained)) return yield* Effect.fail(drained.left)
      if (journal.awaiting !== undefined) {
        const failure = new AwaitingApproval({ runId, ...journal.awaiting })
        yield* store.setStatus(runId, "waiting")
        return new OrchestratorResult.OrchestratorResult({
          ...result,
          status: "pending",
          error: failure.message,
          failure
        }, true)
      }
      if (result.status === "cancelled") {
        yield* store.setStatus(runId, "interrupted")
        return result
      }
      const json = yield* Effect.option(OrchestratorResult.toJson(result))
      yield* store.setStatus(runId, result.status === "completed" ? "completed" : "failed", Option.getOrUndefined(json))
      return result
    })).pipe(Effect.ensuring(Effect.ignore(store.release(runId, holder))))
  })

/** Values of the stored identity (JSON per key) back as plain values. */
const valuesOf = (record: Readonly<Record<string, string>> | undefined): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record ?? {}).map(([key, json]) => [key, JSON.parse(json) as unknown]))

/**
 * Continues a stored run with its workflow (which the caller passes: a workflow is code). The task, and unless
 * given the configuration, context and title, are the stored ones.
 */
export const resume = <R>(
  workflow: Workflow.Workflow<R>,
  runId: string,
  options: RunOptions,
  runPlain: RunPlain<R>
): Effect.Effect<OrchestratorResult.OrchestratorResult, OrchestratorError | DurableError, Provider.Provider | R | RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const stored = yield* store.get(runId)
    if (Option.isNone(stored)) return yield* new RunNotFound({ runId })
    const identity = parseIdentity(stored.value.identity)
    return yield* run(workflow, stored.value.task, {
      ...options,
      config: options.config ?? (valuesOf(identity?.config) as RunOptions["config"]),
      context: options.context ?? valuesOf(identity?.context),
      title: options.title ?? stored.value.title,
      durable: { ...options.durable, runId }
    }, runPlain)
  })

/** Records a decision for a run's approval step. */
export const approve = (
  runId: string,
  step: string,
  decision: { readonly approved: boolean; readonly note?: string | undefined }
) =>
  Effect.gen(function*() {
    const store = yield* RunStore
    if (Option.isNone(yield* store.get(runId))) return yield* new RunNotFound({ runId })
    yield* store.decide(runId, step, decision)
  })
