/** An entry of the queue: it carries its own due time, so that a check allocates nothing more. */
export interface Timed {
  readonly dueMs: number;
}

/** A binary min-heap of due times: the pool's single timer queue. Equal due times keep push order. */
export class TimerQueue<T extends Timed> {
  private readonly heap: T[] = [];
  /** Push order of each heap entry, moved with it. */
  private readonly orders: number[] = [];
  private order = 0;

  get size(): number {
    return this.heap.length;
  }

  push(item: T): void {
    this.heap.push(item);
    this.orders.push(this.order++);
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  peekDueMs(): number | undefined {
    return this.heap[0]?.dueMs;
  }

  /** Removes and returns the earliest entry if it is due at `nowMs`. */
  popDue(nowMs: number): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined || top.dueMs > nowMs) return undefined;
    const last = heap.pop()!;
    const lastOrder = this.orders.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.orders[0] = lastOrder;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.before(left, smallest)) smallest = left;
        if (right < heap.length && this.before(right, smallest)) smallest = right;
        if (smallest === i) break;
        this.swap(i, smallest);
        i = smallest;
      }
    }
    return top;
  }

  clear(): void {
    this.heap.length = 0;
    this.orders.length = 0;
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a]!.dueMs;
    const y = this.heap[b]!.dueMs;
    return x < y || (x === y && this.orders[a]! < this.orders[b]!);
  }

  private swap(a: number, b: number): void {
    const heap = this.heap;
    const t = heap[a]!;
    heap[a] = heap[b]!;
    heap[b] = t;
    const orders = this.orders;
    const o = orders[a]!;
    orders[a] = orders[b]!;
    orders[b] = o;
  }
}
