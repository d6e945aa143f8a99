/**
 * The `@effect/cli` options of a table of option specs (`spec.ts`), typed by each option's kind and default.
 */
import type * as Option from "effect/Option"
import type * as spec from "./spec.js"
import { Options } from "./vendor.js"

/** The parsed value of an option of the table. */
export type ValueOf<S extends spec.OptionSpec> = S extends { readonly kind: "flag" } ? boolean
  : S extends { readonly kind: "integer" | "float"; readonly default: number } ? number
  : S extends { readonly kind: "integer" | "float" } ? Option.Option<number>
  : S extends { readonly kind: "choice"; readonly choices: ReadonlyArray<infer C extends string> } ? Option.Option<C>
  : S extends { readonly default: string } ? string
  : Option.Option<string>

/** The parsed values of a table of options. */
export type ValuesOf<T extends Readonly<Record<string, spec.OptionSpec>>> = { readonly [K in keyof T]: ValueOf<T[K]> }

type Built<T extends Readonly<Record<string, spec.OptionSpec>>> = { readonly [K in keyof T]: Options.Options<ValueOf<T[K]>> }

const optionOf = (option: spec.OptionSpec): Options.Options<unknown> => {
  const base: Options.Options<unknown> = option.kind === "flag"
    ? Options.boolean(option.name)
    : option.kind === "integer"
    ? Options.integer(option.name)
    : option.kind === "float"
    ? Options.float(option.name)
    : option.kind === "choice"
    ? Options.choice(option.name, option.choices ?? [])
    : Options.text(option.name)
  const described = Options.withDescription(base, option.description)
  if (option.kind === "flag") return described
  return option.default === undefined ? Options.optional(described) : Options.withDefault(described, option.default)
}

/** The options of a table, keyed as the table is. */
export const optionsOf = <T extends Readonly<Record<string, spec.OptionSpec>>>(specs: T): Built<T> =>
  Object.fromEntries(Object.entries(specs).map(([key, option]) => [key, optionOf(option)])) as unknown as Built<T>
