/**
 * The command table of `orchestrate`: each command with its arguments and options, their help text and
 * defaults. It imports nothing, so that `orchestrate --help` prints without loading the CLI; `cli.ts` builds the
 * parser from the same table. A new command is one more entry in `commands` here and one more `Command` in
 * `cli.ts`'s `subcommands`.
 */

export type OptionKind = "integer" | "float" | "text" | "flag" | "choice"

export interface OptionSpec {
  /** The long name, without `--`. */
  readonly name: string
  readonly kind: OptionKind
  /** The value's name in the help: `--belters N`. */
  readonly placeholder?: string
  readonly description: string
  /** Applied by the parser when the option is absent; shown in the help. */
  readonly default?: number | string
  /** Shown in the help for a default decided elsewhere (the configuration, the environment). */
  readonly shownDefault?: string
  readonly choices?: ReadonlyArray<string>
}

export interface ArgSpec {
  readonly name: string
  readonly description: string
}

export interface CommandSpec {
  readonly name: string
  readonly summary: string
  readonly args: ReadonlyArray<ArgSpec>
  readonly options: Readonly<Record<string, OptionSpec>>
}

/** What each exit code means; printed by `--help`. */
export const exitCodes: ReadonlyArray<readonly [code: number, meaning: string]> = [
  [0, "the run completed (and every report asked for was written)"],
  [1, "the run failed or was cut short by its budget, a report could not be written, or a file or port could not be used"],
  [2, "bad usage: an unknown option, a missing or invalid value, a workflow file that does not load"],
  [130, "interrupted (Ctrl-C): what was done and what it cost are printed"]
]

/** The values of `--provider`. */
export const providerChoices = ["simulated", "openai", "anthropic", "compatible"] as const

/** Where durable runs are kept unless `--store` says otherwise: `RunStore.defaultFilename` (a test keeps them equal). */
export const defaultStore = ".orchestrate/runs.db"

const store = {
  name: "store",
  kind: "text",
  placeholder: "FILE|URL",
  description: "the run store: a SQLite FILE or a postgres:// URL",
  shownDefault: defaultStore
} as const satisfies OptionSpec

/** The options of every command that runs a workflow. */
export const runOptions = {
  provider: {
    name: "provider",
    kind: "choice",
    choices: providerChoices,
    placeholder: "NAME",
    description: "simulated (offline), openai, anthropic or compatible (a local OpenAI-compatible server)",
    shownDefault: "from the environment; simulated without keys"
  },
  model: { name: "model", kind: "text", placeholder: "MODEL", description: "the primary model", shownDefault: "the provider's" },
  fallbackModel: {
    name: "fallback-model",
    kind: "text",
    placeholder: "MODEL",
    description: "the model tried once the primary's retries are used up",
    shownDefault: "none"
  },
  maxConcurrent: { name: "max-concurrent", kind: "integer", placeholder: "N", description: "agents at once", shownDefault: "10" },
  timeout: {
    name: "timeout",
    kind: "float",
    placeholder: "SECONDS",
    description: "the time bound of each agent, retries included",
    shownDefault: "300"
  },
  retries: { name: "retries", kind: "integer", placeholder: "N", description: "retries of a transient error", shownDefault: "2" },
  budget: { name: "budget", kind: "float", placeholder: "DOLLARS", description: "the most to spend, in US dollars", shownDefault: "none" },
  format: {
    name: "format",
    kind: "text",
    placeholder: "LIST",
    description: "reports to write: md, pdf or md,pdf",
    shownDefault: "none; md when --out is given"
  },
  out: { name: "out", kind: "text", placeholder: "DIR", description: "where reports go (created if missing)", shownDefault: "reports" },
  events: { name: "events", kind: "text", placeholder: "FILE", description: "write every event to FILE, one JSON line each" },
  json: { name: "json", kind: "flag", description: "print the result as JSON on stdout (also when interrupted)" },
  quiet: { name: "quiet", kind: "flag", description: "print only the final synthesis" },
  serve: {
    name: "serve",
    kind: "text",
    placeholder: "HOST:PORT",
    description: "serve a live page, /events (SSE) and /ws (WebSocket); it stays up after the run until Ctrl-C",
    shownDefault: "host 127.0.0.1; port 0 picks a free one"
  },
  otlp: {
    name: "otlp",
    kind: "text",
    placeholder: "URL",
    description: "export the run's traces and metrics over OTLP/HTTP to URL (e.g. http://localhost:4318)"
  },
  durable: { name: "durable", kind: "flag", description: "record the run in the store, to resume it after a crash or Ctrl-C" },
  store: { ...store, description: "the run store: a SQLite FILE or a postgres:// URL; implies --durable" },
  cluster: {
    name: "cluster",
    kind: "text",
    placeholder: "URL",
    description: "run the agents on the cluster's runners (orchestrate runner): the cluster's postgres:// URL",
    shownDefault: "none: agents run in this process"
  },
  runId: {
    name: "run-id",
    kind: "text",
    placeholder: "ID",
    description: "the durable run's id; an existing run's id resumes it",
    shownDefault: "a new one"
  }
} as const satisfies Record<string, OptionSpec>

const task: ArgSpec = { name: "task", description: "what to research, in quotes" }

export const cascade = {
  name: "cascade",
  summary: "hierarchical research: Belters, then Drummers, then Camina",
  args: [task],
  options: {
    belters: { name: "belters", kind: "integer", placeholder: "N", description: "research agents (tier 1)", default: 5 },
    drummers: { name: "drummers", kind: "integer", placeholder: "N", description: "group syntheses (tier 2)", default: 2 },
    caminas: { name: "caminas", kind: "integer", placeholder: "N", description: "executive syntheses (tier 3)", default: 1 },
    ...runOptions
  }
} as const satisfies CommandSpec

/** The swarm's search domains: `DreamSwarm.knownDomains` and `DreamSwarm.defaultDomains` (a test keeps them equal). */
export const knownDomains = ["arxiv", "github", "news", "wikipedia", "text", "image", "video", "academic", "social", "product", "technical"]
export const defaultDomains = ["arxiv", "github", "news", "wikipedia"]

export const swarm = {
  name: "swarm",
  summary: "parallel search over several domains",
  args: [task],
  options: {
    agents: { name: "agents", kind: "integer", placeholder: "N", description: "search agents", default: 5 },
    domains: {
      name: "domains",
      kind: "text",
      placeholder: "LIST",
      description: `comma-separated, from: ${knownDomains.join(", ")}`,
      default: defaultDomains.join(",")
    },
    maxParallel: { name: "max-parallel", kind: "integer", placeholder: "N", description: "swarm agents at once", default: 3 },
    tools: {
      name: "tools",
      kind: "choice",
      choices: ["simulated", "real"],
      description: "search tools: simulated (offline) or real (arXiv, GitHub, Wikipedia, Hacker News)",
      shownDefault: "simulated"
    },
    ...runOptions
  }
} as const satisfies CommandSpec

export const run = {
  name: "run",
  summary: "run a workflow module you wrote (its default export is a Workflow; .ts needs tsx)",
  args: [{ name: "file", description: "a module whose default export is a Workflow" }, task],
  options: runOptions
} as const satisfies CommandSpec

const runArg: ArgSpec = { name: "run", description: "the durable run's id (orchestrate runs lists them)" }

/** How a continued run is shown: `resume` and `approve` take these afresh. */
const shownOptions = {
  cluster: runOptions.cluster,
  serve: runOptions.serve,
  events: runOptions.events,
  json: runOptions.json,
  quiet: runOptions.quiet
} as const satisfies Record<string, OptionSpec>

export const runs = {
  name: "runs",
  summary: "list the durable runs in the store: status, progress, agents, cost, last update",
  args: [],
  options: { store }
} as const satisfies CommandSpec

export const resume = {
  name: "resume",
  summary: "continue a durable run that stopped, with the workflow, task and options it was started with",
  args: [runArg],
  options: { store, ...shownOptions }
} as const satisfies CommandSpec

export const approve = {
  name: "approve",
  summary: "approve (or --reject) a durable run's approval step, then continue the run",
  args: [runArg, { name: "step", description: "the approval step's name" }],
  options: {
    reject: { name: "reject", kind: "flag", description: "reject the step instead of approving it" },
    note: { name: "note", kind: "text", placeholder: "TEXT", description: "a note for the steps after it", shownDefault: "none" },
    noResume: {
      name: "no-resume",
      kind: "flag",
      description: "only record the decision (a process that waits on the approval continues by itself)"
    },
    store,
    ...shownOptions
  }
} as const satisfies CommandSpec

export const show = {
  name: "show",
  summary: "write the reports of a stored run, finished or not",
  args: [runArg],
  options: {
    store,
    format: { name: "format", kind: "text", placeholder: "LIST", description: "reports to write: md, pdf or md,pdf", default: "md" },
    out: { name: "out", kind: "text", placeholder: "DIR", description: "where reports go (created if missing)", default: "reports" }
  }
} as const satisfies CommandSpec

export const runner = {
  name: "runner",
  summary: "a cluster runner: takes the agents of runs submitted with --cluster, until SIGTERM",
  args: [],
  options: {
    store: { name: "store", kind: "text", placeholder: "URL", description: "the cluster's postgres:// URL (required)" },
    listen: {
      name: "listen",
      kind: "text",
      placeholder: "HOST:PORT",
      description: "where other processes reach this runner (required); HOST must be reachable from them"
    },
    maxConcurrent: { name: "max-concurrent", kind: "integer", placeholder: "N", description: "agents this runner runs at once", default: 10 },
    workflows: {
      name: "workflows",
      kind: "text",
      placeholder: "FILE",
      description: "a module whose exported workflows this runner knows, by name (Dream Cascade and Dream Swarm it always knows)"
    },
    provider: runOptions.provider,
    tools: {
      name: "tools",
      kind: "choice",
      choices: ["simulated", "real"],
      description: "the search tools of the swarms it runs: simulated (offline) or real",
      shownDefault: "simulated"
    }
  }
} as const satisfies CommandSpec

/** Every command, in the order the help lists them. */
export const commands: ReadonlyArray<CommandSpec> = [cascade, swarm, run, runs, resume, approve, show, runner]

export const commandNamed = (name: string | undefined): CommandSpec | undefined =>
  commands.find((command) => command.name === name)

export const description = "multi-agent LLM workflows: research with Dream Cascade or Dream Swarm, or run your own"

/** The environment variables the commands read. */
export const environment: ReadonlyArray<readonly [name: string, meaning: string]> = [
  ["ANTHROPIC_API_KEY", "Anthropic (--provider anthropic, or chosen from the environment); ANTHROPIC_MODEL, ANTHROPIC_BASE_URL optional"],
  ["OPENAI_API_KEY", "OpenAI (--provider openai); OPENAI_MODEL sets the model"],
  ["OPENAI_BASE_URL", "an OpenAI-compatible server (--provider compatible), e.g. http://localhost:11434/v1"],
  ["NO_COLOR", "no colours or cursor movement (also when stdout is not a terminal)"],
  ["ORCHESTRATE_CLUSTER_LOCK_MS", "cluster: how long a runner's shard lock lasts unrenewed (default 35000); a dead runner's agents move after it"],
  ["ORCHESTRATE_CLUSTER_REFRESH_MS", "cluster: how often processes read the shard assignments (default 3000)"]
]
