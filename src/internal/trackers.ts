import type { Charge, Recorded, Service } from "../CostTracker.js"

/**
 * The synchronous form of `record` of each tracker made by `CostTracker.make`: the same update, without an
 * effect per call, for the run's own ledger on the per-call hot path.
 */
const recorders = new WeakMap<Service, (charge: Charge) => Recorded>()

export const registerRecorder = (tracker: Service, record: (charge: Charge) => Recorded): void => {
  recorders.set(tracker, record)
}

export const recorderOf = (tracker: Service): ((charge: Charge) => Recorded) | undefined => recorders.get(tracker)
