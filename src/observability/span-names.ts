/** Span names and attribute keys (see `docs/operating.md`). */
export const SPAN_OP = 'sync.op';
export const SPAN_SEND = 'sync.op.send';
export const SPAN_LOCK = 'sync.lock.acquire';
export const EVENT_BACKOFF = 'sync.backoff';
export const EVENT_TAKEOVER = 'sync.lock.takeover';
export const EVENT_CONFLICT = 'sync.conflict';

export const ATTR = {
  opType: 'sync.op.type',
  opId: 'sync.op.id',
  traceId: 'sync.trace_id',
  attempt: 'sync.op.attempt',
  outcome: 'sync.op.outcome',
  resumed: 'sync.op.resumed',
  fromLedger: 'sync.op.from_ledger',
  failureReason: 'sync.op.failure_reason',
  errorKind: 'sync.error.kind',
  errorType: 'error.type',
  statusCode: 'http.response.status_code',
  delayMs: 'sync.backoff.delay_ms',
  retryAfter: 'sync.backoff.retry_after',
  resolution: 'sync.conflict.resolution',
  takeover: 'sync.lock.takeover',
  fence: 'sync.lock.fence',
} as const;
