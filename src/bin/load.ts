/**
 * `orchestrate run FILE`: the workflow module the user wrote, loaded with `import()` (TypeScript through tsx),
 * and each way that can fail told by its real cause: a missing file, a syntax error with its line, an import
 * that does not resolve, a decode error as its failing paths, a default export that is not a Workflow.
 */
import { execFile } from "node:child_process"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import { issueList } from "../internal/describe.js"
import * as Workflow from "../Workflow.js"
import { UsageError } from "./errors.js"

type Module = { readonly default?: unknown }
type TsImport = (specifier: string, parent: string) => Promise<unknown>

const firstLine = (text: string) => text.split("\n")[0]!.trim()

/** Where Node puts a syntax error of an ES module: only in what `node --check` prints. */
const syntaxErrorLocation = (file: string): Promise<string | undefined> =>
  new Promise((resolve) => {
    execFile(process.execPath, ["--check", file], { timeout: 10_000 }, (_, __, stderr) => {
      const at = /:(\d+)\s*$/m.exec(stderr.split("\n")[0] ?? "")
      resolve(at === null ? undefined : `line ${at[1]}`)
    })
  })

const missingModule = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown }).code
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return undefined
  const message = error instanceof Error ? error.message : ""
  return /Cannot find (?:module|package) '([^']+)'/.exec(message)?.[1]
}

/** Why the module could not be loaded, in one line. */
const causeOf = async (error: unknown, absolute: string): Promise<string> => {
  if (ParseResult.isParseError(error)) return `invalid data: ${issueList(error)}`

  const missing = missingModule(error)
  if (missing !== undefined) {
    return missing.startsWith(".") || missing.startsWith("/") || missing.startsWith("file:")
      ? `it imports "${missing}", which does not exist`
      : `it imports "${missing}", which is not installed where the file can find it (npm install ${missing})`
  }
  const message = error instanceof Error ? error.message : String(error)
  // tsx (esbuild): "Transform failed with 1 error:\n/path/file.ts:3:12: ERROR: Expected identifier but found ..."
  const transform = /^(?:.*?):(\d+):(\d+): ERROR: (.+)$/m.exec(message)
  if (transform !== null) return `syntax error at line ${transform[1]}, column ${transform[2]}: ${transform[3]}`
  if (error instanceof Error && error.name === "SyntaxError") {
    const where = await syntaxErrorLocation(absolute)
    return `syntax error${where === undefined ? "" : ` at ${where}`}: ${firstLine(message)}`
  }
  return firstLine(message)
}

const loadTsx = (): Promise<TsImport | undefined> =>
  import("tsx/esm/api").then(
    (module: { readonly tsImport: TsImport }) => module.tsImport,
    (error: unknown) => {
      if (missingModule(error) === "tsx") return undefined
      return Promise.reject(error)
    }
  )

/** The default export of a module the user wrote, which must be a Workflow. */
export const loadWorkflow = (file: string) =>
  Effect.flatMap(loadModule(file), (module) => {
    const candidate = module.default
    if (!Workflow.isWorkflow(candidate)) {
      return new UsageError({
        problem: `the default export of ${file} is not a Workflow`,
        hint: "Write export default Workflow.make({ ... }), or a pattern such as DreamCascade.make(...)"
      })
    }
    return Effect.succeed(candidate as Workflow.Workflow)
  })

/** Every Workflow a module exports (`orchestrate runner --workflows`): at least one. */
export const loadWorkflows = (file: string) =>
  Effect.flatMap(loadModule(file), (module) => {
    const workflows = Object.values(module).filter(Workflow.isWorkflow) as Array<Workflow.Workflow>
    return workflows.length > 0 ? Effect.succeed([...new Set(workflows)]) : new UsageError({
      problem: `${file} exports no Workflow`,
      hint: "Export each workflow the runners must know: export const research = Workflow.make({ ... })"
    })
  })

const loadModule = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const absolute = path.resolve(file)
    const cannot = (problem: string, hint?: string) => new UsageError({ problem: `cannot load ${file}: ${problem}`, hint })
    if (!(yield* fs.exists(absolute).pipe(Effect.orElseSucceed(() => false)))) {
      return yield* cannot("no such file", "Check the path (it is relative to the current directory)")
    }
    const url = (yield* path.toFileUrl(absolute).pipe(Effect.orDie)).href
    const typescript = /\.[cm]?tsx?$/.test(absolute)
    // Through tsx when it is installed (any module, so that all load the same way), else Node's own import.
    const tsImport = yield* Effect.promise(loadTsx)
    if (typescript && tsImport === undefined) {
      return yield* cannot(
        "running a TypeScript workflow needs tsx, which is not installed",
        "Install it (npm install --save-dev tsx), or compile the workflow to JavaScript"
      )
    }
    const module = yield* Effect.tryPromise({
      try: async () => (tsImport === undefined ? await import(url) : await tsImport(url, import.meta.url)) as Module,
      catch: (error) => error
    }).pipe(Effect.catchAll((error) => Effect.flatMap(Effect.promise(() => causeOf(error, absolute)), (cause) => cannot(cause))))
    return module as Module & Record<string, unknown>
  })
