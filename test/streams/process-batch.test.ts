import { marbles } from 'rxjs-marbles/jest';
import { Observable, type SchedulerLike } from 'rxjs';
import type { BatchEntryResult, BatchRequest, BatchSender } from '../../streams/batch-port';
import { MalformedResponseError, PermanentError, ServerError, type SyncError } from '../../src/errors/sync-error';
import { EngineHarness, type HarnessOptions } from '../support/engine-harness';
import { MemoryStoreData } from '../support/memory-store-port';
import { fail, ok } from '../support/scripted-transport';

// processBatch through the engine (keyed drain with `batch`), against a
// fake batch endpoint that applies entries in order under their
// idempotency keys (a repeated key replays) and can be scripted per
// request. Lock at t=50; every batch answer takes 10 ms.

type Script = (req: BatchRequest) => readonly BatchEntryResult[] | SyncError | 'apply';

/** The server side of the batch contract, in virtual time. */
class FakeBatchServer implements BatchSender {
  readonly requests: Array<{ readonly at: number; readonly titles: string[]; readonly keys: string[] }> = [];
  /** Effects applied, per idempotency key (a replay does not count). */
  readonly applied = new Map<string, string>();
  /** Titles in the order the server applied them. */
  readonly order: string[] = [];
  readonly script: Script[] = [];
  constructor(private readonly scheduler: SchedulerLike) {}

  apply(req: BatchRequest, upTo = req.entries.length): BatchEntryResult[] {
    return req.entries.map((e, i): BatchEntryResult => {
      if (i >= upTo) return { kind: 'notApplied' };
      const title = (e.body as { title: string }).title;
      if (!this.applied.has(e.idempotencyKey)) {
        this.applied.set(e.idempotencyKey, title);
        this.order.push(title);
      }
      return { kind: 'ok', response: { status: 200, data: { id: 'x' } } };
    });
  }

  sendBatch(req: BatchRequest): Observable<readonly BatchEntryResult[]> {
    return new Observable((subscriber) => {
      this.requests.push({ at: this.scheduler.now(), titles: req.entries.map((e) => (e.body as { title: string }).title), keys: req.entries.map((e) => e.idempotencyKey) });
      const step = this.script.shift() ?? (() => 'apply' as const);
      const action = this.scheduler.schedule(() => {
        const out = step(req);
        if (out === 'apply') subscriber.next(this.apply(req));
        else if (Array.isArray(out)) subscriber.next(out);
        else return subscriber.error(out);
        subscriber.complete();
      }, 10);
      return () => action.unsubscribe();
    });
  }
}

function setup(m: { scheduler: SchedulerLike }, options: { maxOps?: number; concurrency?: number; latencyMs?: HarnessOptions['storeLatencyMs'] } = {}) {
  const batch = new FakeBatchServer(m.scheduler);
  const h = new EngineHarness(m.scheduler, {
    batch: { path: '/batch', maxOps: options.maxOps ?? 10, maxBytes: 262_144 },
    concurrency: options.concurrency,
    batchApi: batch,
    storeLatencyMs: options.latencyMs,
  });
  h.server.fallback = ok({ id: 'x' });
  return { h, batch };
}

function enqueue(h: EngineHarness, kind: 'create' | 'update', id: string, n: number): void {
  void h.engine.enqueue({ type: kind === 'create' ? 'todo.create' : 'todo.update', payload: { id, title: `t${n}` }, txToken: `tx${n}` });
}

const outcomes = (h: EngineHarness) => h.results.map((r) => `${r.txToken}:${r.outcome}`);
const singles = (h: EngineHarness) => h.server.requests.map((r) => (JSON.parse(r.request.body ?? '{}') as { title: string }).title);

describe('processBatch (engine, virtual time)', () => {
  test(
    'ready ops go out in one request (several of one key together), each committed from its own 2xx, in order',
    marbles((m) => {
      const { h, batch } = setup(m);
      enqueue(h, 'create', 'a', 1);
      enqueue(h, 'create', 'b', 2);
      enqueue(h, 'update', 'a', 3);
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(batch.requests.map((r) => r.titles)).toEqual([['t1', 't2', 't3']]);
      expect(outcomes(h)).toEqual(['tx1:committed', 'tx2:committed', 'tx3:committed']);
      expect(h.server.requests).toHaveLength(0);
      expect(h.store.pendingOps()).toEqual([]);
    }),
  );

  test(
    'batch × concurrency: each key brings its run, so full batches over disjoint keys are on the wire together (one request slot each)',
    marbles((m) => {
      const { h, batch } = setup(m, { maxOps: 4, concurrency: 2 });
      ['a', 'b', 'c', 'd'].forEach((id, i) => enqueue(h, 'create', id, i + 1));
      ['a', 'b', 'c', 'd'].forEach((id, i) => enqueue(h, 'update', id, i + 5));
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      // FIFO-consecutive packing: [t1 t2 t3 t4] at 50, then [t5 t6 t7 t8] after it.
      expect(batch.requests.map((r) => [r.at, r.titles])).toEqual([
        [50, ['t1', 't2', 't5', 't6']],
        [50, ['t3', 't4', 't7', 't8']],
      ]);
      expect(batch.order).toEqual(['t1', 't2', 't5', 't6', 't3', 't4', 't7', 't8']);
      expect(outcomes(h)).toHaveLength(8);
      expect(h.results.filter((r) => r.outcome !== 'committed')).toEqual([]);
    }),
  );

  test(
    'a transient entry inside a committed batch retries alone; later entries (424) come back untouched and go out after it for its key, at once for the others',
    marbles((m) => {
      const { h, batch } = setup(m);
      // t1 applied, t2 503 (stops the batch), t3 and t4 not applied.
      batch.script.push((req) => [
        ...batch.apply(req, 1).slice(0, 1),
        { kind: 'error', error: new ServerError({ status: 503 }) },
        { kind: 'notApplied' },
        { kind: 'notApplied' },
      ]);
      enqueue(h, 'create', 'a', 1);
      enqueue(h, 'create', 'b', 2);
      enqueue(h, 'update', 'b', 3);
      enqueue(h, 'create', 'c', 4);
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      // One batch; c's op comes back with its key free and goes out at once
      // (alone: a batch of one); b's 503 is retried alone after 500 ms, then b3.
      expect(batch.requests.map((r) => r.titles)).toEqual([['t1', 't2', 't3', 't4']]);
      expect(singles(h)).toEqual(['t4', 't2', 't3']);
      const sentAt = (t: string) => h.server.requests.find((r) => (JSON.parse(r.request.body ?? '{}') as { title: string }).title === t)!.sentAt;
      expect(sentAt('t4')).toBe(60);
      expect(sentAt('t2')).toBe(560);
      expect(sentAt('t3')).toBeGreaterThanOrEqual(570);
      expect(outcomes(h)).toEqual(['tx1:committed', 'tx4:committed', 'tx2:committed', 'tx3:committed']);
      // The 503 was counted on t2 alone; t3 and t4 were untouched.
      const backoffs = h.events.filter((e) => e.type === 'backoff');
      expect(backoffs.map((e) => (e as { op: { txToken: string; attempts: number } }).op)).toEqual([expect.objectContaining({ txToken: 'tx2', attempts: 1 })]);
    }),
  );

  test(
    'a permanent refusal of one entry does not stop the others: it goes to failed_ops, the rest commit',
    marbles((m) => {
      const { h, batch } = setup(m);
      batch.script.push((req) => {
        const r = batch.apply({ ...req, entries: [req.entries[0]!] });
        const last = batch.apply({ ...req, entries: [req.entries[2]!] });
        return [r[0]!, { kind: 'error', error: new PermanentError({ status: 422 }) }, last[0]!];
      });
      enqueue(h, 'create', 'a', 1);
      enqueue(h, 'create', 'b', 2);
      enqueue(h, 'create', 'c', 3);
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(outcomes(h)).toEqual(['tx1:committed', 'tx2:failed', 'tx3:committed']);
      expect(h.results[1]).toMatchObject({ reason: 'permanent', error: { status: 422 } });
      expect(batch.requests).toHaveLength(1);
      expect(h.store.data.failed.size).toBe(1);
    }),
  );

  test(
    '413: the batch splits in halves, sent one after the other; a single op still too large takes the single path',
    marbles((m) => {
      const { h, batch } = setup(m);
      const tooLarge = new PermanentError({ status: 413 });
      batch.script.push(() => tooLarge, () => tooLarge);
      for (let i = 1; i <= 4; i++) enqueue(h, 'create', `k${i}`, i);
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      // [1 2 3 4] → 413; [1 2] → 413 → 1 alone, 2 alone; [3 4] → applied.
      expect(batch.requests.map((r) => r.titles)).toEqual([
        ['t1', 't2', 't3', 't4'],
        ['t1', 't2'],
        ['t3', 't4'],
      ]);
      expect(singles(h)).toEqual(['t1', 't2']);
      expect(outcomes(h)).toEqual(['tx1:committed', 'tx2:committed', 'tx3:committed', 'tx4:committed']);
      expect(h.results.filter((r) => r.outcome !== 'committed')).toEqual([]);
    }),
  );

  test(
    'a whole-request failure (503, then an answer not matching the request) retries the batch under the same keys, attempts counted on every op',
    marbles((m) => {
      const { h, batch } = setup(m);
      batch.script.push(
        () => new ServerError({ status: 503 }),
        (req) => {
          batch.apply(req); // applied, but the answer is garbled
          return new MalformedResponseError({ status: 200, code: 'batchMismatch' });
        },
      );
      enqueue(h, 'create', 'a', 1);
      enqueue(h, 'create', 'b', 2);
      h.engine.start();
      h.at(10_000, () => void h.engine.stop());
      m.flush();
      expect(batch.requests.map((r) => r.at)).toEqual([50, 560, 1570]);
      const [first, ...again] = batch.requests;
      for (const r of again) expect(r.keys).toEqual(first!.keys);
      expect(outcomes(h)).toEqual(['tx1:committed', 'tx2:committed']);
      // Applied once each: the third request was replayed.
      expect([...batch.applied.values()]).toEqual(['t1', 't2']);
      const completed = h.events.filter((e) => e.type === 'completed') as Array<{ op: { attempts: number } }>;
      expect(completed.map((e) => e.op.attempts)).toEqual([2, 2]);
    }),
  );

  test(
    'a crash between a batch\'s commit and its ledger writes: the next engine resends under the same keys, the server replays, each op has one effect',
    marbles((m) => {
      // complete() takes 100 ms: the crash lands after the answer, before the writes.
      const { h, batch } = setup(m, { latencyMs: { complete: 100 } });
      enqueue(h, 'create', 'a', 1);
      enqueue(h, 'create', 'b', 2);
      enqueue(h, 'update', 'a', 3);
      h.engine.start();
      // The process dies at 80: the disk is what it was then (the writes
      // due at 160 never land); a new engine opens it (its lock record goes
      // stale after 3 s).
      let next: EngineHarness | undefined;
      h.at(80, () => {
        const disk = new MemoryStoreData();
        for (const [k, v] of h.store.data.pending) disk.pending.set(k, v);
        for (const [k, v] of h.store.data.ledger) disk.ledger.set(k, v);
        for (const [k, v] of h.store.data.meta) disk.meta.set(k, v);
        h.crash();
        next = new EngineHarness(m.scheduler, { batch: { path: '/batch', maxOps: 10, maxBytes: 262_144 }, batchApi: batch, data: disk });
        next.engine.start();
      });
      h.at(20_000, () => void next?.engine.stop());
      m.flush();
      expect(batch.requests).toHaveLength(2);
      expect(batch.requests[1]!.at).toBeGreaterThan(3_000);
      expect(batch.requests[1]!.keys).toEqual(batch.requests[0]!.keys);
      expect(batch.order).toEqual(['t1', 't2', 't3']);
      expect(outcomes(next!)).toEqual(['tx1:committed', 'tx2:committed', 'tx3:committed']);
      expect(next!.store.pendingOps()).toEqual([]);
    }),
  );

  test(
    'a server answering 424 to entries forever, with no failed entry before them: each such entry is its own ambiguous failure (attempt spent, backoff shown), sent alone — no endless re-send of the batch',
    marbles((m) => {
      const { h, batch } = setup(m);
      const refused = ['t2', 't4'];
      // Every batch: t2 and t4 answered 424 (nothing failed before them), the rest applied.
      const answer = (req: BatchRequest): BatchEntryResult[] =>
        req.entries.map((e) => (refused.includes((e.body as { title: string }).title) ? { kind: 'notApplied' } : batch.apply({ ...req, entries: [e] })[0]!));
      for (let i = 0; i < 1000; i++) batch.script.push(answer);
      // Alone, the same server answers them 424 too: a 4xx, permanent.
      h.server.fallback = fail(424, { code: 'failed_dependency' });
      enqueue(h, 'create', 'a', 1);
      enqueue(h, 'create', 'b', 2);
      enqueue(h, 'create', 'c', 3);
      enqueue(h, 'create', 'd', 4);
      h.engine.start();
      h.at(60_000, () => void h.engine.stop());
      m.flush();
      expect(batch.requests.map((r) => r.titles)).toEqual([['t1', 't2', 't3', 't4']]);
      // Each waited out one backoff (its attempt spent, the reason shown), then went alone once.
      const backoffs = h.events.filter((e) => e.type === 'backoff') as Array<{ op: { txToken: string; attempts: number; lastError: { kind: string; code?: string } } }>;
      expect(backoffs.map((e) => [e.op.txToken, e.op.attempts, e.op.lastError.kind, e.op.lastError.code])).toEqual([
        ['tx2', 1, 'malformedResponse', 'batchMismatch'],
        ['tx4', 1, 'malformedResponse', 'batchMismatch'],
      ]);
      expect(h.statuses.some((st) => st.blockedKeys === 2 && st.lastError?.code === 'batchMismatch')).toBe(true);
      expect(singles(h)).toEqual(['t2', 't4']);
      expect(outcomes(h)).toEqual(['tx1:committed', 'tx3:committed', 'tx2:failed', 'tx4:failed']);
      expect(h.store.data.failed.size).toBe(2);
      expect(h.store.pendingOps()).toEqual([]);
    }),
  );
});

describe('processBatch with admit (the fence)', () => {
  test(
    'refused: no batch request, no attempt reported, the ops stay queued for the new holder',
    marbles((m) => {
      const batch = new FakeBatchServer(m.scheduler);
      const h = new EngineHarness(m.scheduler, {
        batch: { path: '/batch', maxOps: 10, maxBytes: 262_144 },
        batchApi: batch,
        admit: () => m.cold<boolean>('-(f|)', { f: false }),
      });
      enqueue(h, 'create', 'a', 1);
      enqueue(h, 'create', 'b', 2);
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(batch.requests).toEqual([]);
      expect(h.eventTypes('attemptStarted', 'attemptFailed')).toEqual([]);
      expect(h.store.pendingOps().map((op) => op.attempts)).toEqual([0, 0]);
    }),
  );

  test(
    'admitted: the batch is reported and sent once the check passes',
    marbles((m) => {
      const batch = new FakeBatchServer(m.scheduler);
      const h = new EngineHarness(m.scheduler, {
        batch: { path: '/batch', maxOps: 10, maxBytes: 262_144 },
        batchApi: batch,
        admit: () => m.cold<boolean>('-(t|)', { t: true }),
      });
      enqueue(h, 'create', 'a', 1);
      enqueue(h, 'create', 'b', 2);
      h.engine.start();
      h.at(5_000, () => void h.engine.stop());
      m.flush();
      expect(batch.requests.map((r) => r.titles)).toEqual([['t1', 't2']]);
      expect(h.eventTypes('attemptStarted')).toEqual(['attemptStarted', 'attemptStarted']);
      expect(outcomes(h)).toEqual(['tx1:committed', 'tx2:committed']);
    }),
  );
});
