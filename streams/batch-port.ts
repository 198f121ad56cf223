import type { ApiClient } from '../src/api/api-client';

export type { BatchEntryRequest, BatchEntryResult, BatchRequest } from '../src/api/batch-types';

/**
 * The API client's batch call as the streams use it (`ApiClient.sendBatch`):
 * one result per entry, same order and length; whole-request failures error
 * like `send` (a 413 is a `PermanentError` with status 413; an answer that
 * cannot be matched is `MalformedResponseError` `batchMismatch`).
 *
 * @example
 * const sender: BatchSender = apiClient;
 */
export type BatchSender = Pick<ApiClient, 'sendBatch'>;
