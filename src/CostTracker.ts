/**
 * Meters spend: a Ref-backed service that keeps totals by model, agent and tier, and enforces a budget.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { type CostLine, type CostSummary, emptyLine } from "./CostSummary.js"
import { registerRecorder } from "./internal/trackers.js"
import { BudgetExceeded } from "./OrchestratorError.js"
import * as Pricing from "./Pricing.js"
import type { Usage } from "./Usage.js"

/**
 * One metered provider call.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Charge {
  readonly model: string
  readonly usage: Usage
  readonly agentId?: string | undefined
  readonly tier?: string | undefined
}

/**
 * What recording a charge did.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Recorded {
  /** Dollars this charge cost. */
  readonly cost: number
  /** False when the model has no price: it was counted at 0. */
  readonly priced: boolean
  /** The run total after this charge. */
  readonly total: number
  /** True only for the charge that first crossed the warning threshold of the budget. */
  readonly crossedWarning: boolean
  /** True when the budget is now spent: no further call may start. */
  readonly exhausted: boolean
}

/**
 * Totals so far, by model, agent and tier.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Snapshot extends CostSummary {
  readonly byAgent: Readonly<Record<string, CostLine>>
  readonly maxTotalCost: number | undefined
  readonly remainingBudget: number | undefined
  /** The share of the budget at which `crossedWarning` fires. */
  readonly warningThreshold: number
  readonly warningTriggered: boolean
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** Prices and records a provider call. */
  readonly record: (charge: Charge) => Effect.Effect<Recorded>
  /** Records a cost known in dollars (the original's `add_cost(0.05, model="gpt-4")`). */
  readonly addCost: (
    cost: number,
    options?: { readonly model?: string | undefined; readonly agentId?: string | undefined; readonly tier?: string | undefined }
  ) => Effect.Effect<Recorded>
  /** Fails with `BudgetExceeded` once the budget is spent; call it before starting a provider call. */
  readonly ensureBudget: Effect.Effect<void, BudgetExceeded>
  /** Whether `cost` more dollars still fit in the budget. */
  readonly canAfford: (cost: number) => Effect.Effect<boolean>
  readonly total: Effect.Effect<number>
  /** Totals by model and tier: what a run's result carries. */
  readonly summary: Effect.Effect<CostSummary>
  /** Everything, per-agent totals included. */
  readonly snapshot: Effect.Effect<Snapshot>
}

/**
 * @since 0.1.0
 * @category Context
 */
export class CostTracker extends Context.Tag("multi-agent-orchestration/CostTracker")<CostTracker, Service>() {}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The budget in US dollars; unlimited when absent. */
  readonly maxTotalCost?: number | undefined
  /** The share of the budget at which `crossedWarning` fires once. Default: 0.8. */
  readonly warningThreshold?: number | undefined
  /** Prices to use instead of the `Pricing` service in context. */
  readonly pricing?: Pricing.Service | undefined
  /**
   * Keep a line per agent (`Snapshot.byAgent`). Default: true. A run's own ledger keeps none: its agent
   * results already carry each agent's cost, and a 100,000-agent run need not keep them twice.
   */
  readonly byAgent?: boolean | undefined
}

interface MutableLine {
  cost: number
  calls: number
  inputTokens: number
  outputTokens: number
  cachedInputTokens: number
  cacheWriteInputTokens: number
}

// The maps are mutated inside `Ref.modify`, which is atomic on the JS thread: one Ref update per charge and no
// copy of a 100,000-entry map per call.
interface State {
  readonly total: MutableLine
  readonly byModel: Map<string, MutableLine>
  readonly byAgent: Map<string, MutableLine>
  readonly byTier: Map<string, MutableLine>
  readonly unpriced: Set<string>
  warned: boolean
}

const newLine = (): MutableLine => ({ ...emptyLine, cacheWriteInputTokens: 0 })

const addTo = (map: Map<string, MutableLine>, key: string | undefined, cost: number, usage: Usage | undefined) => {
  if (key === undefined) return
  let line = map.get(key)
  if (line === undefined) {
    line = newLine()
    map.set(key, line)
  }
  addLine(line, cost, usage)
}

const addLine = (line: MutableLine, cost: number, usage: Usage | undefined) => {
  line.cost += cost
  line.calls += 1
  if (usage !== undefined) {
    line.inputTokens += usage.inputTokens
    line.outputTokens += usage.outputTokens
    line.cachedInputTokens += usage.cachedInputTokens ?? 0
    line.cacheWriteInputTokens += usage.cacheWriteInputTokens ?? 0
  }
}

const freeze = (map: Map<string, MutableLine>): Record<string, CostLine> => {
  const out: Record<string, CostLine> = {}
  for (const [key, line] of map) out[key] = { ...line }
  return out
}

/**
 * A fresh tracker. Prices come from `options.pricing`, else from the `Pricing` service in context.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options: Options = {}): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const pricing = options.pricing ?? (yield* Pricing.Pricing)
    const limit = options.maxTotalCost
    const warningThreshold = options.warningThreshold ?? 0.8
    const warnAt = limit === undefined ? Infinity : limit * warningThreshold
    const keepAgents = options.byAgent ?? true

    // The whole state is one mutable object inside the Ref: charging mutates it in place, one atomic step on
    // the JS thread, so `apply` can serve both the Effect API (through `Ref.modify`) and the orchestrator's
    // synchronous hot path.
    const initial: State = {
      total: newLine(),
      byModel: new Map(),
      byAgent: new Map(),
      byTier: new Map(),
      unpriced: new Set(),
      warned: false
    }
    const apply = (
      s: State,
      cost: number,
      priced: boolean,
      charge: { readonly [K in keyof Charge]?: Charge[K] | undefined }
    ): Recorded => {
      addLine(s.total, cost, charge.usage)
      addTo(s.byModel, charge.model, cost, charge.usage)
      if (keepAgents) addTo(s.byAgent, charge.agentId, cost, charge.usage)
      addTo(s.byTier, charge.tier, cost, charge.usage)
      if (!priced && charge.model !== undefined) s.unpriced.add(charge.model)
      const total = s.total.cost
      const crossedWarning = !s.warned && total >= warnAt
      if (crossedWarning) s.warned = true
      return { cost, priced, total, crossedWarning, exhausted: limit !== undefined && total >= limit }
    }
    const charged = (cost: number, priced: boolean, charge: Parameters<typeof apply>[3]) =>
      Ref.modify(state, (s): [Recorded, State] => [apply(s, cost, priced, charge), s])

    const state = yield* Ref.make<State>(initial)
    const total = Effect.map(Ref.get(state), (s) => s.total.cost)

    const service = CostTracker.of({
      record: (charge) => {
        const { cost, priced } = pricing.cost(charge.model, charge.usage)
        return charged(cost, priced, charge)
      },
      addCost: (cost, opts = {}) => charged(cost, true, opts),
      ensureBudget: limit === undefined
        ? Effect.void
        : Effect.flatMap(total, (spent) => spent >= limit ? new BudgetExceeded({ spent, limit }) : Effect.void),
      canAfford: (cost) => Effect.map(total, (spent) => limit === undefined || spent + cost <= limit),
      total,
      summary: Effect.map(Ref.get(state), (s): CostSummary => ({
        total: { ...s.total },
        byModel: freeze(s.byModel),
        byTier: freeze(s.byTier),
        unpricedModels: [...s.unpriced].sort(),
        pricesAsOf: pricing.asOf
      })),
      snapshot: Effect.map(Ref.get(state), (s): Snapshot => ({
        total: { ...s.total },
        byModel: freeze(s.byModel),
        byAgent: freeze(s.byAgent),
        byTier: freeze(s.byTier),
        unpricedModels: [...s.unpriced].sort(),
        pricesAsOf: pricing.asOf,
        maxTotalCost: limit,
        remainingBudget: limit === undefined ? undefined : limit - s.total.cost,
        warningThreshold,
        warningTriggered: s.warned
      }))
    })
    registerRecorder(service, (charge) => {
      const { cost, priced } = pricing.cost(charge.model, charge.usage)
      return apply(initial, cost, priced, charge)
    })
    return service
  })

/**
 * A tracker as a layer: the ledger of a session. Every `Orchestrator.run` under it records each call into it
 * (agents keyed `taskId/agentId`) besides its own accounting, so that several runs share one ledger and its
 * `maxTotalCost` holds across them; a run's own `maxTotalCost` still holds too, and its result still reports
 * its own cost. Once the session's budget is spent, no run starts another call, and a run it stopped fails
 * with a `BudgetExceeded` whose `scope` is `"session"`.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { CostTracker, DreamCascade, Orchestrator, Provider } from "multi-agent-orchestration"
 *
 * const session = Effect.gen(function*() {
 *   const first = yield* Orchestrator.run(DreamCascade.make(), "Research solid-state batteries")
 *   const second = yield* Orchestrator.run(DreamCascade.make(), "Research sodium-ion batteries")
 *   const tracker = yield* CostTracker.CostTracker
 *   // Each result has its own run's cost; the tracker has the session's.
 *   return { first: first.totalCost, second: second.totalCost, session: yield* tracker.total }
 * }).pipe(Effect.provide(Layer.merge(Provider.simulated(), CostTracker.layer({ maxTotalCost: 5 }))))
 * ```
 */
export const layer = (options?: Options): Layer.Layer<CostTracker> => Layer.effect(CostTracker, make(options))
