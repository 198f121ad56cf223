/**
 * A set that remembers at most `capacity` keys, forgetting the oldest
 * inserted first. For "have we seen this op recently?" questions that must
 * not grow with the queue.
 */
export class BoundedSet<K> {
  readonly #keys = new Set<K>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  has(key: K): boolean {
    return this.#keys.has(key);
  }

  add(key: K): void {
    this.#keys.delete(key); // re-inserting refreshes its position
    this.#keys.add(key);
    if (this.#keys.size > this.#capacity) {
      const oldest = this.#keys.values().next().value as K;
      this.#keys.delete(oldest);
    }
  }

  delete(key: K): boolean {
    return this.#keys.delete(key);
  }

  get size(): number {
    return this.#keys.size;
  }
}
