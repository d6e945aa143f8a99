import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Completion, CompletionChunk, CompletionRequest, Service, ToolCall } from "../Provider.js"
import { type ProviderError, Unavailable } from "../ProviderError.js"
import { estimateTokens } from "../Usage.js"
import { answerWithSources, simulatedObject, simulatedToolCalls } from "./simulatedTurns.js"
import { after } from "./wakeups.js"

/** Which calls of the simulated provider fail, and how. */
export interface FailurePlan {
  /** 1-based numbers of the calls that fail, counted in the order calls start. */
  readonly calls?: ReadonlyArray<number> | undefined
  /** The share of calls that fail, 0–1, chosen by a seeded generator: the same seed fails the same calls. */
  readonly rate?: number | undefined
  readonly seed?: number | undefined
  /** The error of a failing call. Default: `Unavailable` (HTTP 503), which is transient. */
  readonly error?:
    | ProviderError
    | ((failure: { readonly call: number; readonly model: string; readonly request: CompletionRequest }) => ProviderError)
    | undefined
}

/** Options of `Provider.simulated`. */
export interface SimulatedOptions {
  /** The model reported when a request names none. Default: "simulated". */
  readonly defaultModel?: string | undefined
  /** How long each call takes, on the `Clock` (`TestClock` controls it). */
  readonly latency?:
    | Duration.DurationInput
    | ((request: CompletionRequest, call: number) => Duration.DurationInput)
    | undefined
  readonly failures?: FailurePlan | undefined
  /** Replaces the generated reply text. */
  readonly respond?: ((request: CompletionRequest, call: number) => string) | undefined
  /** Mixed into the seed of typed values (which otherwise depends on the prompt alone). */
  readonly seed?: number | undefined
  /**
   * Which typed replies (requests with a `responseFormat`) are invalid: a value the output's Schema rejects,
   * for chosen calls (`calls: [1]`) or a seeded share of them (`rate`, `seed`), counted like `failures`.
   */
  readonly invalidOutput?: {
    readonly calls?: ReadonlyArray<number> | undefined
    readonly rate?: number | undefined
    readonly seed?: number | undefined
  } | undefined
  /**
   * The tool calls of a request that offers tools, replacing the default (each tool once in the first round,
   * then an answer); `[]` answers, `undefined` keeps the default.
   */
  readonly toolCalls?:
    | ((request: CompletionRequest, call: number) => ReadonlyArray<Omit<ToolCall, "id">> | undefined)
    | undefined
}

export const makeSimulated = (options: SimulatedOptions = {}): Effect.Effect<Service> =>
  Effect.sync(() => {
    let calls = 0
    const defaultModel = options.defaultModel ?? "simulated"
    const failing = new Set(options.failures?.calls ?? [])
    const rate = options.failures?.rate ?? 0
    const seed = options.failures?.seed ?? 0
    const latencyOf = options.latency
    const fixedLatency = latencyOf === undefined || typeof latencyOf === "function"
      ? undefined
      : Duration.decode(latencyOf)

    const failureFor = (call: number, model: string, request: CompletionRequest): ProviderError | undefined => {
      if (!failing.has(call) && !(rate > 0 && uniform(seed, call) < rate)) return undefined
      const error = options.failures?.error
      if (error === undefined) {
        return new Unavailable({ provider: "simulated", model, status: 503, detail: `simulated failure of call ${call}` })
      }
      return typeof error === "function" ? error({ call, model, request }) : error
    }

    const invalid = new Set(options.invalidOutput?.calls ?? [])
    const invalidRate = options.invalidOutput?.rate ?? 0
    const invalidSeed = options.invalidOutput?.seed ?? 0

    /** A reply to a request with tools or a response format. */
    const turn = (
      request: CompletionRequest,
      call: number
    ): Effect.Effect<ReadonlyArray<ToolCall> | string> => {
      const scripted = (request.tools?.length ?? 0) === 0 ? undefined : options.toolCalls?.(request, call)
      const calls = scripted === undefined
        ? simulatedToolCalls(request, call)
        : scripted.map((c, i) => ({ id: `call_${call}_${i + 1}`, name: c.name, params: c.params }))
      if (calls !== undefined && calls.length > 0) return Effect.succeed(calls)
      const format = request.responseFormat
      if (format !== undefined) {
        const bad = invalid.has(call) || (invalidRate > 0 && uniform(invalidSeed, call) < invalidRate)
        return simulatedObject(request, format, options.seed ?? 0, bad)
      }
      return Effect.succeed(options.respond === undefined ? answerWithSources(request) : options.respond(request, call))
    }

    const replyTo = (request: CompletionRequest, call: number): Completion => {
      const content = options.respond === undefined
        ? simulatedReply(request)
        : truncate(options.respond(request, call), request.maxTokens)
      return {
        content,
        model: request.model ?? defaultModel,
        usage: { inputTokens: promptTokens(request), outputTokens: estimateTokens(content) }
      }
    }

    const answer = (request: CompletionRequest, call: number): Effect.Effect<Completion, ProviderError> => {
      const model = request.model ?? defaultModel
      const failure = failureFor(call, model, request)
      if (failure !== undefined) return Effect.fail(failure)
      if (request.responseFormat !== undefined || (request.tools?.length ?? 0) > 0) {
        return Effect.map(turn(request, call), (reply): Completion => {
          const content = typeof reply === "string" ? reply : ""
          const inputTokens = promptTokens(request) + estimateTokens(JSON.stringify(request.tools ?? []))
          const outputTokens = estimateTokens(typeof reply === "string" ? reply : JSON.stringify(reply))
          return {
            content,
            model,
            usage: { inputTokens, outputTokens },
            ...(typeof reply === "string" ? {} : { toolCalls: reply })
          }
        })
      }
      return Effect.succeed(replyTo(request, call))
    }

    const latencyFor = (request: CompletionRequest, call: number): Duration.Duration | undefined =>
      fixedLatency ?? (typeof latencyOf === "function" ? Duration.decode(latencyOf(request, call)) : undefined)

    // A streamed call writes its reply a word at a time, the latency spread evenly over the words; a failing
    // call breaks off halfway through its reply, as a dropped stream does.
    const stream = (request: CompletionRequest): Stream.Stream<CompletionChunk, ProviderError> =>
      Stream.suspend(() => {
        const call = ++calls
        const latency = latencyFor(request, call)
        const failure = failureFor(call, request.model ?? defaultModel, request)
        const completion = replyTo(request, call)
        const words = countWords(completion.content)
        return wordStream(completion, words, failure === undefined ? words : Math.floor(words / 2), failure, latency)
      })
    return {
      name: "simulated",
      defaultModel,
      complete: (request) =>
        Effect.suspend(() => {
          const call = ++calls
          const latency = latencyFor(request, call)
          // The latency passes, then the reply (or the failure) is written: a call in flight holds no reply,
          // and waits on its clock's shared wake-ups rather than a timer of its own, so that 20,000 calls
          // waiting at once cost little more than 20,000 pending Promises.
          return latency === undefined || Duration.isZero(latency)
            ? answer(request, call)
            : after(Duration.toMillis(latency), () => answer(request, call))
        }),
      stream
    }
  })

/** The words of a reply, each with the spaces after it (and the first with any before it): its deltas. */
const wordPattern = /^\s+|\S+\s*/g

const countWords = (text: string): number => {
  let count = 0
  wordPattern.lastIndex = 0
  while (wordPattern.exec(text) !== null) count++
  return count
}

/**
 * The first `written` of a reply's `words` as deltas, on the Clock, then its end: the n-th word (from 1) is
 * due `n × latency / words` after the stream starts (all at once without a latency), and the end, a `Finish`
 * or the `failure`, comes with the last word written (after the whole latency for an empty reply). A stream
 * that wakes late (a busy machine) sends every word that is due at once, so that its pace holds however many
 * streams run. Words are cut from the text as they are sent, so that a stream holds its text and a position
 * whatever its length; and the stream is one step repeated, the cheapest stream there is, since a run may
 * hold thousands at once.
 */
const wordStream = (
  completion: Completion,
  words: number,
  written: number,
  failure: ProviderError | undefined,
  latency: Duration.Duration | undefined
): Stream.Stream<CompletionChunk, ProviderError> => {
  const text = completion.content
  const pattern = new RegExp(wordPattern.source, "g")
  const gap = latency === undefined || Duration.isZero(latency) ? 0 : Duration.toMillis(latency) / Math.max(1, words)
  let start: number | undefined
  let next = 0
  let ended = false
  // Word i is due at start + (i + 1) × gap; the end is due with the last word written (with the first
  // "word" of an empty reply).
  const due = (i: number) => start! + (i + 1) * gap
  const end = Math.max(written, words === 0 ? 1 : 0) - 1
  const take = (now: number): Effect.Effect<Chunk.Chunk<CompletionChunk>, Option.Option<ProviderError>> => {
    const out: Array<CompletionChunk> = []
    if (gap === 0) {
      while (next < written) {
        out.push({ _tag: "TextDelta", text: pattern.exec(text)![0] })
        next++
      }
    } else if (next < written && due(next) <= now + 1e-6) {
      // The words that came due while the reader was busy go out as one delta, as a network stream read
      // late hands over what it buffered: a reader that falls behind holds one piece of text, not a word each.
      const from = pattern.lastIndex
      while (next < written && due(next) <= now + 1e-6) {
        pattern.exec(text)
        next++
      }
      out.push({ _tag: "TextDelta", text: text.slice(from, pattern.lastIndex) })
    }
    if (due(end) <= now + 1e-6) {
      ended = true
      if (failure !== undefined) {
        return out.length === 0 ? Effect.fail(Option.some(failure)) : Effect.succeed(Chunk.unsafeFromArray(out))
      }
      out.push({ _tag: "Finish", completion })
    }
    return Effect.succeed(Chunk.unsafeFromArray(out))
  }
  const step = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    if (ended) return failure !== undefined && next === written ? Effect.fail(Option.some(failure)) : Effect.fail(Option.none())
    start ??= now
    const wait = due(Math.min(next, Math.max(end, 0))) - now
    return wait > 1e-6
      ? Effect.zipRight(Effect.sleep(Duration.millis(wait)), Effect.flatMap(Clock.currentTimeMillis, take))
      : take(now)
  })
  return Stream.repeatEffectChunkOption(step)
}

/** Like a model that hits its token limit: the reply stops after about `maxTokens` tokens, at a word break. */
const truncate = (text: string, maxTokens: number | undefined): string => {
  if (maxTokens === undefined) return text
  const limit = Math.max(1, Math.floor(maxTokens)) * 4
  if (text.length <= limit) return text
  const cut = text.slice(0, limit)
  const space = cut.lastIndexOf(" ")
  return space > limit / 2 ? cut.slice(0, space) : cut
}

const promptTokens = (request: CompletionRequest): number => {
  let chars = request.system?.length ?? 0
  for (const message of request.messages ?? []) chars += message.content.length
  if (request.prompt !== undefined) chars += request.prompt.length
  return Math.ceil(chars / 4)
}

/** A uniform number in [0, 1) for a seed and a call number (mulberry32). */
export const uniform = (seed: number, call: number): number => {
  let t = (Math.imul(seed | 0, 0x9e3779b1) + Math.imul(call, 0x85ebca6b)) >>> 0
  t = (t + 0x6d2b79f5) >>> 0
  let r = Math.imul(t ^ (t >>> 15), t | 1)
  r ^= r + Math.imul(r ^ (r >>> 7), r | 61)
  return ((r ^ (r >>> 14)) >>> 0) / 4294967296
}

export const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

// ============================================================================================================
// Reply text
// ============================================================================================================

const stopwords = new Set(
  ("about above after again against among around because before being below between both could during each " +
    "every from further having into itself more most other should since some such than that their them then " +
    "there these they this those through under until very what when where which while with within would your " +
    "subtask research analyse analyze findings task using focus provide write brief survey current state " +
    "identify approaches differ collect recent results benchmarks studies assess technical obstacles limit " +
    "examine economic legal policy context organisations projects people working evaluate risks failure modes " +
    "criticisms compare alternatives competes trace developed changed recently outline problems likely steps " +
    "applications main")
    .split(" ")
)

const imperative =
  /^(?:research|investigate|analy[sz]e|study|explore|survey|examine|review|find|search(?: for)?|compare|evaluate|assess|identify|describe|explain|summari[sz]e|map|trace|outline|collect|look into|report on)\s+/i

export const lastUserText = (request: CompletionRequest): string => {
  if (request.prompt !== undefined) return request.prompt
  const messages = request.messages ?? []
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === "user") return messages[i]!.content
  return ""
}

export const topicOf = (prompt: string): string => {
  const labelled = /^(?:task|subtask|topic|question|research|focus|query)\s*:\s*(.+)$/im.exec(prompt)
  const line = labelled?.[1] ?? prompt.split("\n").find((l) => l.trim() !== "") ?? "the question"
  const clean = line.replace(/^[#>*\-\d.)\s]+/, "").replace(/[\s.:;!?]+$/, "").trim()
  if (clean.length <= 90) return clean === "" ? "the question" : clean
  const cut = clean.slice(0, 90)
  return `${cut.slice(0, Math.max(cut.lastIndexOf(" "), 40))}…`
}

/** Short noun phrases of the text: pairs of neighbouring content words, then single ones. */
export const keywordsOf = (text: string): Array<string> => {
  const phrases: Array<string> = []
  const add = (phrase: string) => {
    if (!phrases.includes(phrase)) phrases.push(phrase)
  }
  const words = text.toLowerCase().match(/[a-z][a-z-]*/g) ?? []
  const content = (w: string | undefined) => w !== undefined && w.length >= 4 && !stopwords.has(w)
  for (let i = 0; i < words.length - 1 && phrases.length < 4; i++) {
    if (content(words[i]) && content(words[i + 1])) add(`${words[i]} ${words[i + 1]}`)
  }
  for (const word of words) if (phrases.length < 4 && content(word)) add(word)
  for (const fallback of ["the evidence", "current practice", "the trade-offs"]) if (phrases.length < 3) add(fallback)
  return phrases
}

export const pick = <A>(items: ReadonlyArray<A>, seed: number, offset: number): A => items[(seed + offset * 7) % items.length]!

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

const angles = [
  "Survey the current state of {t}",
  "Identify the main approaches to {t} and how they differ",
  "Collect recent results, benchmarks and case studies on {t}",
  "Assess the technical obstacles that limit {t}",
  "Examine the economic, legal and policy context of {t}",
  "Map the key organisations, projects and people working on {t}",
  "Evaluate risks, failure modes and criticisms of {t}",
  "Compare {t} with the alternatives it competes with",
  "Trace how {t} developed and what changed recently",
  "Outline open problems and likely next steps for {t}"
]

export const findings = [
  "On {k}, most recent progress comes from combining established methods rather than from new theory.",
  "The evidence on {k} is strongest in controlled settings and thinner in production use.",
  "Practitioners report the largest gap between expectations and results around {k}.",
  "Costs tied to {k} have fallen steadily, which widens the range of practical uses.",
  "Sources disagree about {k}, mostly over definitions rather than data.",
  "A small number of suppliers dominate {k}, which concentrates risk.",
  "Work on {k} is moving from prototypes to standardised tooling.",
  "The best-documented uses of {k} share careful measurement and small, staged rollouts."
]

const questions = [
  "How well do results on {k} hold up outside the settings where they were measured?",
  "Which limits of {k} are fundamental, and which are engineering problems?",
  "What would change the outlook for {k} within the next two years?",
  "Who bears the cost when {k} fails, and how is that priced today?"
]

export const fill = (template: string, topic: string, keyword: string): string =>
  template.replace("{t}", topic).replace("{k}", keyword)

export const numberedList = (task: string, count: number, seed: number): string => {
  const topic = task.replace(imperative, "")
  const lines: Array<string> = []
  for (let i = 0; i < count; i++) {
    const angle = angles[(seed + i) % angles.length]!
    const round = Math.floor(i / angles.length)
    lines.push(`${i + 1}. ${fill(angle, topic, "")}${round > 0 ? ` (part ${round + 1})` : ""}`)
  }
  return lines.join("\n")
}

const scoreReply = (text: string, seed: number): string => {
  // A draft that says which earlier iteration it improves on has been refined that many times, so the judge
  // scores it higher: refinement loops visibly converge.
  const iterations = [...text.matchAll(/previous (?:draft|synthesis|attempt)[^\n]*?iteration (\d+)/gi)]
    .map((match) => Number(match[1]))
  const revisions = iterations.length > 0
    ? Math.max(...iterations)
    : (text.match(/previous (?:draft|synthesis|attempt)/gi) ?? []).length
  const score = Math.min(0.98, 0.55 + 0.15 * revisions + (seed % 50) / 1000)
  const critique = revisions === 0
    ? "Covers the main points but needs sources and a sharper conclusion."
    : "Better sourced and more focused than the previous draft; tighten the conclusion."
  return JSON.stringify({ score: Number(score.toFixed(2)), critique })
}

/**
 * The parts joined by blank lines, stopping (at a word break) once `maxChars` is reached, like a model at its
 * token limit. Joined from parts so that V8 keeps one flat string, not a rope or a slice of a longer one:
 * replies stay in memory for the whole run, one per agent.
 */
const joinWithin = (parts: ReadonlyArray<string>, maxChars: number): string => {
  const kept: Array<string> = []
  let length = 0
  for (const part of parts) {
    const room = maxChars - length - (kept.length === 0 ? 0 : 2)
    if (part.length <= room) {
      kept.push(part)
      length += part.length + (kept.length === 1 ? 0 : 2)
      continue
    }
    const cut = part.slice(0, Math.max(0, room))
    const space = cut.lastIndexOf(" ")
    const tail = space > room / 2 ? cut.slice(0, space) : cut
    if (tail.length > 0) kept.push(tail)
    break
  }
  return kept.join("\n\n")
}

export const brief = (topic: string, text: string, system: string, seed: number, maxChars: number): string => {
  const subject = topic.replace(imperative, "")
  const keywords = keywordsOf(subject === "the question" ? text : subject)
  const synthesis = /synthes|summar|executive|combine/i.test(system)
  // A synthesis cites what it was given: the ids of its "## id" sections, or of its "[id]" source list. (Only a
  // synthesis reads its prompt for them: a prompt may be long.)
  const cited = synthesis
    ? [...text.matchAll(/^## ([\w.]*[-\d][\w.-]*)[ \t]*(?::|$)/gm), ...text.matchAll(/^- \[([\w.-]+)\]/gm)].map((m) => m[1]!)
    : []
  const ids = [...new Set(cited)]
  const sources = synthesis ? (text.match(/^## /gm) ?? []).length : 0
  const cite = (i: number) => (synthesis && ids.length > 0 ? ` [${ids[(seed + i) % ids.length]}]` : "")
  const heading = synthesis ? `Synthesis: ${capitalise(subject)}` : capitalise(topic)
  const lead = synthesis && sources > 0
    ? `Drawing on ${sources} source${sources === 1 ? "" : "s"}, this synthesis sets out where they agree about ${subject} and where they differ.`
    : `This brief covers ${subject}: the findings that matter most, and the questions still open.`
  const bullets = [0, 1, 2].map((i) => `- ${fill(pick(findings, seed, i), subject, keywords[i % keywords.length]!)}${cite(i)}`)
  const open = `- ${fill(pick(questions, seed, 3), subject, keywords[(seed >>> 3) % keywords.length]!)}`
  const parts = [`## ${heading}`, lead, "### Key findings", bullets.join("\n"), "### Open questions", `${open}\n`]
  return joinWithin(parts, maxChars)
}

const asksScore = /\bscore\b/i
const asksJson = /\bjson\b/i
const asksList = /numbered list/i

/**
 * The deterministic reply of the simulated provider: a numbered list when asked for one, JSON with a score
 * when asked for a score, otherwise a short Markdown brief about the prompt's topic.
 */
export const simulatedReply = (request: CompletionRequest): string => {
  const prompt = lastUserText(request)
  const system = request.system ?? ""
  const seed = hash(prompt)
  const topic = topicOf(prompt)
  // What the request asks for, in its system prompt or its prompt: each is searched alone, since none of these
  // phrases can run across the two, and joining them would copy both.
  const asks = (pattern: RegExp) => pattern.test(system) || pattern.test(prompt)
  if (asks(asksScore) && asks(asksJson)) return scoreReply(prompt, seed)
  if (asks(asksList)) {
    const count = /(\d{1,3})\s+(?:\w+\s+)?(?:sub-?tasks|items|questions|steps|angles|topics)/i.exec(`${system}\n${prompt}`)
    return numberedList(topic, Math.min(100, Math.max(1, Number(count?.[1] ?? 5))), seed)
  }
  const maxChars = request.maxTokens === undefined ? Infinity : Math.max(1, Math.floor(request.maxTokens)) * 4
  return brief(topic, prompt, system, seed, maxChars)
}
