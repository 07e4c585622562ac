/** An entry of the queue: it carries its own due time, so that a check allocates nothing more. */
export interface Timed {
  readonly dueMs: number;
}

/**
 * A binary min-heap of due times: the pool's single timer queue. Equal due times keep push order.
 * The due times and push orders sit in typed arrays beside the entries, so that sifting compares
 * numbers in one block of memory instead of reaching into thousands of scattered entries (each a
 * cache miss when the network stack has run between two timer ticks).
 */
export class TimerQueue<T extends Timed> {
  private items: T[] = [];
  private dues = new Float64Array(64);
  /** Push order: a double counts exactly far beyond any uptime at thousands of checks a second. */
  private orders = new Float64Array(64);
  private length = 0;
  private order = 0;

  get size(): number {
    return this.length;
  }

  push(item: T): void {
    if (this.length === this.dues.length) this.grow();
    let i = this.length++;
    const dueMs = item.dueMs;
    const order = this.order++;
    // Sift up: move parents down until the new entry's place is found.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentDue = this.dues[parent]!;
      if (parentDue < dueMs || (parentDue === dueMs && this.orders[parent]! < order)) break;
      this.place(i, this.items[parent]!, parentDue, this.orders[parent]!);
      i = parent;
    }
    this.place(i, item, dueMs, order);
  }

  peekDueMs(): number | undefined {
    return this.length === 0 ? undefined : this.dues[0];
  }

  /** Removes and returns the earliest entry if it is due at `nowMs`. */
  popDue(nowMs: number): T | undefined {
    if (this.length === 0 || this.dues[0]! > nowMs) return undefined;
    const top = this.items[0]!;
    const last = --this.length;
    const item = this.items[last]!;
    const dueMs = this.dues[last]!;
    const order = this.orders[last]!;
    this.items.pop();
    if (last > 0) {
      // Sift down the former last entry from the root.
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= last) break;
        const right = left + 1;
        let child = left;
        if (right < last && this.earlier(right, left)) child = right;
        const childDue = this.dues[child]!;
        if (dueMs < childDue || (dueMs === childDue && order < this.orders[child]!)) break;
        this.place(i, this.items[child]!, childDue, this.orders[child]!);
        i = child;
      }
      this.place(i, item, dueMs, order);
    }
    return top;
  }

  clear(): void {
    this.items = [];
    this.length = 0;
  }

  private earlier(a: number, b: number): boolean {
    const x = this.dues[a]!;
    const y = this.dues[b]!;
    return x < y || (x === y && this.orders[a]! < this.orders[b]!);
  }

  private place(i: number, item: T, dueMs: number, order: number): void {
    this.items[i] = item;
    this.dues[i] = dueMs;
    this.orders[i] = order;
  }

  private grow(): void {
    const dues = new Float64Array(this.dues.length * 2);
    dues.set(this.dues);
    this.dues = dues;
    const orders = new Float64Array(this.orders.length * 2);
    orders.set(this.orders);
    this.orders = orders;
  }
}
