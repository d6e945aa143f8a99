/**
 * The search tools of `orchestrate swarm --tools real|simulated`. `SearchTools` is loaded only here, when a
 * swarm runs, since it needs `@effect/ai`.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { UsageError } from "./errors.js"

/** The values of `--tools`. */
export const toolChoices = ["simulated", "real"] as const

export type ToolChoice = (typeof toolChoices)[number]

/**
 * The swarm's tools and the layer of their handlers: offline and deterministic (`simulated`), or the real
 * APIs over fetch, with a GitHub token from `GITHUB_TOKEN` when it is set (`real`).
 */
export const searchTools = (choice: ToolChoice) =>
  Effect.map(
    Effect.tryPromise({
      try: () => import("../SearchTools.js"),
      catch: (error) =>
        new UsageError({
          problem: `the swarm's search tools could not be loaded: ${
            error instanceof Error ? error.message : String(error)
          }`,
          hint: "install @effect/ai (npm install @effect/ai@0.37.0)"
        })
    }),
    (SearchTools) => ({
      tools: { toolkit: SearchTools.toolkit, toolFor: SearchTools.toolFor },
      layer: choice === "real"
        ? Layer.orDie(Layer.provide(SearchTools.layerRealConfig(), FetchHttpClient.layer))
        : SearchTools.layerSimulated()
    })
  )
