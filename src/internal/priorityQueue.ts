/**
 * A priority queue under `before` (the item that should come out first is "before" the others), for items
 * that mostly arrive in the order they leave: jobs of equal priority, waits of equal length, deadlines of
 * equal time bounds. Those go to a first-in, first-out run (constant time each way, as Node keeps its timers
 * in a list per duration); an item that would come out before the run's last goes to a binary heap beside it.
 * A 20,000-item binary heap costs a cache miss a level on every pop; the run costs none.
 */
export class PriorityQueue<A> {
  // `run[head]` onwards, each item not before the one ahead of it; `undefined` once taken.
  private readonly run: Array<A | undefined> = []
  private head = 0
  // The items that came out of order.
  private readonly items: Array<A> = []
  constructor(private readonly before: (a: A, b: A) => boolean) {}

  get size(): number {
    return this.run.length - this.head + this.items.length
  }

  /** The item `pop` would return, left in place. */
  peek(): A | undefined {
    const first = this.run[this.head]
    const top = this.items[0]
    return first === undefined || (top !== undefined && this.before(top, first)) ? top : first
  }

  push(item: A): void {
    const run = this.run
    if (run.length === this.head || !this.before(item, run[run.length - 1]!)) run.push(item)
    else this.pushOutOfOrder(item)
  }

  pop(): A | undefined {
    const first = this.run[this.head]
    const top = this.items[0]
    if (first === undefined || (top !== undefined && this.before(top, first))) return this.popOutOfOrder()
    this.run[this.head++] = undefined
    this.compact()
    return first
  }

  // The run's taken prefix is dropped once empty, or once it is most of the array (amortised constant time).
  private compact(): void {
    const run = this.run
    if (this.head === run.length) {
      run.length = 0
      this.head = 0
    } else if (this.head >= 1024 && 2 * this.head >= run.length) {
      run.copyWithin(0, this.head)
      run.length -= this.head
      this.head = 0
    }
  }

  private pushOutOfOrder(item: A): void {
    const items = this.items
    let i = items.length
    items.push(item)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(item, items[parent]!)) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = item
  }

  private popOutOfOrder(): A | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    let i = 0
    const n = items.length
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && this.before(items[right]!, items[left]!) ? right : left
      if (!this.before(items[child]!, last)) break
      items[i] = items[child]!
      i = child
    }
    items[i] = last
    return top
  }
}
