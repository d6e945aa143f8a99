/**
 * Builds an instance of a Schema class from props that are already known to be valid and complete, without
 * the constructor's validation and default-merging: the hot path makes one per agent.
 */
export const unsafeMake = <A>(Class: abstract new(...args: ReadonlyArray<never>) => A, props: object): A =>
  Object.assign(Object.create(Class.prototype), props)
