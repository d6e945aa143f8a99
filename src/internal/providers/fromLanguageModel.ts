/**
 * `Provider.fromLanguageModel`: any `@effect/ai` `LanguageModel` as a provider. A `LanguageModel` is made for
 * one model, and a provider serves whatever model each request names, so the provider holds a layer per
 * model (a map, or a function of the model's name) and builds each model's `LanguageModel` the first time a
 * request names it, once, for the life of the provider. Loaded on first use.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Service } from "../../Provider.js"
import { defaultTimeout } from "./shared.js"
import { finishUsage, makeStreamingService } from "./streamLanguageModel.js"

/** The layer of each model: a map from model names, or a function of the name. */
export type ModelLayers<E, R> =
  | Readonly<Record<string, Layer.Layer<LanguageModel.LanguageModel, E, R>>>
  | ((model: string) => Layer.Layer<LanguageModel.LanguageModel, E, R>)

/** Options of `Provider.fromLanguageModel`. */
export interface FromLanguageModelOptions {
  /** The provider's name in messages and reports, and the model prefix it answers to. Default: "model". */
  readonly name?: string | undefined
  /** The model of requests that name none. Default: the map's first model; required with a function. */
  readonly defaultModel?: string | undefined
  /** The time bound of one call. Default: 2 minutes. */
  readonly timeout?: Duration.DurationInput | undefined
}

export const defaultName = "model"

/** The model a call is for, given to the dispatching `LanguageModel` through the context. */
class SelectedModel extends Context.Tag("multi-agent-orchestration/internal/SelectedModel")<SelectedModel, string>() {}

const fail = (description: string) =>
  new AiError.MalformedInput({ module: "Provider", method: "fromLanguageModel", description })

const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

/** The loose shape of a `LanguageModel.Service`, whose own signatures are generic in the call's options. */
interface Dispatch {
  readonly generateText: (options: object) => Effect.Effect<unknown, unknown, unknown>
  readonly generateObject: (options: object) => Effect.Effect<unknown, unknown, unknown>
  readonly streamText: (options: object) => Stream.Stream<unknown, unknown, unknown>
}

export const make = <E, R>(
  layers: ModelLayers<E, R>,
  options: FromLanguageModelOptions
): Effect.Effect<Service, never, R | Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<R>()
    const scope = yield* Effect.scope
    const lock = yield* Effect.makeSemaphore(1)
    const built = new Map<string, LanguageModel.Service>()
    const layerOf = (model: string) =>
      typeof layers === "function" ? layers(model) : Object.hasOwn(layers, model) ? layers[model] : undefined

    // Each model's layer is built in the provider's scope the first time it is asked for; a failed build is
    // not kept, so that the next call tries again.
    const languageModelFor = (model: string): Effect.Effect<LanguageModel.Service, AiError.AiError> =>
      Effect.suspend(() => {
        const known = built.get(model)
        if (known !== undefined) return Effect.succeed(known)
        const layer = layerOf(model)
        if (layer === undefined) {
          const names = typeof layers === "function" ? [] : Object.keys(layers)
          return Effect.fail(fail(`no LanguageModel layer for model "${model}"; the provider has ${names.join(", ")}`))
        }
        return lock.withPermits(1)(Effect.suspend(() => {
          const again = built.get(model)
          if (again !== undefined) return Effect.succeed(again)
          return Effect.flatMap(Scope.fork(scope, ExecutionStrategy.sequential), (child) =>
            Layer.buildWithScope(layer, child).pipe(
              Effect.provide(context),
              Effect.map((services) => Context.get(services, LanguageModel.LanguageModel)),
              Effect.tap((service) => Effect.sync(() => built.set(model, service))),
              Effect.catchAllCause((cause) =>
                Effect.zipRight(
                  Scope.close(child, Exit.void),
                  Effect.fail(fail(`the LanguageModel layer of model "${model}" failed to build: ${describe(cause)}`))
                )
              )
            ))
        }))
      })

    const selected = Effect.flatMap(SelectedModel, languageModelFor)
    const dispatch: Dispatch = {
      generateText: (call) => Effect.flatMap(selected, (model) => (model as unknown as Dispatch).generateText(call)),
      generateObject: (call) => Effect.flatMap(selected, (model) => (model as unknown as Dispatch).generateObject(call)),
      streamText: (call) =>
        Stream.unwrap(Effect.map(selected, (model) => (model as unknown as Dispatch).streamText(call)))
    }

    const name = options.name ?? defaultName
    const defaultModel = options.defaultModel ?? (typeof layers === "function" ? "" : Object.keys(layers)[0]!)
    return makeStreamingService({
      name,
      defaultModel,
      timeout: options.timeout === undefined ? defaultTimeout : Duration.decode(options.timeout),
      secrets: [],
      languageModel: dispatch as unknown as LanguageModel.Service,
      redactedHeaders: [],
      // The model's own @effect/ai layer decides how a response format and tools reach its API.
      formatMode: "native",
      toolsWithNone: false,
      // Temperature and max tokens are the model layer's own configuration: `LanguageModel` has no
      // provider-neutral way to set them per call.
      configure: (self, call) => Effect.provideService(self, SelectedModel, call.model),
      usage: (response) => {
        const finish = response.content.find((part): part is Response.FinishPart => part.type === "finish")
        return finish === undefined ? undefined : finishUsage(finish)
      }
    })
  })
