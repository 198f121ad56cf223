import type { PendingOp } from '../src/op/pending-op';

/** How ready ops are packed into one batch request. */
export interface PackLimits {
  /** Most ops in one batch. */
  readonly maxOps: number;
  /** Most bytes of serialized entries in one batch. */
  readonly maxBytes: number;
  /** Serialized size of `op`'s batch entry, bytes. */
  readonly sizeOf: (op: PendingOp) => number;
  /** Whether `op` may go in a batch (else it is sent alone: e.g. it has a stored wait). */
  readonly packable: (op: PendingOp) => boolean;
}

/**
 * Which held ops start now, as units (one op, or a batch), in FIFO order.
 * An op is ready when no op of its key is in progress (`busy`) and no
 * earlier held op of its key is left waiting. Without `pack` every unit is
 * one op. With `pack`, consecutive ready ops go into one batch up to its
 * limits — several ops of one key may share a batch (the server applies
 * entries in order) — and an op that is not `packable`, or too large for a
 * batch on its own, is a unit alone; a batch of one is a unit of one.
 * Pure: reads `held` and `busy`, returns the units; the caller marks them.
 *
 * ```
 * held   a1 b1 a2 c1        busy: {b}
 * units  [a1] [a2] [c1]     (no pack: a2 waits for a1 → only a1, c1)
 * units  [a1 a2 c1]         (pack, maxOps ≥ 3)
 * ```
 *
 * @example
 * const units = pickReady(held, (k) => active.has(k), keyOf); // [[a1], [c1]]
 */
export function pickReady(
  held: readonly PendingOp[],
  busy: (key: string) => boolean,
  keyOf: (op: PendingOp) => string,
  pack?: PackLimits,
): PendingOp[][] {
  const units: PendingOp[][] = [];
  // Keys whose next op is not starting in this pick (busy, or left behind).
  const blocked = new Set<string>();
  // Keys with an op in the batch being built: their next op may join it.
  let batch: PendingOp[] = [];
  let batchKeys = new Set<string>();
  let bytes = 0;
  const close = (): void => {
    if (batch.length > 0) units.push(batch);
    // Two requests of one key must never overlap: a key in a sent batch waits.
    for (const k of batchKeys) blocked.add(k);
    batch = [];
    batchKeys = new Set<string>();
    bytes = 0;
  };
  for (const op of held) {
    const key = keyOf(op);
    if (blocked.has(key) || busy(key)) {
      blocked.add(key);
      continue;
    }
    if (pack === undefined) {
      units.push([op]);
      blocked.add(key);
      continue;
    }
    const size = pack.sizeOf(op);
    if (!pack.packable(op) || size > pack.maxBytes) {
      // Alone, after the batch holding its key's earlier ops (if any) is sent.
      if (batchKeys.has(key)) {
        blocked.add(key);
        continue;
      }
      units.push([op]);
      blocked.add(key);
      continue;
    }
    if (batch.length >= pack.maxOps || bytes + size > pack.maxBytes) {
      close();
      if (blocked.has(key)) continue;
    }
    batch.push(op);
    batchKeys.add(key);
    bytes += size;
  }
  close();
  // A batch of one is sent as a single request.
  return units;
}
