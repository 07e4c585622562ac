/** A binary min-heap of due times: the pool's single timer queue. */
export class TimerQueue<T> {
  private readonly heap: { dueMs: number; order: number; item: T }[] = [];
  private order = 0;

  get size(): number {
    return this.heap.length;
  }

  push(dueMs: number, item: T): void {
    const heap = this.heap;
    heap.push({ dueMs, order: this.order++, item });
    let i = heap.length - 1;
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
  popDue(nowMs: number): { dueMs: number; item: T } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined || top.dueMs > nowMs) return undefined;
    const last = heap.pop() as (typeof heap)[number];
    if (heap.length > 0) {
      heap[0] = last;
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
    return { dueMs: top.dueMs, item: top.item };
  }

  clear(): void {
    this.heap.length = 0;
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.dueMs < y.dueMs || (x.dueMs === y.dueMs && x.order < y.order);
  }

  private swap(a: number, b: number): void {
    const heap = this.heap;
    const t = heap[a]!;
    heap[a] = heap[b]!;
    heap[b] = t;
  }
}
