import { isUuidV4 } from '../op/ids';
import type { ResourceName } from './backend-domain';
import type { BackendParts } from './backend-http';
import type { Fault } from './faults';
import { HttpAnswer, errorAnswer as error, type StoredAnswer } from './http-answer';
import { requestFingerprint } from './idempotency-layer';

/** One mutating request (alone, or one entry of a batch), routed and read. */
export interface MutationRequest {
  readonly method: string;
  /** The path as routed (no query), part of the key's fingerprint. */
  readonly path: string;
  readonly resource: ResourceName;
  readonly id: string | undefined;
  /** The parsed JSON body (undefined for none), or the raw text when it is not JSON. */
  readonly body: { readonly json: unknown } | { readonly text: string };
  readonly key: string | undefined;
  readonly traceId?: string;
  /** `sub` of the request's token. */
  readonly subject?: string;
}

/** What became of a mutation. */
export type MutationOutcome =
  /** Refused before or at the idempotency layer (key missing or invalid, 422 mismatch, 409 in use): nothing stored. */
  | { readonly kind: 'refused'; readonly answer: HttpAnswer }
  /** The key's stored answer, replayed: no second effect. */
  | { readonly kind: 'replayed'; readonly answer: StoredAnswer }
  /** Decided now (applied, or a domain refusal) and stored for the key. */
  | { readonly kind: 'decided'; readonly answer: HttpAnswer }
  /** The server closed while a `hang` with `commit` held the key: nothing applied. */
  | { readonly kind: 'closed' };

/**
 * A POST/PATCH/PUT/DELETE through the Idempotency-Key layer (IETF httpapi
 * draft), then the domain: the same rules for a request sent alone and for
 * each entry of a batch, so a key replays across both. `fault` is what is
 * left of the injected fault after the transport and overload ones: a
 * `hang` with `commit` holds the key, `conflict`/`badRequest` are domain
 * answers (stored for the key); the after-commit faults are the caller's.
 *
 * @example
 * const outcome = await runMutation(parts, { method: 'POST', path: '/todos', resource: 'todos', id: undefined, body: { json }, key }, null);
 */
export async function runMutation(b: BackendParts, r: MutationRequest, fault: Fault | null): Promise<MutationOutcome> {
  const { key } = r;
  if (key === undefined || key.length === 0) {
    if (b.requireKey) return { kind: 'refused', answer: error(400, 'idempotency_key_missing', 'Idempotency-Key header is required') };
  } else if (!isUuidV4(key)) {
    return { kind: 'refused', answer: error(400, 'idempotency_key_invalid', 'Idempotency-Key must be a UUID v4') };
  }
  const tally = b.tally();
  tally.sends += 1;
  const claim = b.idempotency.claim(key || undefined, requestFingerprint(r.method, r.path, r.body));
  if (claim.kind === 'mismatch') {
    tally.mismatches += 1;
    return { kind: 'refused', answer: error(422, 'idempotency_key_mismatch', 'Idempotency-Key was used with a different request') };
  }
  if (claim.kind === 'inUse') {
    tally.inUse += 1;
    const retry = { 'Retry-After': '1' };
    return { kind: 'refused', answer: error(409, 'idempotency_key_in_use', 'a request with this Idempotency-Key is in progress', undefined, retry) };
  }
  if (claim.kind === 'replay') {
    tally.replays += 1;
    return { kind: 'replayed', answer: claim.answer };
  }
  if (fault?.kind === 'hang') {
    // commit: true — the key is taken while the request "processes".
    await b.sleep(fault.ms ?? b.maxHangMs);
    if (b.closed()) {
      claim.release();
      return { kind: 'closed' };
    }
  }
  const answer =
    injectedDomainAnswer(fault) ??
    ('json' in r.body
      ? b.domain.mutate(r.method, r.resource, r.id, r.body.json, key ?? '', { traceId: r.traceId, subject: r.subject })
      : error(400, 'bad_request', 'body is not JSON'));
  // Nothing here is a 5xx, so no "release the key" branch is needed.
  claim.settle(answer.toStored());
  return { kind: 'decided', answer };
}

/** Injected 409/400 are domain answers: decided at the idempotency layer, like a real server's. */
export const injectedDomainAnswer = (f: Fault | null): HttpAnswer | undefined =>
  f?.kind === 'conflict'
    ? error(409, f.code ?? 'version_conflict', 'entity changed on the server')
    : f?.kind === 'badRequest'
      ? error(400, 'bad_request', 'injected bad request')
      : undefined;

const ROUTE = /^\/(todos|contacts)(?:\/([^/]+))?\/?$/;

/** A path's resource and id, or undefined when no route serves it. */
export function routeOf(path: string): { readonly resource: ResourceName; readonly id: string | undefined } | undefined {
  const m = ROUTE.exec(path);
  if (!m) return undefined;
  return { resource: m[1] as ResourceName, id: m[2] === undefined ? undefined : decodeURIComponent(m[2]) };
}

/** Whether the route serves the method: a collection GET/POST, an entity GET/PATCH/PUT/DELETE. */
export const methodAllowed = (method: string, id: string | undefined): boolean =>
  id === undefined ? ['GET', 'POST'].includes(method) : ['GET', 'PATCH', 'PUT', 'DELETE'].includes(method);
