import type { AppliedEffect } from './reference-backend';

/** One op the client enqueued, as far as delivery checks need it. */
export interface EnqueuedOpRef {
  readonly idempotencyKey: string;
  /** Enqueue time (epoch ms, same clock as the backend's). */
  readonly createdAt: number;
  /**
   * The entity the op is meant to touch, `resource/id`. When given, an
   * effect the server recorded on another entity is reported as misrouted.
   */
  readonly entity?: string;
  /** Global enqueue position; ops are in this order when absent. */
  readonly order?: number;
}

/** An op the client parked in the dead-letter queue. */
export interface FailedOpRef {
  readonly idempotencyKey: string;
  readonly reason: string;
}

/** The result of `verifyDelivery`. `ok` is the one thing to assert on. */
export interface DeliveryReport {
  readonly ok: boolean;
  readonly enqueued: number;
  /** Applied by the server exactly once and not in the dead-letter queue. */
  readonly appliedOnce: number;
  /** Keys whose effect the server applied more than once. Must be empty. */
  readonly duplicated: readonly string[];
  /** Keys neither applied, nor failed, nor still pending. Must be empty. */
  readonly lost: readonly string[];
  /** Keys still pending in the client's queue. */
  readonly pending: readonly string[];
  readonly failedByReason: Readonly<Record<string, number>>;
  /** Failed ops the server nevertheless applied (e.g. a malformed 200): not lost, but worth a look. */
  readonly failedButApplied: readonly string[];
  /** Effects whose key the client never enqueued. Must be empty. */
  readonly foreignEffects: number;
  /** Entities whose server-side order differs from enqueue order. Must be empty. */
  readonly orderViolations: readonly string[];
  /**
   * With `strictFifo`: effects committed before an effect of an op enqueued
   * earlier (the whole log, not per entity). Must be 0 for a FIFO engine.
   */
  readonly fifoViolations: number;
  /** Keys whose effect landed on another entity than `EnqueuedOpRef.entity`. Must be empty. */
  readonly misrouted: readonly string[];
  /** Enqueue → server commit latency of applied ops, ms. */
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
}

/** Nearest-rank percentile of an ascending array (0 for empty). */
export function percentile(sortedAsc: readonly number[], p: number): number {
  if (sortedAsc.length === 0) return 0;
  const idx = Math.min(sortedAsc.length - 1, Math.max(0, Math.ceil((p / 100) * sortedAsc.length) - 1));
  return sortedAsc[idx] as number;
}

/**
 * Check end-to-end delivery against a reference backend's effect log: every
 * enqueued op applied exactly once or in the dead-letter queue (or still
 * pending, when `pendingKeys` says so), nothing doubled, nothing foreign,
 * nothing on the wrong entity, and each entity's effects in enqueue order —
 * with `strictFifo`, the whole log in enqueue order.
 *
 * @example
 * const report = verifyDelivery(enqueued, backend.applied(), failed);
 * expect(report).toMatchObject({ ok: true, lost: [], duplicated: [] });
 */
export function verifyDelivery(
  enqueued: readonly EnqueuedOpRef[],
  applied: readonly AppliedEffect[],
  failed: readonly FailedOpRef[],
  pendingKeys: readonly string[] = [],
  options: { readonly strictFifo?: boolean } = {},
): DeliveryReport {
  const byKey = new Map<string, AppliedEffect[]>();
  for (const e of applied) {
    const list = byKey.get(e.idempotencyKey);
    if (list) list.push(e);
    else byKey.set(e.idempotencyKey, [e]);
  }
  const failedKeys = new Map(failed.map((f) => [f.idempotencyKey, f.reason]));
  const pendingSet = new Set(pendingKeys);
  const known = new Set<string>();
  const duplicated: string[] = [];
  const lost: string[] = [];
  const pending: string[] = [];
  const failedButApplied: string[] = [];
  const failedByReason: Record<string, number> = {};
  const latencies: number[] = [];
  let appliedOnce = 0;
  const orderOf = new Map<string, number>();
  const entityOf = new Map<string, string>();

  enqueued.forEach((op, i) => {
    known.add(op.idempotencyKey);
    orderOf.set(op.idempotencyKey, op.order ?? i);
    if (op.entity !== undefined) entityOf.set(op.idempotencyKey, op.entity);
    const effects = byKey.get(op.idempotencyKey) ?? [];
    const reason = failedKeys.get(op.idempotencyKey);
    if (effects.length > 1) duplicated.push(op.idempotencyKey);
    if (reason !== undefined) {
      failedByReason[reason] = (failedByReason[reason] ?? 0) + 1;
      if (effects.length > 0) failedButApplied.push(op.idempotencyKey);
    } else if (effects.length === 1) {
      appliedOnce += 1;
    } else if (effects.length === 0) {
      if (pendingSet.has(op.idempotencyKey)) pending.push(op.idempotencyKey);
      else lost.push(op.idempotencyKey);
    }
    const first = effects[0];
    if (first) latencies.push(first.at - op.createdAt);
  });

  let foreignEffects = 0;
  let fifoViolations = 0;
  let maxOrder = -Infinity;
  const misrouted: string[] = [];
  const lastOrderByEntity = new Map<string, number>();
  const orderViolations = new Set<string>();
  for (const e of applied) {
    const order = orderOf.get(e.idempotencyKey);
    if (!known.has(e.idempotencyKey) || order === undefined) {
      foreignEffects += 1;
      continue;
    }
    if (order < maxOrder) fifoViolations += 1;
    maxOrder = Math.max(maxOrder, order);
    const entity = `${e.resource}/${e.id}`;
    const meant = entityOf.get(e.idempotencyKey);
    if (meant !== undefined && meant !== entity) misrouted.push(e.idempotencyKey);
    const last = lastOrderByEntity.get(entity);
    if (last !== undefined && order < last) orderViolations.add(entity);
    lastOrderByEntity.set(entity, Math.max(order, last ?? order));
  }

  latencies.sort((a, b) => a - b);
  return {
    ok:
      duplicated.length === 0 &&
      lost.length === 0 &&
      foreignEffects === 0 &&
      orderViolations.size === 0 &&
      misrouted.length === 0 &&
      (!options.strictFifo || fifoViolations === 0),
    enqueued: enqueued.length,
    appliedOnce,
    duplicated,
    lost,
    pending,
    failedByReason,
    failedButApplied,
    foreignEffects,
    orderViolations: [...orderViolations],
    fifoViolations,
    misrouted,
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? 0,
    },
  };
}
