/** The options of the HTTP providers, in one place for `Provider.ts` to re-export (types only). */
export type { AnthropicOptions } from "./anthropic.js"
export type { OpenAiCompatibleOptions } from "./compatible.js"
export type { OpenAiOptions } from "./openai.js"
export type { CommonOptions, LimitOptions } from "./shared.js"
export type { FromLanguageModelOptions } from "./fromLanguageModel.js"
