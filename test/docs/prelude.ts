/**
 * The names the documentation's TypeScript blocks use for the reader's own values. A block that uses one of them
 * without declaring it is compiled as if it had imported it from here (see blocks.ts); a block that declares the
 * name itself uses its own.
 */
import type { Effect, Redacted } from "effect"
import type { OrchestratorResult, Provider, Workflow } from "multi-agent-orchestration"

/** A workflow of your own, or one of the presets. */
export declare const workflow: Workflow.Workflow
/** The task a workflow runs on. */
export declare const task: string
/** What a run returned. */
export declare const result: OrchestratorResult.OrchestratorResult
/** An API key, as a string. */
export declare const key: string
/** An API key. */
export declare const apiKey: Redacted.Redacted
/** A program that needs a provider. */
export declare const program: Effect.Effect<void, never, Provider.Provider>
