import { InvalidSubTaskGraph } from "../OrchestratorError.js"
import type { SubTask } from "../SubTask.js"

/** A validated subtask DAG, by index into the subtask array. */
export interface Graph {
  readonly subtasks: ReadonlyArray<SubTask>
  /** For each subtask, the indices of its dependencies, in its own order. */
  readonly dependencies: ReadonlyArray<ReadonlyArray<number>>
  /** For each subtask, the indices of the subtasks that depend on it. */
  readonly dependents: ReadonlyArray<ReadonlyArray<number>>
}

/**
 * Checks that ids are unique, that every dependency names a subtask, and that there is no cycle; names every
 * problem found. Linear in subtasks plus edges.
 */
export const buildGraph = (subtasks: ReadonlyArray<SubTask>): Graph | InvalidSubTaskGraph => {
  const n = subtasks.length
  const indexOf = new Map<string, number>()
  const duplicateIds: Array<string> = []
  subtasks.forEach((subtask, i) => {
    if (indexOf.has(subtask.id)) {
      if (!duplicateIds.includes(subtask.id)) duplicateIds.push(subtask.id)
    } else indexOf.set(subtask.id, i)
  })
  const unknownDependencies: Array<{ subtaskId: string; dependency: string }> = []
  // Subtasks without dependencies or dependents (most of a wide run) share one empty list.
  const dependencies: Array<ReadonlyArray<number>> = new Array(n).fill(none)
  const dependents: Array<ReadonlyArray<number>> = new Array(n).fill(none)
  for (let i = 0; i < n; i++) {
    const named = subtasks[i]!.dependencies
    if (named.length === 0) continue
    const own: Array<number> = []
    for (const dependency of named) {
      const j = indexOf.get(dependency)
      if (j === undefined) unknownDependencies.push({ subtaskId: subtasks[i]!.id, dependency })
      else if (!own.includes(j)) {
        own.push(j)
        if (dependents[j] === none) dependents[j] = [i]
        else (dependents[j] as Array<number>).push(i)
      }
    }
    dependencies[i] = own
  }
  const cycle = duplicateIds.length > 0 ? [] : findCycle(subtasks, dependencies)
  if (duplicateIds.length > 0 || unknownDependencies.length > 0 || cycle.length > 0) {
    return new InvalidSubTaskGraph({ duplicateIds, unknownDependencies, cycle })
  }
  return { subtasks, dependencies, dependents }
}

const none: ReadonlyArray<number> = Object.freeze([])

/**
 * One dependency cycle as subtask ids, or [] when the graph is acyclic. Iterative DFS over typed arrays: no
 * stack overflow, and no allocation per subtask.
 */
const findCycle = (subtasks: ReadonlyArray<SubTask>, dependencies: ReadonlyArray<ReadonlyArray<number>>) => {
  const n = subtasks.length
  const state = new Uint8Array(n) // 0 new, 1 on the current path, 2 done
  const parent = new Int32Array(n).fill(-1)
  // The current path, and for each node the position of the next dependency to visit. A node enters the path
  // once at most, so n slots are enough.
  const path = new Int32Array(n)
  const visited = new Int32Array(n)
  for (let root = 0; root < n; root++) {
    if (state[root] !== 0) continue
    let depth = 0
    path[depth++] = root
    state[root] = 1
    while (depth > 0) {
      const node = path[depth - 1]!
      const deps = dependencies[node]!
      const next = visited[node]!
      if (next === deps.length) {
        state[node] = 2
        depth--
        continue
      }
      visited[node] = next + 1
      const dep = deps[next]!
      if (state[dep] === 1) {
        // Walk back from `node` to `dep`; reversed, that reads "dep depends on ... depends on node".
        const back: Array<string> = []
        for (let at = node; at !== dep && at !== -1; at = parent[at]!) back.push(subtasks[at]!.id)
        return [subtasks[dep]!.id, ...back.reverse()]
      }
      if (state[dep] === 0) {
        state[dep] = 1
        parent[dep] = node
        path[depth++] = dep
      }
    }
  }
  return []
}
