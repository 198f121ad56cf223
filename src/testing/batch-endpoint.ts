import type { IncomingMessage, ServerResponse } from 'node:http';
import { isObj } from './backend-domain';
import type { BackendHttp, BackendParts } from './backend-http';
import type { Fault } from './faults';
import { HttpAnswer, errorAnswer as error, type StoredAnswer } from './http-answer';
import { methodAllowed, routeOf, runMutation } from './mutation';
import { requestSubject } from './request-subject';

/** One entry's result on the wire: `{ status, data | error, retryAfter? }`. */
export interface BatchEntryWire {
  readonly status: number;
  readonly data?: unknown;
  readonly error?: unknown;
  readonly retryAfter?: number | string;
}

/** What processing one entry came to: its result, or the connection dropped, or the server closing. */
type EntryStep = { readonly result: BatchEntryWire; readonly garble: boolean } | 'drop' | 'closed';

const NOT_APPLIED: BatchEntryWire = Object.freeze({
  status: 424,
  error: { code: 'failed_dependency', message: 'not applied: an earlier entry failed transiently' },
});

/** A domain fault has no meaning for the batch request itself (the batch has no domain): entries draw those. */
const batchRequestFault = (f: Fault): boolean => f.kind !== 'conflict' && f.kind !== 'badRequest';

/**
 * Whether an entry's answer stops the batch: every answer a client retries
 * (5xx, 408, 425, 429, 401, 409 `idempotency_key_in_use`). Later entries
 * are answered 424 and not applied, so no op overtakes one that must be
 * sent again. A permanent refusal (other 4xx, a domain 409) does not stop.
 *
 * @example
 * stopsBatch({ status: 503 }); // true
 * stopsBatch({ status: 422, error: { code: 'idempotency_key_mismatch' } }); // false
 */
export function stopsBatch(result: BatchEntryWire): boolean {
  const { status } = result;
  if (status === 409) return isObj(result.error) && result.error.code === 'idempotency_key_in_use';
  return status === 401 || status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

/** An answer as one entry's result: its status, its envelope member, its Retry-After. */
export function entryResult(answer: HttpAnswer | StoredAnswer): BatchEntryWire {
  let body: unknown;
  if (answer instanceof HttpAnswer) body = answer.body;
  else {
    try {
      body = JSON.parse(answer.body) as unknown;
    } catch {
      body = undefined; // an HTML error page: the status alone
    }
  }
  const out: { status: number; data?: unknown; error?: unknown; retryAfter?: number | string } = { status: answer.status };
  if (isObj(body) && 'data' in body) out.data = body.data;
  if (isObj(body) && 'error' in body) out.error = body.error;
  const ra = Object.entries(answer.headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
  if (ra !== undefined) out.retryAfter = /^\d+$/.test(ra) ? Number(ra) : ra;
  return out;
}

const refused = (status: number, code: string, message: string): { result: BatchEntryWire; garble: false } => ({
  result: entryResult(error(status, code, message)),
  garble: false,
});

/**
 * The reference backend's batch endpoint (`POST /batch` by default;
 * `docs/api_envelope.md`, "Batch"): `{ ops: [{ idempotencyKey, traceId,
 * method, path, body }] }` → 200 `{ results: [{ status, data | error,
 * retryAfter? }] }` in the same order. Entries are applied in order, each
 * exactly as the same request sent alone (`runMutation`: its own key, a
 * repeat replays its stored answer, a key in use is 409), with the same
 * effect counting. An entry answered with a retryable status stops the
 * batch: every later entry is answered 424 and not applied.
 *
 * Faults: the batch request draws one fault like any request (reset, hang,
 * 5xx, 429, token expiry: nothing applied; `commitThenDrop`: every entry
 * applied, then the connection dropped; `nonJson`/`malformed`: applied,
 * then an answer the client cannot match). Then each processed entry draws
 * its own (`RequestInfo.batch.entry` = its index): 5xx/429/401 answer that
 * entry (and stop the batch), `conflict`/`badRequest` are its domain
 * answer, `reset`/`hang` drop the connection before it (earlier entries
 * stay applied), `commitThenDrop` applies it and then drops the connection,
 * `malformed` answers it 200 `{ data: 42 }`, `nonJson` garbles the whole
 * answer, `latency` delays it.
 */
export class BatchEndpoint {
  constructor(
    private readonly b: BackendParts,
    private readonly http: BackendHttp,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, method: string, path: string, text: string): Promise<void> {
    if (method !== 'POST') return this.http.send(res, error(405, 'method_not_allowed', 'method not allowed'));
    const denied = this.b.tokens.check(req);
    if (denied) return this.http.send(res, denied);
    const { maxBytes, maxEntries } = this.b.batch;
    if (Buffer.byteLength(text) > maxBytes) {
      return this.http.send(res, error(413, 'batch_too_large', `batch body exceeds ${maxBytes} bytes`, { maxBytes, maxEntries }));
    }
    const ops = parseOps(text);
    if (ops === undefined) return this.http.send(res, error(400, 'bad_request', 'body must be { "ops": [ … ] }'));
    if (ops.length > maxEntries) {
      return this.http.send(res, error(413, 'batch_too_large', `batch exceeds ${maxEntries} entries`, { maxBytes, maxEntries }));
    }
    const tally = this.b.tally();
    tally.batches += 1;
    tally.seq += 1;
    const size = ops.length;
    let fault = await this.http.faultBefore(req, res, this.b.faults.next({ method, path, seq: tally.seq, batch: { size } }, batchRequestFault));
    if (fault === 'answered') return;
    if (fault?.kind === 'hang') {
      // commit: true — hold the batch, then apply it.
      await this.b.sleep(fault.ms ?? this.b.maxHangMs);
      if (this.b.closed()) return;
      fault = null;
    }
    const subject = requestSubject(req.headers.authorization);
    const results: BatchEntryWire[] = [];
    let stopped = false;
    let garble = fault?.kind === 'nonJson';
    for (const [index, op] of ops.entries()) {
      if (stopped) {
        tally.notApplied += 1;
        results.push(NOT_APPLIED);
        continue;
      }
      const step = await this.#entry(req, op, index, size, subject);
      if (step === 'closed') return;
      if (step === 'drop') {
        req.socket.destroy();
        return;
      }
      results.push(step.result);
      garble ||= step.garble;
      stopped = stopsBatch(step.result);
    }
    if (fault?.kind === 'commitThenDrop') req.socket.destroy();
    else if (garble) this.http.send(res, { status: 200, body: 'OK (not json)', headers: { 'Content-Type': 'text/plain' } });
    else if (fault?.kind === 'malformed') this.http.send(res, { status: 200, body: JSON.stringify({ data: 42 }), headers: {} });
    else this.http.send(res, new HttpAnswer(200, { results }));
  }

  /** One entry: routed, its fault drawn and carried out, then `runMutation` as for a request sent alone. */
  async #entry(req: IncomingMessage, op: unknown, index: number, size: number, subject: string | undefined): Promise<EntryStep> {
    if (!isObj(op) || typeof op.method !== 'string' || typeof op.path !== 'string' || !op.path.startsWith('/')) {
      return refused(400, 'bad_request', 'entry: expected { idempotencyKey, traceId, method, path, body }');
    }
    if ((op.idempotencyKey !== undefined && typeof op.idempotencyKey !== 'string') || (op.traceId !== undefined && typeof op.traceId !== 'string')) {
      return refused(400, 'bad_request', 'entry: idempotencyKey and traceId must be strings');
    }
    const method = op.method.toUpperCase();
    const path = new URL(op.path, 'http://localhost').pathname;
    const route = routeOf(path);
    if (!route) return refused(404, 'route_not_found', 'no such route');
    if (method === 'GET' || !methodAllowed(method, route.id)) return refused(405, 'method_not_allowed', 'method not allowed');
    const key = op.idempotencyKey as string | undefined;
    const tally = this.b.tally();
    tally.batchEntries += 1;
    tally.seq += 1;
    if (key !== undefined && key.length > 0) tally.keysSeen.add(key);
    let fault: Fault | 'down' | null = this.b.faults.next({ method, path, seq: tally.seq, idempotencyKey: key, batch: { size, entry: index } });
    if (fault === 'down' || fault?.kind === 'reset') return 'drop';
    if (fault?.kind === 'latency') {
      await this.b.sleep(fault.ms);
      if (this.b.closed()) return 'closed';
      fault = null;
    }
    if (fault?.kind === 'hang' && !fault.commit) {
      await this.b.sleep(fault.ms ?? this.b.maxHangMs);
      return this.b.closed() ? 'closed' : 'drop';
    }
    const overload = fault === null ? undefined : this.http.overloadAnswer(fault);
    if (overload !== undefined) return { result: entryResult(overload), garble: false };
    const body = 'body' in op ? { json: op.body } : { json: undefined };
    const traceId = op.traceId as string | undefined;
    const outcome = await runMutation(this.b, { method, path, ...route, body, key, traceId, subject }, fault);
    if (outcome.kind === 'closed') return 'closed';
    if (outcome.kind === 'decided' && fault?.kind === 'commitThenDrop') return 'drop';
    if (outcome.kind === 'decided' && fault?.kind === 'malformed') return { result: { status: 200, data: 42 }, garble: false };
    return { result: entryResult(outcome.answer), garble: outcome.kind === 'decided' && fault?.kind === 'nonJson' };
  }
}

/** The `ops` array of a batch body, or undefined when the body is not `{ ops: [...] }`. */
function parseOps(text: string): readonly unknown[] | undefined {
  try {
    const body = JSON.parse(text) as unknown;
    return isObj(body) && Array.isArray(body.ops) ? body.ops : undefined;
  } catch {
    return undefined;
  }
}
