/**
 * The modules of `@effect/cli` and `@effect/platform-node` that the `orchestrate` command uses, in one place.
 * The build bundles this module with them (`npm run build:bin`), so that the installed package runs its
 * command without either as a dependency: a project that uses only the library installs neither.
 */
export * as Args from "@effect/cli/Args"
export * as Command from "@effect/cli/Command"
export * as HelpDoc from "@effect/cli/HelpDoc"
export * as Options from "@effect/cli/Options"
export * as ValidationError from "@effect/cli/ValidationError"
export * as NodeContext from "@effect/platform-node/NodeContext"
export * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
