/**
 * sync-engine public API. Everything exported here is supported; anything
 * not exported is internal.
 */
export {
  SyncError,
  NetworkError,
  TimeoutError,
  ServerError,
  RateLimitError,
  AuthError,
  PermanentError,
  ConflictError,
  MalformedResponseError,
  RedirectError,
  ValidationError,
  StorageError,
} from './errors/sync-error';
export type { ErrorClass, SyncErrorKind, ErrorInfo, ValidationReason, StorageReason } from './errors/sync-error';
export { USER_MESSAGES, userMessageFor, CANCELLED_MESSAGE } from './errors/user-messages';
export {
  PendingOpCodec,
  decodePendingOp,
  decodePendingOpJson,
  INVALID_JSON_MESSAGE,
  PENDING_OP_SCHEMA_VERSION,
} from './op/pending-op';
export type { PendingOp, OpId, IdempotencyKey, TraceId } from './op/pending-op';
export { createOpId, createTraceId, isUuidV4 } from './op/ids';
export { createIdempotencyKey } from './idempotency/idempotency-key';
export type {
  OpStore,
  FailedOps,
  FailedRecord,
  FailureInfo,
  FailureReason,
  StoreChange,
  StoreCounts,
} from './store/op-store';
export type {
  EngineCore,
  EngineStatus,
  EngineEvent,
  EnqueueInput,
  GateReason,
  OpResult,
  DiscardAccountOptions,
} from './engine/sync-engine';
export { createOptimisticStore } from './optimistic/create-optimistic-store';
export type {
  OptimisticStore,
  OptimisticStoreOptions,
  ApplyFn,
  CommitFn,
  ApplyMap,
  CommitMap,
  ConfirmedFor,
  PendingEntry,
  PendingStatus,
  Rollback,
  RollbackReason,
  Mutation,
} from './optimistic/create-optimistic-store';
export { watchFailedOps, failedRecordMessage, CORRUPT_RECORD_MESSAGE } from './optimistic/watch-failed-ops';
export type { FailedOpView } from './optimistic/watch-failed-ops';
export { parseRetryAfter, parseHttpDate } from './policy/retry-after';
export {
  computeBackoff,
  retryDelay,
  resolveBackoffPolicy,
  DEFAULT_BACKOFF_POLICY,
  MAX_TIMER_DELAY_MS,
} from './policy/backoff';
export type { BackoffPolicy, JitterMode } from './policy/backoff';
export { classifyResponse, IDEMPOTENCY_KEY_IN_USE } from './policy/classify-response';
export { classifyBatchEntry, BATCH_NOT_APPLIED_STATUS } from './policy/classify-batch-entry';
export type { BatchEntryAnswer, BatchEntryOutcome } from './policy/classify-batch-entry';
export type { HttpResponseLike, ClassifiedResponse } from './policy/classify-response';
export { classifyError, UNEXPECTED_ERROR_CODE } from './policy/classify-error';
export { retryKeyPolicy } from './idempotency/retry-key-policy';
export type { RetryKey, RetryKeyInput } from './idempotency/retry-key-policy';
export { defineRoutes, formatPayloadErrors } from './router/op-router';
export type { OpRouter, RouteDef, RouteMethod, RoutedRequest, RouteCodec, CodecResult, CodecError } from './router/op-router';
export type { RouteTable, RoutesOf, OpTypeOf, PayloadOf, ResponseOf } from './router/route-types';
export type { EnqueueInputOf, OpResultOf, OpResultFor } from './engine/typed-ops';
export { createOpStore } from './store/create-op-store';
export type { SealedOpStore, LocalForageOpStore } from './store/create-op-store';
export { OP_STORE_DEFAULTS, STORE_TABLES, STORE_SCHEMA_VERSION } from './store/op-store-options';
export type { OpStoreOptions } from './store/op-store-options';
export { storeNameFor } from './store/store-name-for';
export { generateStoreKey, importStoreKey, STORE_KEY_BYTES, RecordCipher, RECORD_FORMAT_VERSION } from './crypto/record-cipher';
export type { DecryptFailure } from './crypto/record-cipher';
export { loadOrCreateDeviceKey } from './crypto/device-key';
export { webCryptoAesGcm } from './crypto/aes-gcm-engine';
export type { AesGcmEngine } from './crypto/aes-gcm-engine';
export { defineMemoryDriver, resetMemoryDriver, MEMORY_DRIVER } from './drivers/memory-driver';
export type { RangeDriverExtras } from './drivers/range-driver';
export { noopLogger, consoleLogger, redactingLogger } from './log/logger';
export type { Logger, LogLevel, LogFields, ConsoleLike } from './log/logger';
export { redact, redactString, isSensitiveKey, REDACTED } from './log/redact';
export { attachLogger, logLineFor } from './observability/attach-logger';
export type { LogLine } from './observability/attach-logger';
export { createMetrics, METRIC_NAMES, METRIC_DESCRIPTORS, defaultMemoryUsage } from './observability/metrics';
export type { Metrics, MetricsOptions, MetricsSnapshot, MetricName } from './observability/metrics';
export { attachTracing, injectTraceHeaders, SPAN_OP, SPAN_SEND, ATTR } from './observability/tracing';
export type { Tracing, TracingOptions } from './observability/tracing';
export { attachObservability } from './observability/attach-observability';
export type { Observability, ObservabilityOptions, ObservabilitySource } from './observability/attach-observability';
export { createTokenManager, TOKEN_MANAGER_DEFAULTS } from './auth/token-manager';
export type { TokenManager, TokenSource, TokenManagerOptions } from './auth/token-manager';
export { jwtExpiresAt } from './auth/jwt-exp';
export { assertSecureBaseUrl, isLoopbackHost } from './auth/secure-base-url';
export { createRateLimiter, rateLimit, RATE_LIMIT_DEFAULTS } from './security/rate-limiter';
export type { RateLimiter, RateLimitOptions } from './security/rate-limiter';
export { assertSafePayload, safePayloadCopy, PAYLOAD_LIMITS, FORBIDDEN_KEYS } from './security/payload-guard';
export type { PayloadLimits } from './security/payload-guard';
export { createSyncEngine } from './create-sync-engine';
export type { SyncEngine } from './create-sync-engine';
export { SYNC_ENGINE_DEFAULTS } from './engine/sync-engine-options';
export type { SyncEngineOptions } from './engine/sync-engine-options';
export { platformOnline$, platformConstraints$, LOW_BATTERY_LEVEL } from './engine/platform-signals';
export type { PowerConstraints } from './engine/platform-signals';
export { storePortFromOpStore } from './engine/store-port';
export { broadcastChannelWake } from './engine/wake-port';
export type { WakePort, BroadcastChannelLike, BroadcastChannelConstructor } from './engine/wake-port';
export type { EngineFailedOps } from './engine/engine-failed-ops';
export type { WhenIdleOptions } from './engine/when-idle';
export { serverWakeFrom, isAnnouncement, SERVER_WAKE_DEFAULTS } from './wake/server-wake';
export type { ServerWake, ServerWakeOptions, ChannelEvent } from './wake/server-wake';
export { webSocketWake } from './wake/web-socket-wake';
export type { WebSocketLike, WebSocketConstructor, WebSocketWakeOptions } from './wake/web-socket-wake';
export { eventSourceWake } from './wake/event-source-wake';
export type { EventSourceLike, EventSourceConstructor, EventSourceWakeOptions } from './wake/event-source-wake';
export type { Reconcile, ReconcileDecision } from '../streams/resolve-conflict';
export type { StorePort, AuthPort, MetaPort } from '../streams/ports';
export { createApiClient, API_CLIENT_DEFAULTS } from './api/api-client';
export type { ApiClient, ApiClientOptions, ApiRequest, ApiResponse } from './api/api-client';
export type { BatchEntryRequest, BatchRequest, BatchEntryResult } from './api/batch-types';
export { BATCH_MISMATCH } from './api/batch-answer';
export { fetchTransport } from './api/http-transport';
export type { HttpRequest, HttpTransport, FetchLike } from './api/http-transport';
export { createStorageLock, STORAGE_LOCK_DEFAULTS } from './lock/storage-lock';
export type { StorageLockOptions, LockRecord } from './lock/storage-lock';
export type { ProcessorLock, LockState } from './lock/processor-lock';
