/** Writes a batch atomically: all entries durable when it resolves, none written when it rejects. */
export type BatchWrite = (entries: ReadonlyArray<readonly [string, string]>) => Promise<void>;

interface Queued {
  readonly key: string;
  readonly sealed: Promise<string>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit: appends made in the same tick join one batch, sealed in
 * parallel and written by one atomic write (one transaction, one fsync).
 * Each caller still resolves only after the commit that holds its record;
 * if the write fails, every append of the batch rejects and none of them is
 * written. Batches may commit out of call order, which is harmless: the
 * queue is ordered by key, not by write time.
 *
 * @example
 * const commits = new GroupCommit((entries) => forage.setItems(entries));
 * await commits.add(op.id, table.seal(op.id, json)); // durable here
 */
export class GroupCommit {
  readonly #write: BatchWrite;
  readonly #batch: Queued[] = [];
  #flushing: Promise<void> | null = null;

  constructor(write: BatchWrite) {
    this.#write = write;
  }

  /** Queue `key` → `sealed` for the batch of this tick; resolves once it is durable. */
  add(key: string, sealed: Promise<string>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#batch.push({ key, sealed, resolve, reject });
      if (this.#batch.length === 1) queueMicrotask(() => void this.flush());
    });
  }

  /** Write what is queued now; resolves when it (or the batch being written, if none) is done. */
  flush(): Promise<void> {
    const batch = this.#batch.splice(0);
    if (batch.length === 0) return this.#flushing ?? Promise.resolve();
    const done = this.#writeBatch(batch).finally(() => {
      if (this.#flushing === done) this.#flushing = null;
    });
    this.#flushing = done;
    return done;
  }

  async #writeBatch(batch: ReadonlyArray<Queued>): Promise<void> {
    const sealed = await Promise.allSettled(batch.map((b) => b.sealed));
    const ready: Queued[] = [];
    const entries: Array<readonly [string, string]> = [];
    batch.forEach((b, i) => {
      const r = sealed[i] as PromiseSettledResult<string>;
      if (r.status === 'rejected') return b.reject(r.reason);
      ready.push(b);
      entries.push([b.key, r.value]);
    });
    if (entries.length === 0) return;
    try {
      await this.#write(entries);
      for (const b of ready) b.resolve();
    } catch (err) {
      for (const b of ready) b.reject(err);
    }
  }
}
