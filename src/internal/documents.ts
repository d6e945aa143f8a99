import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { OrchestratorResult } from "../OrchestratorResult.js"
import { writeEach } from "../Report.js"
import { emit, type Node } from "./env.js"

export const missingFileSystem =
  "documents need the FileSystem and Path services: provide NodeContext.layer (from @effect/platform-node) to the run"

/**
 * Writes the run's reports when the configuration asks for them (`generateDocuments`), between
 * `document_generation_start` and `document_generation_complete`, and returns the result with its `documents`.
 * Cancelled runs get none. Never fails: what could not be written is listed in the complete event's `errors`.
 * The file system is looked up, not required, so that runs without documents need none.
 */
export const generateDocuments = (node: Node, result: OrchestratorResult): Effect.Effect<OrchestratorResult> =>
  Effect.gen(function*() {
    const config = node.env.config
    if (!config.generateDocuments || result.status === "cancelled" || config.documentFormats.length === 0) return result
    emit(node, "document_generation_start", { formats: [...config.documentFormats] })
    const fs = yield* Effect.serviceOption(FileSystem.FileSystem)
    const path = yield* Effect.serviceOption(Path.Path)
    const written = Option.isNone(fs) || Option.isNone(path)
      ? { documents: [], errors: [missingFileSystem] }
      : yield* writeEach(result, { formats: config.documentFormats, outputDirectory: config.outputDirectory }).pipe(
        Effect.provideService(FileSystem.FileSystem, fs.value),
        Effect.provideService(Path.Path, path.value),
        Effect.map(({ documents, errors }) => ({ documents, errors: errors.map((error) => error.message) }))
      )
    emit(node, "document_generation_complete", { documents: written.documents, errors: written.errors })
    return written.documents.length === 0 ? result : new OrchestratorResult({ ...result, documents: written.documents }, true)
  })
