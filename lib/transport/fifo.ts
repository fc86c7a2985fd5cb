/**
 * A first-in, first-out queue with O(1) push and shift (an array with a moving head, compacted
 * as it drains), for queues that can grow long: `Array#shift` on those is quadratic.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  /** The number of queued items. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Adds an item at the back. */
  push(item: T): void {
    this.items.push(item);
  }

  /** Removes and returns the front item, or undefined when empty. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes the first item matching `predicate`; linear, for rare withdrawals. */
  remove(predicate: (item: T) => boolean): boolean {
    for (let i = this.head; i < this.items.length; i++) {
      if (predicate(this.items[i] as T)) {
        this.items.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /** Removes and returns every item, front first. */
  drain(): T[] {
    const all = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return all;
  }
}
