/** Something with a deadline, kept in a `Deadlines`. */
export interface Timed {
  readonly deadline: number
  /** Where its `Deadlines` keeps it (the queue's own business); -1 when it is in none. */
  slot: number
}

/**
 * The deadlines a watchdog waits for: add one, remove one from wherever it is, read the earliest.
 *
 * Deadlines mostly come in order (agents of one time bound, started one after another): those join `inOrder`,
 * first in first out, and leave it in constant time, wherever they are in it; the others go to a binary heap
 * beside it. (A 20,000-deadline heap costs a cache miss a level on every removal.) An item's `slot` says where
 * it is: -1 nowhere, 0 or more its position in `inOrder` counted since the queue began (`inOrder[slot - base]`),
 * -2 or less its index `i` in the heap as `-2 - i`.
 */
export class Deadlines<A extends Timed> {
  private readonly inOrder: Array<A | undefined> = []
  private base = 0
  private head = 0
  private lastInOrder = -Infinity
  private liveInOrder = 0
  private readonly heap: Array<A> = []

  add(item: A): void {
    if (item.deadline >= this.lastInOrder) {
      this.lastInOrder = item.deadline
      this.liveInOrder++
      item.slot = this.base + this.inOrder.length
      this.inOrder.push(item)
    } else {
      this.heap.push(item)
      this.up(this.heap.length - 1)
    }
  }

  remove(item: A): void {
    const slot = item.slot
    if (slot === -1) return
    item.slot = -1
    if (slot >= 0) {
      const inOrder = this.inOrder
      inOrder[slot - this.base] = undefined
      this.liveInOrder--
      if (slot - this.base === this.head) this.compact()
      else if (inOrder.length - this.head >= 1024 && 4 * this.liveInOrder < inOrder.length - this.head) this.squeeze()
      return
    }
    const heap = this.heap
    const i = -2 - slot
    const last = heap.pop()!
    if (i === heap.length) return
    this.place(last, i)
    this.up(i)
    this.down(-2 - last.slot)
  }

  /** The item with the earliest deadline, if any. */
  earliest(): A | undefined {
    const first = this.inOrder[this.head]
    const top = this.heap[0]
    return first === undefined || (top !== undefined && top.deadline < first.deadline) ? top : first
  }

  // Drops the removed front of `inOrder`: all of it once nothing is left, else once it is most of the array.
  private compact(): void {
    const inOrder = this.inOrder
    while (this.head < inOrder.length && inOrder[this.head] === undefined) this.head++
    if (this.head === inOrder.length) {
      this.base += this.head
      inOrder.length = 0
      this.head = 0
      this.lastInOrder = -Infinity
    } else if (this.head >= 1024 && 2 * this.head >= inOrder.length) {
      inOrder.copyWithin(0, this.head)
      inOrder.length -= this.head
      this.base += this.head
      this.head = 0
    }
  }

  // Behind a long-lived front, removals leave holes: once they are most of `inOrder`, the rest moves up, to
  // positions not used before.
  private squeeze(): void {
    const inOrder = this.inOrder
    const start = this.base + inOrder.length
    let kept = 0
    for (let i = this.head; i < inOrder.length; i++) {
      const item = inOrder[i]
      if (item === undefined) continue
      inOrder[kept] = item
      item.slot = start + kept++
    }
    inOrder.length = kept
    this.base = start
    this.head = 0
  }

  private place(item: A, i: number): void {
    this.heap[i] = item
    item.slot = -2 - i
  }

  private up(i: number): void {
    const heap = this.heap
    const item = heap[i]!
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]!.deadline <= item.deadline) break
      this.place(heap[parent]!, i)
      i = parent
    }
    this.place(item, i)
  }

  private down(i: number): void {
    const heap = this.heap
    const item = heap[i]!
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && heap[right]!.deadline < heap[left]!.deadline ? right : left
      if (heap[child]!.deadline >= item.deadline) break
      this.place(heap[child]!, i)
      i = child
    }
    this.place(item, i)
  }
}
