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
  ValidationError,
  StorageError,
} from './errors/sync-error';
export type { ErrorClass, SyncErrorKind, ErrorInfo, ValidationReason, StorageReason } from './errors/sync-error';
export { USER_MESSAGES, userMessageFor } from './errors/user-messages';
export { PendingOpCodec, decodePendingOp, PENDING_OP_SCHEMA_VERSION } from './op/pending-op';
export type { PendingOp, OpId, IdempotencyKey, TraceId } from './op/pending-op';
export { createOpId, createIdempotencyKey, createTraceId, isUuidV4 } from './op/ids';
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
  SyncEngine,
  EngineStatus,
  EngineEvent,
  EnqueueInput,
  GateReason,
  OpResult,
} from './engine/sync-engine';
export { createOptimisticStore } from './optimistic/create-optimistic-store';
export type {
  OptimisticStore,
  OptimisticStoreOptions,
  ApplyFn,
  CommitFn,
  PendingEntry,
  PendingStatus,
  Rollback,
  RollbackReason,
  Mutation,
} from './optimistic/create-optimistic-store';
export { watchFailedOps, failedRecordMessage, CORRUPT_RECORD_MESSAGE } from './optimistic/watch-failed-ops';
export type { FailedOpView } from './optimistic/watch-failed-ops';
