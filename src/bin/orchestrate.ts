#!/usr/bin/env node
/**
 * The `orchestrate` executable. Help and version are answered from the command table alone; everything else
 * loads the CLI (`main.js`) first, so that `orchestrate --help` starts in a fraction of a second.
 */
import { answer, colorAllowed, helpRequest, packageVersion } from "./help.js"

const argv = process.argv.slice(2)
const request = helpRequest(argv)
if (request === undefined) {
  const { main } = await import("./main.js")
  main(argv)
} else {
  const help = answer(request, { color: colorAllowed(process.stdout.isTTY === true, process.env), version: packageVersion() })
  process[help.stream].write(help.text)
  process.exitCode = help.exitCode
}
