import { randomUUID } from 'node:crypto';
import type { ReferenceBackend } from '../../src/testing';

/** A raw answer of the reference backend: status, headers, body text, and its JSON (undefined when not JSON). */
export interface BackendReply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: any;
}

/**
 * One real HTTP request to the reference backend, without the API client:
 * a fresh bearer token unless `token` is given (null: none), a fresh
 * `Idempotency-Key` on writes unless `key` is given (null: none), `body` as
 * JSON unless `rawBody` is given.
 *
 * @example
 * const r = await callBackend(backend, 'POST', '/todos', { id: 'a', title: 'a' });
 */
export async function callBackend(
  backend: ReferenceBackend,
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string | null; key?: string | null; timeoutMs?: number; rawBody?: string } = {},
): Promise<BackendReply> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  const token = opts.token === undefined ? backend.issueToken() : opts.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (opts.key !== null && method !== 'GET') headers['Idempotency-Key'] = opts.key ?? randomUUID();
  const res = await fetch(`${backend.url}${path}`, {
    method,
    headers,
    body: opts.rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
