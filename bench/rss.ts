/**
 * One W1 run of `argv[2]` subtasks in this fresh process, by the library or, with `baseline` as `argv[3]`, by
 * the p-limit baseline; prints the process's peak RSS in MB. Both import the same modules.
 */
import { makeSubTasks, runBaseline, runLibrary } from "./throughput.js"

const n = Number(process.argv[2] ?? 100_000)
const subtasks = makeSubTasks(n)
await (process.argv[3] === "baseline" ? runBaseline(subtasks) : runLibrary(subtasks))
console.log((process.resourceUsage().maxRSS / 1024).toFixed(0))
