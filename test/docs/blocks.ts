/**
 * Finds the TypeScript in the documentation and type-checks it: the ```ts and ```typescript blocks of README.md
 * and docs/**\/*.md, and the ```ts blocks of every `@example` in src/**\/*.ts. Each block is compiled as a module
 * of its own, next to `prelude.ts`, which declares the names that stand for the reader's own values (`workflow`,
 * `task`, …); a block imports from it only the names it uses and does not declare itself.
 *
 * New blocks are picked up by themselves. A block that is not meant to compile (shell, JSON, output) takes another
 * fence language: ```bash, ```json, ```text.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

export interface Block {
  /** Where the block is, relative to the repository root, e.g. `README.md`. */
  readonly file: string
  /** The line of the block's first code line in `file` (1-based). */
  readonly line: number
  readonly code: string
}

export interface Problems {
  /** Problems of the compiler options, if any. */
  readonly global: ReadonlyArray<string>
  /** Each block's problems, as `file:line: TSnnnn: message` with the offending line. */
  readonly byBlock: ReadonlyMap<Block, ReadonlyArray<string>>
}

const typescriptFences = new Set(["ts", "typescript"])

/** The TypeScript blocks of a Markdown text: fenced with ``` or ~~~ (indented too, as in list items). */
export const markdownBlocks = (file: string, text: string): Array<Block> => {
  const blocks: Array<Block> = []
  const lines = text.split("\n")
  let open: { readonly indent: number; readonly fence: string; readonly typescript: boolean; readonly start: number } | undefined
  let body: Array<string> = []
  lines.forEach((line, index) => {
    if (open === undefined) {
      const match = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(line)
      if (match === null) return
      open = {
        indent: match[1]!.length,
        fence: match[2]!,
        typescript: typescriptFences.has(match[3]!.toLowerCase()),
        start: index + 2
      }
      body = []
      return
    }
    const trimmed = line.trim()
    if (trimmed.startsWith(open.fence[0]!.repeat(open.fence.length)) && /^(`+|~+)$/.test(trimmed)) {
      if (open.typescript) blocks.push({ file, line: open.start, code: body.join("\n") })
      open = undefined
      return
    }
    // Content lines lose the fence's indentation, as CommonMark says.
    const indent = Math.min(open.indent, line.length - line.trimStart().length)
    body.push(line.slice(indent))
  })
  return blocks
}

/** The ```ts blocks that follow an `@example` tag inside the JSDoc comments of a TypeScript source. */
export const exampleBlocks = (file: string, text: string): Array<Block> => {
  const blocks: Array<Block> = []
  const lines = text.split("\n")
  let inComment = false
  let afterExample = false
  let body: Array<string> | undefined
  let start = 0
  lines.forEach((line, index) => {
    if (!inComment) {
      if (/^\s*\/\*\*/.test(line)) {
        inComment = true
        afterExample = false
      } else return
    }
    const content = line.replace(/^\s*(\/\*\*|\*\/|\*(?!\/) ?)/, "")
    if (body !== undefined) {
      if (/^\s*```\s*$/.test(content)) {
        blocks.push({ file, line: start, code: body.join("\n") })
        body = undefined
      } else body.push(content)
    } else if (/@example\b/.test(content)) afterExample = true
    else if (afterExample && /^\s*```(ts|typescript)\s*$/.test(content)) {
      body = []
      start = index + 2
    } else if (/^\s*@\w/.test(content)) afterExample = false
    if (line.includes("*/")) {
      inComment = false
      body = undefined
    }
  })
  return blocks
}

const filesUnder = (directory: string, extension: string): Array<string> =>
  fs.existsSync(directory)
    ? fs.readdirSync(directory, { recursive: true, encoding: "utf8" })
      .filter((name) => name.endsWith(extension))
      .map((name) => path.join(directory, name))
      .sort()
    : []

/** Every TypeScript block of the repository's documentation and JSDoc examples. */
export const collect = (root: string): Array<Block> => {
  const relative = (file: string) => path.relative(root, file).split(path.sep).join("/")
  const markdown = [path.join(root, "README.md"), ...filesUnder(path.join(root, "docs"), ".md")]
  return [
    ...markdown.flatMap((file) => markdownBlocks(relative(file), fs.readFileSync(file, "utf8"))),
    ...filesUnder(path.join(root, "src"), ".ts").flatMap((file) => exampleBlocks(relative(file), fs.readFileSync(file, "utf8")))
  ]
}

/** The names one top-level statement declares, imports included. */
const namesOf = (statement: ts.Statement): Array<string> => {
  const names: Array<string> = []
  const addBinding = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.push(name.text)
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) addBinding(element.name)
  }
  if (ts.isImportDeclaration(statement) && statement.importClause !== undefined) {
    const clause = statement.importClause
    if (clause.name !== undefined) names.push(clause.name.text)
    const bindings = clause.namedBindings
    if (bindings !== undefined) {
      if (ts.isNamespaceImport(bindings)) names.push(bindings.name.text)
      else for (const element of bindings.elements) names.push(element.name.text)
    }
  } else if (ts.isImportEqualsDeclaration(statement)) names.push(statement.name.text)
  else if (ts.isVariableStatement(statement)) {
    for (const declaration of statement.declarationList.declarations) addBinding(declaration.name)
  } else if (
    (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement) || ts.isModuleDeclaration(statement)) &&
    statement.name !== undefined && ts.isIdentifier(statement.name)
  ) names.push(statement.name.text)
  return names
}

const parse = (fileName: string, text: string) => ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, false)

/** The names `prelude.ts` exports. */
const preludeNames = (preludeFile: string): Array<string> =>
  parse(preludeFile, fs.readFileSync(preludeFile, "utf8")).statements
    .filter((statement) =>
      ts.canHaveModifiers(statement) &&
      ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword) === true
    )
    .flatMap(namesOf)

/**
 * Compiles every block in one program and returns what is wrong, at the block's place in its file. The blocks are
 * virtual files next to the prelude (nothing is written), compiled with the repository's tsconfig.json, except
 * that unused names are allowed: a snippet may show a value without using it.
 */
export const check = (root: string, blocks: ReadonlyArray<Block>): Problems => {
  const directory = path.join(root, "test", "docs")
  const preludeFile = path.join(directory, "prelude.ts")
  const prelude = preludeNames(preludeFile)
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })
  if (config === undefined) throw new Error("tsconfig.json could not be read")
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    noUnusedLocals: false,
    noUnusedParameters: false,
    paths: {
      "multi-agent-orchestration": [path.join(root, "src", "index.ts")],
      "multi-agent-orchestration/*": [path.join(root, "src", "*.ts")]
    }
  }

  // Each block becomes `<import of the prelude names it needs>\n<block>\nexport {}`: one line before the block.
  const virtual = new Map<string, { readonly block: Block; readonly text: string }>()
  blocks.forEach((block, index) => {
    const fileName = path.join(directory, `block-${index}-${block.file.replace(/[^A-Za-z0-9]+/g, "-")}-${block.line}.ts`)
    const own = new Set(parse(fileName, block.code).statements.flatMap(namesOf))
    const needed = prelude.filter((name) => !own.has(name))
    const header = needed.length === 0 ? "" : `import { ${needed.join(", ")} } from "./prelude.js"`
    virtual.set(fileName, { block, text: `${header}\n${block.code}\nexport {}\n` })
  })

  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const entry = virtual.get(path.resolve(fileName))
    return entry === undefined
      ? getSourceFile(fileName, languageVersion, onError, shouldCreate)
      : ts.createSourceFile(fileName, entry.text, languageVersion, true)
  }
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (fileName) => virtual.has(path.resolve(fileName)) || fileExists(fileName)
  const readFile = host.readFile.bind(host)
  host.readFile = (fileName) => virtual.get(path.resolve(fileName))?.text ?? readFile(fileName)

  const program = ts.createProgram({ rootNames: [...virtual.keys()], options, host })
  const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map((diagnostic) =>
    `TS${diagnostic.code}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`
  )
  const byBlock = new Map<Block, ReadonlyArray<string>>()
  for (const [fileName, { block }] of virtual) {
    const source = program.getSourceFile(fileName)!
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    byBlock.set(
      block,
      diagnostics.map((diagnostic) => {
        const line = diagnostic.start === undefined ? 0 : source.getLineAndCharacterOfPosition(diagnostic.start).line
        const blockLine = Math.max(0, line - 1) // the first line is the prelude import
        const code = block.code.split("\n")[blockLine]?.trim() ?? ""
        const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
        return `${block.file}:${block.line + blockLine}: TS${diagnostic.code}: ${message}\n    ${code}`
      })
    )
  }
  return { global, byBlock }
}
