/** One W1 library run of `argv[2]` subtasks in this fresh process; prints its peak RSS in MB. */
import { makeSubTasks, runLibrary } from "./throughput.js"

const n = Number(process.argv[2] ?? 100_000)
await runLibrary(makeSubTasks(n))
console.log((process.resourceUsage().maxRSS / 1024).toFixed(0))
