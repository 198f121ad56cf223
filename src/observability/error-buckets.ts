import type { SyncErrorKind } from '../errors/sync-error';

/** The error-metric buckets of the spec (`sync.errors.*`). */
export type ErrorBucket = 'transient' | 'permanent' | 'ambiguous';

/**
 * Which `sync.errors.*` bucket a failed attempt counts in. `network` is a
 * separate, overlapping counter (`isNetworkKind`): a network error is also
 * transient. `auth` (401, refreshed then retried) and `rateLimited` (429,
 * waited out) are transient conditions; `validation`, `malformedResponse`
 * and `redirect` are permanent; a domain conflict is the spec's "ambiguous".
 */
export const ERROR_BUCKET: Readonly<Record<SyncErrorKind, ErrorBucket>> = {
  network: 'transient',
  timeout: 'transient',
  server: 'transient',
  rateLimited: 'transient',
  auth: 'transient',
  storage: 'transient',
  permanent: 'permanent',
  malformedResponse: 'permanent',
  redirect: 'permanent',
  validation: 'permanent',
  conflict: 'ambiguous',
};

/** The request got no HTTP answer: no connection, or it timed out. */
export function isNetworkKind(kind: SyncErrorKind): boolean {
  return kind === 'network' || kind === 'timeout';
}
