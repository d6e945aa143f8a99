/**
 * Generates the sample report as a PDF and renders its first page to docs/report-sample.png, with poppler's
 * pdftoppm (Debian: poppler-utils).
 *
 *   npx tsx scripts/pdf-screenshot.ts [output.png]
 */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { FileSystem, Path } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { Report } from "multi-agent-orchestration"
import { runSample, sampleProviderWith } from "./sample.js"

const exec = promisify(execFile)
const output = process.argv[2] ?? "docs/report-sample.png"

const program = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const result = yield* runSample()
  const dir = yield* fs.makeTempDirectoryScoped()
  const pdf = path.join(dir, "report.pdf")
  yield* fs.writeFile(pdf, yield* Report.pdf(result))
  yield* fs.makeDirectory(path.dirname(output), { recursive: true })
  // pdftoppm adds ".png" to the name it is given.
  yield* Effect.promise(() =>
    exec("pdftoppm", ["-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", pdf, output.replace(/\.png$/, "")])
  )
  yield* Console.log(`${output} (page 1 of the sample report)`)
})

program.pipe(
  Effect.scoped,
  Effect.provide(Layer.merge(NodeContext.layer, sampleProviderWith("400 millis"))),
  NodeRuntime.runMain
)
