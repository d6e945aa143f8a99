/**
 * Shared, frozen empty values: the defaults of the models' optional fields. One object serves every instance,
 * so that a run of 100,000 agents does not allocate 100,000 empty records.
 */
export const emptyMetadata: Readonly<Record<string, unknown>> = Object.freeze({})

export const emptyIds: ReadonlyArray<string> = Object.freeze([])
