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
 * Which held ops start now, as units (one op, or a batch). An op is ready
 * when no op of its key is in progress (`busy`) and no earlier held op of
 * its key is left waiting. Without `pack` every unit is one op: the first
 * held op of each free key, in FIFO order.
 *
 * With `pack`, batches are packed per key: each free key (in the order of
 * its oldest held op) brings its run of held ops — consecutive ops of that
 * key, the server applies them in order — into the batch being filled, up
 * to the batch's limits; a key's ops never go into two units at once (two
 * requests of one key would overlap), so units have disjoint key sets and
 * a key cut off by a full batch waits with the rest of its run. So with
 * few keys and long runs a batch is full (one key per batch is enough),
 * where packing FIFO-consecutive ops would give each batch one op per key
 * and leave every later batch blocked behind a shared key. Inside a batch
 * ops keep FIFO order. An op that is not `packable`, or too large for a
 * batch on its own, is a unit alone when it is its key's first ready op
 * (else its key stops before it); a batch of one is a unit of one.
 * Pure: reads `held` and `busy`, returns the units; the caller marks them.
 *
 * ```
 * held   a1 b1 a2 c1 b2        busy: {b}
 * units  [a1] [c1]             (no pack: a2 waits for a1)
 * units  [a1 a2 c1]            (pack, maxOps ≥ 3)
 * units  [a1 a2] [c1]          (pack, maxOps 2, nothing busy: [b1 b2] too)
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
  return pack === undefined ? oneEach(held, busy, keyOf) : packed(held, busy, keyOf, pack);
}

/**
 * Whether `op` may travel in a batch: `packable` and not larger than a
 * batch on its own (else it is sent alone).
 *
 * @example
 * batchable(op, pack); // false for an op with a stored wait
 */
export function batchable(op: PendingOp, pack: PackLimits): boolean {
  return pack.packable(op) && pack.sizeOf(op) <= pack.maxBytes;
}

/** The first held op of each free key, one unit each. */
function oneEach(held: readonly PendingOp[], busy: (key: string) => boolean, keyOf: (op: PendingOp) => string): PendingOp[][] {
  const units: PendingOp[][] = [];
  const seen = new Set<string>();
  for (const op of held) {
    const key = keyOf(op);
    if (seen.has(key)) continue;
    seen.add(key);
    if (!busy(key)) units.push([op]);
  }
  return units;
}

/** Batches over disjoint keys, each key bringing its run of held ops. */
function packed(held: readonly PendingOp[], busy: (key: string) => boolean, keyOf: (op: PendingOp) => string, pack: PackLimits): PendingOp[][] {
  // Per free key, its held ops in FIFO order; keys in the order of their oldest held op.
  const runs = new Map<string, PendingOp[]>();
  const position = new Map<PendingOp, number>();
  const busyKeys = new Set<string>();
  held.forEach((op, i) => {
    const key = keyOf(op);
    if (busyKeys.has(key)) return;
    let run = runs.get(key);
    if (run === undefined) {
      if (busy(key)) {
        busyKeys.add(key);
        return;
      }
      runs.set(key, (run = []));
    }
    run.push(op);
    position.set(op, i);
  });
  const units: PendingOp[][] = [];
  let batch: PendingOp[] = [];
  let bytes = 0;
  const close = (): void => {
    // FIFO order inside the batch (a key's run stays in its order).
    if (batch.length > 0) units.push(batch.sort((x, y) => (position.get(x) as number) - (position.get(y) as number)));
    batch = [];
    bytes = 0;
  };
  const fits = (size: number): boolean => batch.length < pack.maxOps && bytes + size <= pack.maxBytes;
  for (const run of runs.values()) {
    const first = run[0] as PendingOp;
    if (!batchable(first, pack)) {
      // Alone; the rest of its key waits for it.
      units.push([first]);
      continue;
    }
    if (!fits(pack.sizeOf(first))) close();
    for (const op of run) {
      const n = pack.sizeOf(op);
      // A key's run stops at an op sent alone or at the batch's limits: the rest waits.
      if (!batchable(op, pack) || !fits(n)) break;
      batch.push(op);
      bytes += n;
    }
  }
  close();
  return units;
}
