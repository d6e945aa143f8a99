import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  type Approval,
  ApprovalNotFound,
  nobody,
  type NewRun,
  RunHeld,
  type Service,
  type StepRecord,
  type StoredEvent,
  type StoredRun
} from "../../RunStore.js"

interface Entry {
  run: StoredRun
  readonly steps: Map<string, StepRecord>
  readonly events: Array<StoredEvent>
  readonly approvals: Map<string, Approval>
}

/** A store in plain maps, for tests: the same behaviour as the SQL stores, gone with its scope. */
export const make = (): Service => {
  const runs = new Map<string, Entry>()
  const entry = (runId: string) => runs.get(runId)
  const update = (runId: string, change: (run: StoredRun) => StoredRun) => {
    const found = entry(runId)
    if (found !== undefined) found.run = change(found.run)
  }
  // The lease is no longer the caller's: who has it now (or nobody, once the one who took it over released it).
  const lostBy = (runId: string) => {
    const run = entry(runId)?.run
    return new RunHeld({ runId, holder: run?.leaseHolder ?? nobody, expiresAt: run?.leaseExpiresAt ?? 0 })
  }
  return {
    location: "memory",
    create: (run: NewRun) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const found = entry(run.runId)
        if (found !== undefined) return found.run
        const stored: StoredRun = {
          ...run,
          launch: run.launch,
          status: "running",
          progress: 0,
          cost: 0,
          agents: 0,
          createdAt: now,
          updatedAt: now,
          leaseHolder: undefined,
          leaseExpiresAt: undefined,
          result: undefined
        }
        runs.set(run.runId, { run: stored, steps: new Map(), events: [], approvals: new Map() })
        return stored
      }),
    get: (runId) => Effect.sync(() => Option.map(Option.fromNullable(entry(runId)), (e) => e.run)),
    list: Effect.sync(() => [...runs.values()].map((e) => e.run).sort((a, b) => b.updatedAt - a.updatedAt)),
    acquire: (runId, holder, ttlMillis, takeOverFrom) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const found = entry(runId)
        if (found === undefined) return new RunHeld({ runId, holder: "(unknown)", expiresAt: 0 })
        const { leaseExpiresAt, leaseHolder } = found.run
        if (
          leaseHolder === undefined || leaseHolder === holder || leaseHolder === takeOverFrom || (leaseExpiresAt ?? 0) < now
        ) {
          found.run = { ...found.run, leaseHolder: holder, leaseExpiresAt: now + ttlMillis }
          return Effect.void
        }
        return new RunHeld({ runId, holder: leaseHolder, expiresAt: leaseExpiresAt ?? 0 })
      }),
    renew: (runId, holder, ttlMillis) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const found = entry(runId)
        if (found === undefined || found.run.leaseHolder !== holder) return lostBy(runId)
        found.run = { ...found.run, leaseExpiresAt: now + ttlMillis }
        return Effect.void
      }),
    release: (runId, holder) =>
      Effect.sync(() =>
        update(runId, (run) => run.leaseHolder === holder ? { ...run, leaseHolder: undefined, leaseExpiresAt: undefined } : run)
      ),
    steps: (runId) => Effect.sync(() => [...(entry(runId)?.steps.values() ?? [])]),
    append: (runId, batch) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const found = entry(runId)
        if (found === undefined) return Effect.void
        if (batch.holder !== undefined && found.run.leaseHolder !== batch.holder) return lostBy(runId)
        for (const step of batch.steps) if (!found.steps.has(step.key)) found.steps.set(step.key, step)
        const last = found.events.at(-1)?.sequence ?? 0
        for (const event of batch.events) if (event.sequence > last) found.events.push(event)
        found.run = { ...found.run, progress: batch.progress, cost: batch.cost, agents: batch.agents, updatedAt: now }
        return Effect.void
      }),
    setStatus: (runId, status, result) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        update(runId, (run) => ({ ...run, status, updatedAt: now, result: result ?? run.result }))),
    events: (runId, afterSequence) =>
      Effect.sync(() => (entry(runId)?.events ?? []).filter((event) => event.sequence > afterSequence)),
    lastSequence: (runId) => Effect.sync(() => entry(runId)?.events.at(-1)?.sequence ?? 0),
    requestApproval: (runId, step, prompt) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const approvals = entry(runId)?.approvals
        const found = approvals?.get(step)
        if (found !== undefined) return found
        const approval: Approval = { step, prompt, requestedAt: now, decision: undefined, note: undefined, decidedAt: undefined }
        approvals?.set(step, approval)
        return approval
      }),
    approval: (runId, step) => Effect.sync(() => Option.fromNullable(entry(runId)?.approvals.get(step))),
    approvals: (runId) => Effect.sync(() => [...(entry(runId)?.approvals.values() ?? [])]),
    decide: (runId, step, decision) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const approvals = entry(runId)?.approvals
        const found = approvals?.get(step)
        if (found === undefined || found.decision !== undefined) {
          const waiting = [...(approvals?.values() ?? [])].filter((a) => a.decision === undefined).map((a) => a.step)
          return new ApprovalNotFound({ runId, step, waiting })
        }
        approvals!.set(step, {
          ...found,
          decision: decision.approved ? "approved" : "rejected",
          note: decision.note,
          decidedAt: now
        })
        return Effect.void
      })
  }
}
