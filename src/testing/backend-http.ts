import type { IncomingMessage, ServerResponse } from 'node:http';
import { isObj, type BackendDomain, type ResourceName } from './backend-domain';
import { BatchEndpoint } from './batch-endpoint';
import type { EventStreams } from './event-streams';
import { requestSubject } from './request-subject';
import type { Fault, FaultController, RetryAfter } from './faults';
import { HttpAnswer, errorAnswer as error, type StoredAnswer } from './http-answer';
import { parseIdempotencyKey, type IdempotencyLayer } from './idempotency-layer';
import { issueJwt, verifyJwt } from './jwt';
import { injectedDomainAnswer, methodAllowed, routeOf, runMutation } from './mutation';

/** Request and outcome counts kept by the HTTP layer (see `BackendCounters`). */
export class Tally {
  requests = 0;
  sends = 0;
  replays = 0;
  inUse = 0;
  mismatches = 0;
  unauthorized = 0;
  tokensIssued = 0;
  tokenRequests = 0;
  /** Batch requests that passed auth and the size limits. */
  batches = 0;
  /** Batch entries the server processed (424s excluded). */
  batchEntries = 0;
  /** Batch entries answered 424: not applied after an earlier entry failed transiently. */
  notApplied = 0;
  /** Requests that passed auth, numbered for fault rules. */
  seq = 0;
  readonly byStatus = new Map<number, number>();
  readonly keysSeen = new Set<string>();
}

/** HS256 tokens of one backend; `expireAll` moves the generation on, refusing every older token. */
export class TokenAuthority {
  #gen = 0;

  constructor(
    private readonly secret: Buffer | string,
    private readonly now: () => number,
    private readonly ttlMs: number,
    private readonly tally: () => Tally,
  ) {}

  issue(ttlMs = this.ttlMs, subject = 'demo-user'): string {
    this.tally().tokensIssued += 1;
    return issueJwt(subject, ttlMs, this.now(), this.secret, this.#gen);
  }

  expireAll(): void {
    this.#gen += 1;
  }

  /** Null when the request carries a valid, current bearer token; else the 401. */
  check(req: IncomingMessage): HttpAnswer | null {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer ([^\s]+)$/.exec(h) : null;
    const www = { 'WWW-Authenticate': 'Bearer error="invalid_token"' };
    if (!m) {
      this.tally().unauthorized += 1;
      return error(401, 'token_missing', 'authentication required', undefined, { 'WWW-Authenticate': 'Bearer' });
    }
    const v = verifyJwt(m[1] as string, this.secret, this.now());
    if (!v.ok) {
      this.tally().unauthorized += 1;
      return error(401, v.reason, 'invalid or expired token', undefined, www);
    }
    if ((v.claims.gen ?? -1) < this.#gen) {
      this.tally().unauthorized += 1;
      return error(401, 'token_expired', 'invalid or expired token', undefined, www);
    }
    return null;
  }
}

/** Everything a request needs: the backend's parts and settings. */
export interface BackendParts {
  readonly now: () => number;
  readonly domain: BackendDomain;
  readonly idempotency: IdempotencyLayer;
  readonly faults: FaultController;
  readonly tokens: TokenAuthority;
  readonly tally: () => Tally;
  readonly refreshCredential: string;
  readonly tokenTtlMs: number;
  readonly requireKey: boolean;
  readonly maxBodyBytes: number;
  readonly maxHangMs: number;
  /** Wait (bounded by `maxHangMs`; at once when closed). */
  readonly sleep: (ms: number) => Promise<void>;
  readonly closed: () => boolean;
  /** The `GET /events` push channel. */
  readonly events: EventStreams;
  /** The batch endpoint's path and limits (413 above them). */
  readonly batch: BatchLimits;
}

/** Where the batch endpoint listens and the largest batch it takes. */
export interface BatchLimits {
  readonly path: string;
  readonly maxEntries: number;
  readonly maxBytes: number;
}

interface Route {
  readonly method: string;
  readonly path: string;
  readonly resource: ResourceName;
  readonly id: string | undefined;
  readonly text: string;
}

function retryAfterHeader(value: RetryAfter, nowMs: number): string {
  if (typeof value === 'number') return String(Math.max(0, Math.ceil(value)));
  return new Date(Math.ceil((nowMs + value.dateInMs) / 1000) * 1000).toUTCString();
}

/**
 * The reference backend's HTTP plumbing: reads and bounds the body, routes,
 * checks the bearer token, applies the injected fault at its place (before
 * the idempotency layer for transport and overload faults, at it for domain
 * answers, after the commit for lost or garbled answers), then hands
 * mutations to the idempotency layer and the domain.
 */
export class BackendHttp {
  readonly #batch: BatchEndpoint;

  constructor(private readonly b: BackendParts) {
    this.#batch = new BatchEndpoint(b, this);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { tooLarge, text } = await this.#readBody(req);
    if (this.b.closed()) return;
    const tally = this.b.tally();
    tally.requests += 1;
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (tooLarge) return this.send(res, error(413, 'payload_too_large', `request body exceeds ${this.b.maxBodyBytes} bytes`));
    if (path === '/auth/token') return this.send(res, this.#tokenRoute(method, text));
    if (path === '/events') return method === 'GET' ? this.#openEvents(res) : this.send(res, error(405, 'method_not_allowed', 'method not allowed'));
    if (path === this.b.batch.path) return this.#batch.handle(req, res, method, path, text);

    const routed = routeOf(path);
    if (!routed) return this.send(res, error(404, 'route_not_found', 'no such route'));
    const route: Route = { method, path, text, ...routed };
    if (!methodAllowed(method, route.id)) {
      return this.send(res, error(405, 'method_not_allowed', 'method not allowed'));
    }
    const denied = this.b.tokens.check(req);
    if (denied) return this.send(res, denied);

    tally.seq += 1;
    const key = parseIdempotencyKey(req.headers['idempotency-key']);
    const traceHeader = req.headers['trace-id'];
    const traceId = typeof traceHeader === 'string' ? traceHeader : undefined;
    if (key !== undefined && key.length > 0 && method !== 'GET') tally.keysSeen.add(key);

    const fault = await this.faultBefore(req, res, this.b.faults.next({ method, path, seq: tally.seq, idempotencyKey: key }));
    if (fault === 'answered') return;
    if (method === 'GET') return this.send(res, injectedDomainAnswer(fault) ?? this.b.domain.read(route.resource, route.id));
    return this.#mutation(req, res, route, key, traceId, fault);
  }

  /** Write an answer, unless the client is gone. */
  #openEvents(res: ServerResponse): void {
    const byStatus = this.b.tally().byStatus;
    byStatus.set(200, (byStatus.get(200) ?? 0) + 1);
    this.b.events.open(res);
  }

  send(res: ServerResponse, answer: HttpAnswer | StoredAnswer, extra: Record<string, string> = {}): void {
    if (res.destroyed || res.headersSent || res.socket === null || res.socket.destroyed) return;
    const body = answer instanceof HttpAnswer ? JSON.stringify(answer.body) : answer.body;
    const byStatus = this.b.tally().byStatus;
    byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
    res.writeHead(answer.status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      Date: new Date(this.b.now()).toUTCString(),
      ...answer.headers,
      ...extra,
    });
    res.end(body);
  }

  /** `POST /auth/token` `{ "refreshCredential": "…" }` → a fresh token. */
  #tokenRoute(method: string, text: string): HttpAnswer {
    const tally = this.b.tally();
    tally.tokenRequests += 1;
    if (method !== 'POST') return error(405, 'method_not_allowed', 'method not allowed');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return error(400, 'bad_request', 'body is not JSON');
    }
    if (!isObj(body) || body.refreshCredential !== this.b.refreshCredential) {
      tally.unauthorized += 1;
      return error(401, 'invalid_credential', 'invalid refresh credential');
    }
    const token = this.b.tokens.issue();
    return new HttpAnswer(200, { data: { token, expiresAt: this.b.now() + this.b.tokenTtlMs } });
  }

  /**
   * Carry out a fault that acts before the idempotency layer (nothing
   * applied, the key not taken): `answered` when the request is done with,
   * else the fault left for later (null once a latency has been waited out).
   * @internal also used by the batch endpoint for the batch request itself.
   */
  async faultBefore(req: IncomingMessage, res: ServerResponse, fault: Fault | 'down' | null): Promise<Fault | null | 'answered'> {
    if (fault === 'down' || fault?.kind === 'reset') {
      req.socket.destroy();
      return 'answered';
    }
    if (fault?.kind === 'latency') {
      await this.b.sleep(fault.ms);
      return this.b.closed() ? 'answered' : null;
    }
    if (fault?.kind === 'hang' && !fault.commit) {
      await this.b.sleep(fault.ms ?? this.b.maxHangMs);
      req.socket.destroy();
      return 'answered';
    }
    const overload = fault === null ? undefined : this.overloadAnswer(fault);
    if (overload !== undefined) {
      this.send(res, overload);
      return 'answered';
    }
    return fault;
  }

  /**
   * The answer of an overload fault, given instead of processing: 5xx
   * (optionally with Retry-After, or an HTML page as a proxy would), 429
   * with Retry-After, or 401 after expiring every token. Undefined for the
   * other kinds. @internal also answers one entry of a batch.
   */
  overloadAnswer(fault: Fault): HttpAnswer | StoredAnswer | undefined {
    const now = this.b.now();
    if (fault.kind === 'status') {
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers['Retry-After'] = retryAfterHeader(fault.retryAfter, now);
      if (fault.html) {
        const body = `<html><body><h1>${fault.status}</h1></body></html>`;
        return { status: fault.status, body, headers: { ...headers, 'Content-Type': 'text/html' } };
      }
      return error(fault.status, 'server_error', 'injected server error', undefined, headers);
    }
    if (fault.kind === 'rateLimit') {
      return error(429, 'rate_limited', 'too many requests', undefined, { 'Retry-After': retryAfterHeader(fault.retryAfter, now) });
    }
    if (fault.kind === 'expireToken') {
      this.b.tokens.expireAll();
      this.b.tally().unauthorized += 1;
      return error(401, 'token_expired', 'invalid or expired token', undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    return undefined;
  }

  /** A POST/PATCH/PUT/DELETE through `runMutation`, then the answer (or the after-commit fault). */
  async #mutation(req: IncomingMessage, res: ServerResponse, r: Route, key: string | undefined, traceId: string | undefined, fault: Fault | null) {
    let body: { json: unknown } | { text: string } = { json: undefined };
    if (r.text.length > 0) {
      try {
        body = { json: JSON.parse(r.text) as unknown };
      } catch {
        body = { text: r.text };
      }
    }
    const subject = requestSubject(req.headers.authorization);
    const outcome = await runMutation(this.b, { method: r.method, path: r.path, resource: r.resource, id: r.id, body, key, traceId, subject }, fault);
    if (outcome.kind === 'refused') return this.send(res, outcome.answer);
    if (outcome.kind === 'replayed') return this.send(res, outcome.answer, { 'Idempotent-Replayed': 'true' });
    if (outcome.kind === 'decided') this.#answerAfterCommit(req, res, outcome.answer, fault);
  }

  /** The faults that let the request commit, then lose or garble its answer. */
  #answerAfterCommit(req: IncomingMessage, res: ServerResponse, answer: HttpAnswer, fault: Fault | null): void {
    if (fault?.kind === 'commitThenDrop') req.socket.destroy();
    else if (fault?.kind === 'nonJson') this.send(res, { status: 200, body: 'OK (not json)', headers: { 'Content-Type': 'text/plain' } });
    else if (fault?.kind === 'malformed') this.send(res, { status: 200, body: JSON.stringify({ data: 42 }), headers: {} });
    else this.send(res, answer);
  }

  /** Read the body, counting bytes; beyond the limit, drain and discard (bounded), so the client gets a clean 413. */
  #readBody(req: IncomingMessage): Promise<{ tooLarge: boolean; text: string }> {
    const max = this.b.maxBodyBytes;
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      const text = (): string => (tooLarge ? '' : Buffer.concat(chunks).toString('utf8'));
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) {
          tooLarge = true;
          chunks.length = 0;
          if (size > 64 * max) req.destroy();
        } else chunks.push(chunk);
      });
      req.on('end', () => resolve({ tooLarge, text: text() }));
      req.on('error', () => resolve({ tooLarge, text: '' }));
      req.on('close', () => resolve({ tooLarge, text: text() }));
    });
  }
}
