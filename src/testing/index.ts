/**
 * `sync-engine/testing`: a Node-only kit for testing apps built on the
 * engine against a real HTTP backend with fault injection. Not part of the
 * browser bundle (it uses `node:http` and `node:crypto`).
 */
export { startReferenceBackend, REFERENCE_BATCH_DEFAULTS } from './reference-backend';
export type {
  ReferenceBackend,
  ReferenceBackendOptions,
  AppliedEffect,
  BackendCounters,
  ResourceName,
  Todo,
  Contact,
} from './reference-backend';
export { FaultController } from './faults';
export type { Fault, FaultKind, FaultRule, RandomFaultOptions, RequestInfo, RetryAfter } from './faults';
export { mulberry32 } from './prng';
export { signJwt, verifyJwt, issueJwt } from './jwt';
export type { JwtClaims, JwtRejection } from './jwt';
export { verifyDelivery, percentile } from './verify-delivery';
export type { DeliveryReport, EnqueuedOpRef, FailedOpRef } from './verify-delivery';
