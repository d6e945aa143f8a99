/**
 * One provider in front of several: each request goes to the provider its model's prefix names
 * ("anthropic:claude-sonnet-4-5"), or whose model family an unprefixed model belongs to ("gpt-4o" to
 * "openai", "claude-…" to "anthropic"), or else to the default one. With it, the orchestrator's
 * `fallbackModel` falls back across providers.
 */
import type { Service } from "../../Provider.js"
import { streamFrom } from "./streamChunks.js"

const families: ReadonlyArray<readonly [prefix: string, pattern: RegExp]> = [
  ["openai", /^(?:gpt-|chatgpt-|o\d|codex-|computer-use)/i],
  ["anthropic", /^claude-/i]
]

export const makeRouter = (
  routes: ReadonlyMap<string, Service>,
  defaultPrefix: string
): Service => {
  const fallback = routes.get(defaultPrefix)!
  const route = (model: string): readonly [Service, string] => {
    const colon = model.indexOf(":")
    if (colon > 0) {
      const named = routes.get(model.slice(0, colon).toLowerCase())
      if (named !== undefined) return [named, model.slice(colon + 1)]
    }
    for (const [prefix, pattern] of families) {
      if (pattern.test(model)) {
        const family = routes.get(prefix)
        if (family !== undefined) return [family, model]
      }
    }
    return [fallback, model]
  }
  return {
    name: [...routes.keys()].join("+"),
    defaultModel: `${defaultPrefix}:${fallback.defaultModel}`,
    complete: (request) => {
      if (request.model === undefined) return fallback.complete(request)
      const [service, model] = route(request.model)
      return service.complete(model === request.model ? request : { ...request, model })
    },
    stream: (request) => {
      if (request.model === undefined) return streamFrom(fallback, request)
      const [service, model] = route(request.model)
      return streamFrom(service, model === request.model ? request : { ...request, model })
    }
  }
}
