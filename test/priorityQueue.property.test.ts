import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { PriorityQueue } from "../src/internal/priorityQueue.js"

// The engine's priority queue keeps items that arrive in order in a run of its own and the others in a heap:
// whatever the mix, items must come out in `before` order, ties in the order they went in.

interface Item {
  readonly key: number
  readonly order: number
}

const before = (a: Item, b: Item) => a.key < b.key || (a.key === b.key && a.order < b.order)

// A push (its key) or a pop (null). Keys mostly rise, as waits and deadlines of one length do, with drops.
const operations = FastCheck.array(
  FastCheck.oneof(
    { arbitrary: FastCheck.integer({ min: 0, max: 3 }), weight: 5 },
    { arbitrary: FastCheck.integer({ min: -40, max: 0 }), weight: 1 },
    { arbitrary: FastCheck.constant(null), weight: 4 }
  ),
  { maxLength: 3000 }
)

describe("PriorityQueue", () => {
  it("gives items back in order, whether they arrived in order or not", () => {
    FastCheck.assert(
      FastCheck.property(operations, (steps) => {
        const queue = new PriorityQueue<Item>(before)
        const reference: Array<Item> = []
        let key = 0
        let order = 0
        for (const step of steps) {
          if (step === null) {
            reference.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0))
            const expected = reference.shift()
            assert.strictEqual(queue.peek(), expected)
            assert.strictEqual(queue.pop(), expected)
          } else {
            key += step
            const item = { key, order: order++ }
            queue.push(item)
            reference.push(item)
          }
          assert.strictEqual(queue.size, reference.length)
        }
      }),
      { seed: 20261202, numRuns: 300 }
    )
  })

  it("keeps order across thousands of items taken from the front", () => {
    const queue = new PriorityQueue<Item>(before)
    for (let i = 0; i < 5000; i++) queue.push({ key: i, order: i })
    for (let i = 0; i < 3000; i++) assert.strictEqual(queue.pop()!.key, i)
    queue.push({ key: 10, order: 5000 })
    assert.strictEqual(queue.pop()!.key, 10)
    for (let i = 3000; i < 5000; i++) assert.strictEqual(queue.pop()!.key, i)
    assert.strictEqual(queue.size, 0)
    assert.strictEqual(queue.pop(), undefined)
  })
})
