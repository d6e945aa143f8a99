/**
 * Builds an instance of a Schema class from props that are already known to be valid and complete, without
 * the constructor's validation and default-merging: the hot path makes one per agent.
 */
export const unsafeMake = <A>(Class: abstract new(...args: ReadonlyArray<never>) => A, props: object): A =>
  // The props object itself becomes the instance: one object, its fields kept in-object, instead of a copy
  // built field by field. Callers pass a fresh object they no longer use.
  Object.setPrototypeOf(props, Class.prototype) as A
