import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isUuidV4 } from '../op/ids';
import { FaultController, type Fault, type RetryAfter } from './faults';
import { issueJwt, verifyJwt } from './jwt';
import { requestSubject } from './request-subject';

/** Who asked for an effect: the request's trace id and token subject. */
type EffectMeta = Pick<AppliedEffect, 'traceId' | 'subject'>;

/** The two resources the reference backend serves. */
export type ResourceName = 'todos' | 'contacts';

/** One applied effect, in the order the server committed them. */
export interface AppliedEffect {
  /** 1-based commit order over the whole server. */
  readonly seq: number;
  readonly idempotencyKey: string;
  readonly resource: ResourceName;
  readonly id: string;
  readonly action: 'create' | 'update' | 'delete';
  /** Server clock at commit (epoch ms). */
  readonly at: number;
  /** `Trace-Id` of the request, if any (never the payload). */
  readonly traceId?: string;
  /** `sub` of the request's token: the identity it was applied under. */
  readonly subject?: string;
}

export interface Todo {
  readonly id: string;
  readonly title: string;
  readonly done: boolean;
  readonly version: number;
}

export interface Contact {
  readonly id: string;
  readonly name: string;
  readonly email: string | null;
  readonly version: number;
}

/** Request and outcome counters (for assertions and the demo's table). */
export interface BackendCounters {
  /** Requests that reached routing (auth route included). */
  readonly requests: number;
  /** Of those, `POST /auth/token` exchanges. */
  readonly tokenRequests: number;
  /** Distinct idempotency keys seen on requests that passed auth (faulted ones included). */
  readonly distinctKeys: number;
  /** Mutating requests that passed auth and faults and reached the idempotency layer. */
  readonly sends: number;
  readonly applied: number;
  /** Answers replayed from the idempotency store (no second effect). */
  readonly replays: number;
  /** 409 `idempotency_key_in_use` answers. */
  readonly inUse: number;
  /** 422 answers for a key reused with a different payload. */
  readonly mismatches: number;
  readonly unauthorized: number;
  readonly tokensIssued: number;
  readonly byStatus: Readonly<Record<number, number>>;
  readonly faults: Readonly<Record<string, number>>;
}

/** Options of `startReferenceBackend`. Every field is optional. */
export interface ReferenceBackendOptions {
  /** Loopback address to bind: `127.0.0.1` (default) or `::1`. Anything else is refused. */
  readonly host?: '127.0.0.1' | '::1';
  /** Port; default 0 (the OS picks a free one). */
  readonly port?: number;
  /** The server clock (epoch ms): token expiry, idempotency expiry, `Date`. Default `Date.now`. */
  readonly now?: () => number;
  /** HS256 secret for tokens. Default: 32 random bytes. */
  readonly jwtSecret?: Buffer | string;
  /** TTL of tokens from `POST /auth/token`, ms. Default 60 000. */
  readonly tokenTtlMs?: number;
  /** The credential `POST /auth/token` accepts. Default: random; read it from `backend.refreshCredential`. */
  readonly refreshCredential?: string;
  /** How long a stored idempotent answer is kept, ms. Default 24 h. */
  readonly idempotencyTtlMs?: number;
  /** Require `Idempotency-Key` on POST/PATCH/PUT/DELETE (400 when missing). Default true. */
  readonly requireIdempotencyKey?: boolean;
  /** Largest accepted request body, bytes (413 above). Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Upper bound for `hang` faults without `ms` and for holding sockets, ms. Default 30 000. */
  readonly maxHangMs?: number;
}

/** A running reference backend. */
export interface ReferenceBackend {
  /** Base URL, e.g. `http://127.0.0.1:54321`. */
  readonly url: string;
  readonly port: number;
  /** Fault injection control. */
  readonly faults: FaultController;
  /** The credential that `POST /auth/token` exchanges for a fresh token. */
  readonly refreshCredential: string;
  /** A fresh HS256 token valid `ttlMs` (default: `tokenTtlMs`). */
  issueToken(ttlMs?: number, subject?: string): string;
  /** Make every token issued so far invalid (401 `token_expired`): token expiry mid-run. */
  expireTokens(): void;
  /** How many times the request with this key was applied (0, 1 — or more if something is broken). */
  effects(idempotencyKey: string): number;
  /** Effect counts of every key seen applied. */
  effectsByKey(): ReadonlyMap<string, number>;
  /** Every applied effect in commit order. */
  applied(): readonly AppliedEffect[];
  /**
   * Call `listener` synchronously after each effect is committed and before
   * its answer is written — e.g. to SIGKILL a client exactly between the
   * server's commit and the client's ledger write. Returns an unsubscribe.
   */
  onEffect(listener: (effect: AppliedEffect) => void): () => void;
  /** The applied effects of one entity, in commit order. */
  entityLog(resource: ResourceName, id: string): readonly AppliedEffect[];
  /** Current state of one entity (undefined when absent or deleted). */
  entity(resource: 'todos', id: string): Todo | undefined;
  entity(resource: 'contacts', id: string): Contact | undefined;
  counters(): BackendCounters;
  /** Drop all data, logs, idempotency entries and counters (faults stay). */
  reset(): void;
  /** Stop listening, destroy open connections, cancel hung requests. Idempotent. */
  close(): Promise<void>;
}

interface StoredAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

interface IdempotencyEntry {
  readonly fingerprint: string;
  readonly createdAt: number;
  answer?: StoredAnswer;
}

class HttpAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

const error = (status: number, code: string, message: string, details?: unknown, headers?: Record<string, string>) =>
  new HttpAnswer(status, { error: details === undefined ? { code, message } : { code, message, details } }, headers);

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Stable JSON (sorted keys) so fingerprints do not depend on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Accept the draft's sf-string form (`"…"`) and a bare token. */
function parseIdempotencyKey(raw: string | string[] | undefined): string | undefined {
  if (raw === undefined || Array.isArray(raw)) return undefined;
  const v = raw.trim();
  const m = /^"([^"\\]*)"$/.exec(v);
  return m ? m[1] : v;
}

function retryAfterHeader(value: RetryAfter, nowMs: number): string {
  if (typeof value === 'number') return String(Math.max(0, Math.ceil(value)));
  return new Date(Math.ceil((nowMs + value.dateInMs) / 1000) * 1000).toUTCString();
}

/**
 * Start the reference backend: a real `node:http` server on loopback that
 * implements the wire contract of `docs/api_envelope.md` and
 * `docs/idempotency_policy.md` for `todos` and `contacts`, with HS256 JWT
 * auth and scripted or seeded-random fault injection. It counts effects per
 * idempotency key, so a test can assert "applied exactly once".
 *
 * Routes (all JSON, envelope `{ data }` / `{ error: { code, message, details? } }`):
 * - `POST /auth/token` `{ "refreshCredential": "…" }` → `{ data: { token, expiresAt } }`
 * - `POST /todos` `{ id, title, done? }` → 201; existing id → 409 `already_exists`
 * - `PATCH /todos/:id` `{ title?, done?, ifVersion? }` → 200; stale `ifVersion` → 409 `version_conflict`
 * - `DELETE /todos/:id` → 200 `{ data: { id, deleted: true } }`
 * - `GET /todos`, `GET /todos/:id`; the same five for `/contacts` (`{ id, name, email? }`)
 *
 * @example
 * const backend = await startReferenceBackend();
 * try {
 *   backend.faults.script([{ kind: 'commitThenDrop' }]);
 *   // … run an engine against backend.url with getToken: () => backend.issueToken() …
 *   expect(backend.effects(op.idempotencyKey)).toBe(1);
 * } finally {
 *   await backend.close();
 * }
 */
export async function startReferenceBackend(options: ReferenceBackendOptions = {}): Promise<ReferenceBackend> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== '::1') throw new Error('reference backend binds to loopback only');
  const now = options.now ?? Date.now;
  const secret = options.jwtSecret ?? randomBytes(32);
  const tokenTtlMs = options.tokenTtlMs ?? 60_000;
  const refreshCredential = options.refreshCredential ?? randomBytes(18).toString('base64url');
  const idempotencyTtlMs = options.idempotencyTtlMs ?? 24 * 60 * 60 * 1000;
  const requireKey = options.requireIdempotencyKey ?? true;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const maxHangMs = options.maxHangMs ?? 30_000;
  const faults = new FaultController();

  // --- state -------------------------------------------------------------
  let todos = new Map<string, Todo>();
  let contacts = new Map<string, Contact>();
  let idem = new Map<string, IdempotencyEntry>();
  let effects = new Map<string, number>();
  let log: AppliedEffect[] = [];
  let byEntity = new Map<string, AppliedEffect[]>();
  /** Tokens of an older generation are refused (`expireTokens`). */
  let tokenGen = 0;
  let counters = {
    requests: 0,
    sends: 0,
    applied: 0,
    replays: 0,
    inUse: 0,
    mismatches: 0,
    unauthorized: 0,
    tokensIssued: 0,
    tokenRequests: 0,
  };
  let byStatus = new Map<number, number>();
  let keysSeen = new Set<string>();
  let seq = 0;
  let sweepCountdown = 1000;
  let closed = false;
  const timers = new Set<NodeJS.Timeout>();
  const effectListeners = new Set<(effect: AppliedEffect) => void>();
  const sockets = new Set<Socket>();

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, Math.min(Math.max(0, ms), maxHangMs));
      timers.add(t);
    });

  const issueToken = (ttlMs = tokenTtlMs, subject = 'demo-user'): string => {
    counters.tokensIssued += 1;
    return issueJwt(subject, ttlMs, now(), secret, tokenGen);
  };

  const recordEffect = (key: string, resource: ResourceName, id: string, action: AppliedEffect['action'], who: EffectMeta) => {
    const e: AppliedEffect = { seq: log.length + 1, idempotencyKey: key, resource, id, action, at: now(), ...who };
    log.push(e);
    effects.set(key, (effects.get(key) ?? 0) + 1);
    const ek = `${resource}/${id}`;
    const list = byEntity.get(ek);
    if (list) list.push(e);
    else byEntity.set(ek, [e]);
    counters.applied += 1;
    for (const l of [...effectListeners]) {
      try {
        l(e);
      } catch {
        // A listener's failure must not change what the server answers.
      }
    }
  };

  // --- domain --------------------------------------------------------------
  const isObj = (b: unknown): b is Record<string, unknown> => typeof b === 'object' && b !== null && !Array.isArray(b);

  function validateFields(resource: ResourceName, body: Record<string, unknown>, creating: boolean): string | null {
    if (resource === 'todos') {
      if (creating || 'title' in body) {
        if (typeof body.title !== 'string' || body.title.trim().length === 0 || body.title.length > 200) {
          return 'title: expected a non-empty string of at most 200 characters';
        }
      }
      if ('done' in body && typeof body.done !== 'boolean') return 'done: expected boolean';
    } else {
      if (creating || 'name' in body) {
        if (typeof body.name !== 'string' || body.name.trim().length === 0 || body.name.length > 100) {
          return 'name: expected a non-empty string of at most 100 characters';
        }
      }
      if ('email' in body && body.email !== null && (typeof body.email !== 'string' || !EMAIL_RE.test(body.email))) {
        return 'email: expected an email address or null';
      }
    }
    if ('ifVersion' in body && (typeof body.ifVersion !== 'number' || !Number.isInteger(body.ifVersion))) {
      return 'ifVersion: expected integer';
    }
    return null;
  }

  function mutate(
    method: string,
    resource: ResourceName,
    id: string | undefined,
    body: unknown,
    key: string,
    who: EffectMeta,
  ): HttpAnswer {
    const table = (resource === 'todos' ? todos : contacts) as Map<string, Todo | Contact>;
    if (method === 'POST' && id === undefined) {
      if (!isObj(body)) return error(400, 'bad_request', 'body must be a JSON object');
      if (typeof body.id !== 'string' || !ID_RE.test(body.id)) return error(400, 'bad_request', 'id: expected [A-Za-z0-9_-]{1,64}');
      const bad = validateFields(resource, body, true);
      if (bad) return error(400, 'bad_request', bad);
      if (table.has(body.id)) return error(409, 'already_exists', 'entity already exists', { id: body.id });
      const entity: Todo | Contact =
        resource === 'todos'
          ? { id: body.id, title: body.title as string, done: (body.done as boolean | undefined) ?? false, version: 1 }
          : { id: body.id, name: body.name as string, email: (body.email as string | null | undefined) ?? null, version: 1 };
      table.set(entity.id, entity);
      recordEffect(key, resource, entity.id, 'create', who);
      return new HttpAnswer(201, { data: entity });
    }
    if (id === undefined || !ID_RE.test(id)) return error(404, 'not_found', 'no such entity');
    const current = table.get(id);
    if (!current) return error(404, 'not_found', 'no such entity');
    if (method === 'PATCH' || method === 'PUT') {
      if (!isObj(body)) return error(400, 'bad_request', 'body must be a JSON object');
      const bad = validateFields(resource, body, false);
      if (bad) return error(400, 'bad_request', bad);
      if (typeof body.ifVersion === 'number' && body.ifVersion !== current.version) {
        return error(409, 'version_conflict', 'entity changed on the server', { currentVersion: current.version });
      }
      const next =
        resource === 'todos'
          ? {
              ...(current as Todo),
              ...(typeof body.title === 'string' ? { title: body.title } : {}),
              ...(typeof body.done === 'boolean' ? { done: body.done } : {}),
              version: current.version + 1,
            }
          : {
              ...(current as Contact),
              ...(typeof body.name === 'string' ? { name: body.name } : {}),
              ...('email' in body ? { email: body.email as string | null } : {}),
              version: current.version + 1,
            };
      table.set(id, next);
      recordEffect(key, resource, id, 'update', who);
      return new HttpAnswer(200, { data: next });
    }
    if (method === 'DELETE') {
      table.delete(id);
      recordEffect(key, resource, id, 'delete', who);
      return new HttpAnswer(200, { data: { id, deleted: true } });
    }
    return error(405, 'method_not_allowed', 'method not allowed');
  }

  // --- http plumbing ---------------------------------------------------------
  function send(res: ServerResponse, answer: HttpAnswer | StoredAnswer, extra: Record<string, string> = {}): void {
    if (res.destroyed || res.headersSent || res.socket === null || res.socket.destroyed) return;
    const body = answer instanceof HttpAnswer ? JSON.stringify(answer.body) : answer.body;
    byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
    res.writeHead(answer.status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      Date: new Date(now()).toUTCString(),
      ...answer.headers,
      ...extra,
    });
    res.end(body);
  }

  const toStored = (a: HttpAnswer): StoredAnswer => ({ status: a.status, body: JSON.stringify(a.body), headers: { ...a.headers } });

  /** Read the body, counting bytes; beyond the limit, drain and discard (bounded), so the client gets a clean 413. */
  function readBody(req: IncomingMessage): Promise<{ tooLarge: boolean; text: string }> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBodyBytes) {
          tooLarge = true;
          chunks.length = 0;
          if (size > 64 * maxBodyBytes) req.destroy();
        } else chunks.push(chunk);
      });
      req.on('end', () => resolve({ tooLarge, text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8') }));
      req.on('error', () => resolve({ tooLarge, text: '' }));
      req.on('close', () => resolve({ tooLarge, text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8') }));
    });
  }

  function checkAuth(req: IncomingMessage): HttpAnswer | null {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer ([^\s]+)$/.exec(h) : null;
    const www = { 'WWW-Authenticate': 'Bearer error="invalid_token"' };
    if (!m) {
      counters.unauthorized += 1;
      return error(401, 'token_missing', 'authentication required', undefined, { 'WWW-Authenticate': 'Bearer' });
    }
    const v = verifyJwt(m[1] as string, secret, now());
    if (!v.ok) {
      counters.unauthorized += 1;
      return error(401, v.reason, 'invalid or expired token', undefined, www);
    }
    if ((v.claims.gen ?? -1) < tokenGen) {
      counters.unauthorized += 1;
      return error(401, 'token_expired', 'invalid or expired token', undefined, www);
    }
    return null;
  }

  function sweepIdempotency(): void {
    sweepCountdown -= 1;
    if (sweepCountdown > 0) return;
    sweepCountdown = 1000;
    const t = now();
    for (const [k, e] of idem) if (e.answer && e.createdAt + idempotencyTtlMs <= t) idem.delete(k);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { tooLarge, text } = await readBody(req);
    if (closed) return;
    counters.requests += 1;
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;

    if (tooLarge) return send(res, error(413, 'payload_too_large', `request body exceeds ${maxBodyBytes} bytes`));

    if (path === '/auth/token') {
      counters.tokenRequests += 1;
      if (method !== 'POST') return send(res, error(405, 'method_not_allowed', 'method not allowed'));
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return send(res, error(400, 'bad_request', 'body is not JSON'));
      }
      if (!isObj(body) || body.refreshCredential !== refreshCredential) {
        counters.unauthorized += 1;
        return send(res, error(401, 'invalid_credential', 'invalid refresh credential'));
      }
      const token = issueToken();
      return send(res, new HttpAnswer(200, { data: { token, expiresAt: now() + tokenTtlMs } }));
    }

    const m = /^\/(todos|contacts)(?:\/([^/]+))?\/?$/.exec(path);
    if (!m) return send(res, error(404, 'route_not_found', 'no such route'));
    const resource = m[1] as ResourceName;
    const id = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    if (id === undefined ? !['GET', 'POST'].includes(method) : !['GET', 'PATCH', 'PUT', 'DELETE'].includes(method)) {
      return send(res, error(405, 'method_not_allowed', 'method not allowed'));
    }

    const denied = checkAuth(req);
    if (denied) return send(res, denied);

    seq += 1;
    const rawKey = req.headers['idempotency-key'];
    const key = parseIdempotencyKey(rawKey);
    const traceHeader = req.headers['trace-id'];
    const traceId = typeof traceHeader === 'string' ? traceHeader : undefined;
    if (key !== undefined && key.length > 0 && method !== 'GET') keysSeen.add(key);

    // --- faults that answer before the idempotency layer (no effect) ------
    let fault: Fault | 'down' | null = faults.next({ method, path, seq, idempotencyKey: key });
    if (fault === 'down' || fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'latency') {
      await sleep(fault.ms);
      if (closed) return;
      fault = null;
    }
    if (fault?.kind === 'hang' && !fault.commit) {
      await sleep(fault.ms ?? maxHangMs);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers['Retry-After'] = retryAfterHeader(fault.retryAfter, now());
      if (fault.html) {
        const body = `<html><body><h1>${fault.status}</h1></body></html>`;
        return send(res, { status: fault.status, body, headers: { ...headers, 'Content-Type': 'text/html' } });
      }
      return send(res, error(fault.status, 'server_error', 'injected server error', undefined, headers));
    }
    if (fault?.kind === 'rateLimit') {
      return send(res, error(429, 'rate_limited', 'too many requests', undefined, { 'Retry-After': retryAfterHeader(fault.retryAfter, now()) }));
    }
    // Injected 409/400 are domain answers: on a mutation they are decided at
    // the idempotency layer below (a key that already has an answer replays
    // it; a new key stores the injected answer), as a real server would.
    const injectedDomainAnswer = (f: typeof fault): HttpAnswer | undefined =>
      f?.kind === 'conflict'
        ? error(409, f.code ?? 'version_conflict', 'entity changed on the server')
        : f?.kind === 'badRequest'
          ? error(400, 'bad_request', 'injected bad request')
          : undefined;
    if (fault?.kind === 'expireToken') {
      tokenGen += 1;
      counters.unauthorized += 1;
      return send(res, error(401, 'token_expired', 'invalid or expired token', undefined, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }));
    }

    if (method === 'GET') {
      const injected = injectedDomainAnswer(fault);
      if (injected) return send(res, injected);
      if (id === undefined) {
        const table = resource === 'todos' ? todos : contacts;
        return send(res, new HttpAnswer(200, { data: [...table.values()] }));
      }
      const e = (resource === 'todos' ? todos : contacts).get(id);
      return send(res, e ? new HttpAnswer(200, { data: e }) : error(404, 'not_found', 'no such entity'));
    }

    // --- mutating: the Idempotency-Key layer (IETF httpapi draft) -------------
    let body: unknown = undefined;
    let bodyOk = true;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        bodyOk = false;
      }
    }
    if (key === undefined || key.length === 0) {
      if (requireKey) return send(res, error(400, 'idempotency_key_missing', 'Idempotency-Key header is required'));
    } else if (!isUuidV4(key)) {
      return send(res, error(400, 'idempotency_key_invalid', 'Idempotency-Key must be a UUID v4'));
    }
    counters.sends += 1;
    sweepIdempotency();
    const fingerprint = createHash('sha256')
      .update(`${method} ${path}\n${bodyOk ? canonical(body) : text}`)
      .digest('base64url');

    if (key) {
      const existing = idem.get(key);
      if (existing && existing.createdAt + idempotencyTtlMs <= now() && existing.answer) idem.delete(key);
      const entry = idem.get(key);
      if (entry) {
        if (entry.fingerprint !== fingerprint) {
          counters.mismatches += 1;
          return send(res, error(422, 'idempotency_key_mismatch', 'Idempotency-Key was used with a different request'));
        }
        if (!entry.answer) {
          counters.inUse += 1;
          return send(res, error(409, 'idempotency_key_in_use', 'a request with this Idempotency-Key is in progress', undefined, { 'Retry-After': '1' }));
        }
        counters.replays += 1;
        return send(res, entry.answer, { 'Idempotent-Replayed': 'true' });
      }
    }

    const entry: IdempotencyEntry = { fingerprint, createdAt: now() };
    if (key) idem.set(key, entry);

    if (fault?.kind === 'hang') {
      // commit: true — the key is taken while the request "processes".
      await sleep(fault.ms ?? maxHangMs);
      if (closed) {
        if (key) idem.delete(key);
        return;
      }
    }

    const answer =
      injectedDomainAnswer(fault) ??
      (bodyOk ? mutate(method, resource, id, body, key ?? '', { traceId, subject: requestSubject(req.headers.authorization) }) : error(400, 'bad_request', 'body is not JSON'));
    // Domain answers (2xx and 4xx) are final for the key and replayed;
    // nothing here is a 5xx, so no "release the key" branch is needed.
    entry.answer = toStored(answer);

    if (fault?.kind === 'commitThenDrop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'nonJson') {
      return send(res, { status: 200, body: 'OK (not json)', headers: { 'Content-Type': 'text/plain' } });
    }
    if (fault?.kind === 'malformed') {
      return send(res, { status: 200, body: JSON.stringify({ data: 42 }), headers: {} });
    }
    send(res, answer);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // The reference backend never answers with internals; a bug here is a 500.
      send(res, error(500, 'internal', 'internal error'));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => {
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = host === '::1' ? `http://[::1]:${port}` : `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;

  function entity(resource: 'todos', id: string): Todo | undefined;
  function entity(resource: 'contacts', id: string): Contact | undefined;
  function entity(resource: ResourceName, id: string): Todo | Contact | undefined {
    return (resource === 'todos' ? todos : contacts).get(id);
  }

  return {
    url,
    port,
    faults,
    refreshCredential,
    issueToken,
    expireTokens: () => {
      tokenGen += 1;
    },
    effects: (k) => effects.get(k) ?? 0,
    effectsByKey: () => new Map(effects),
    applied: () => log.slice(),
    onEffect: (listener) => {
      effectListeners.add(listener);
      return () => {
        effectListeners.delete(listener);
      };
    },
    entityLog: (resource, id) => (byEntity.get(`${resource}/${id}`) ?? []).slice(),
    entity,
    counters: () => ({
      ...counters,
      distinctKeys: keysSeen.size,
      byStatus: Object.fromEntries(byStatus),
      faults: faults.injected(),
    }),
    reset: () => {
      todos = new Map();
      contacts = new Map();
      idem = new Map();
      effects = new Map();
      log = [];
      byEntity = new Map();
      byStatus = new Map();
      keysSeen = new Set();
      counters = { requests: 0, sends: 0, applied: 0, replays: 0, inUse: 0, mismatches: 0, unauthorized: 0, tokensIssued: 0, tokenRequests: 0 };
      seq = 0;
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
