import { Observable, filter, from, map, shareReplay, startWith, switchMap } from 'rxjs';
import type { EngineCore } from '../engine/sync-engine';
import { userMessageFor } from '../errors/user-messages';
import type { FailedRecord } from '../store/op-store';

/** A dead-letter record with the text to show a person. */
export interface FailedOpView extends FailedRecord {
  /** Fixed user-facing text for the record's error kind. */
  readonly message: string;
}

/** Shown for records quarantined because they could not be read back. */
export const CORRUPT_RECORD_MESSAGE = 'A saved change could not be read back and was set aside.';

/** The user-facing message of a dead-letter record. */
export function failedRecordMessage(record: FailedRecord): string {
  if (record.reason === 'corrupt') return CORRUPT_RECORD_MESSAGE;
  return userMessageFor(record.error?.kind ?? 'permanent');
}

/**
 * The dead-letter queue as a stream for a "3 changes could not be saved —
 * retry / discard" UI: the current list at subscription, then a fresh list
 * after every change to it. Retry and discard go through `engine.failedOps`.
 *
 * @example
 * ```ts
 * watchFailedOps(engine).subscribe((failed) => banner.show(failed.length));
 * ```
 */
export function watchFailedOps(engine: EngineCore): Observable<readonly FailedOpView[]> {
  return engine.changes$.pipe(
    filter((c) => c.type === 'failed' || c.type === 'retried' || c.type === 'discarded'),
    startWith(undefined),
    switchMap(() => from(engine.failedOps.list())),
    map((records) => records.map((r): FailedOpView => ({ ...r, message: failedRecordMessage(r) }))),
    shareReplay({ bufferSize: 1, refCount: true }),
  );
}
