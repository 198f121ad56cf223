/**
 * An Angular service wrapping sync-engine: the engine is provided once
 * (`SYNC_ENGINE`), started when the service is created and stopped in
 * `ngOnDestroy`; components bind to `status$`, `results$`, `todos.state$`
 * with the `async` pipe. Type-checked by `npm test`; no Angular app needed.
 *
 * @example
 * ```ts
 * bootstrapApplication(AppComponent, {
 *   providers: [{ provide: SYNC_ENGINE, useFactory: () => createSyncEngine({ ... }) }],
 * });
 * ```
 */
import { Injectable, InjectionToken, inject, type OnDestroy } from '@angular/core';
import { map, type Observable } from 'rxjs';
import {
  createOptimisticStore,
  watchFailedOps,
  type EngineStatus,
  type FailedOpView,
  type OpResult,
  type OptimisticStore,
  type Rollback,
  type SyncEngine,
} from '../../src';

export interface Todo {
  readonly id: string;
  readonly title: string;
  readonly done: boolean;
}

/** The app provides its configured engine under this token. */
export const SYNC_ENGINE = new InjectionToken<SyncEngine>('SYNC_ENGINE');

@Injectable({ providedIn: 'root' })
export class SyncEngineService implements OnDestroy {
  readonly #engine = inject(SYNC_ENGINE);

  readonly status$: Observable<EngineStatus> = this.#engine.status$;
  readonly results$: Observable<OpResult> = this.#engine.results$;
  readonly failed$: Observable<readonly FailedOpView[]> = watchFailedOps(this.#engine);
  /** "Syncing 3 changes…" / "Sign in to sync" for a status bar. */
  readonly label$: Observable<string> = this.status$.pipe(
    map((s) => (s.authRequired ? 'Sign in to sync' : !s.online ? 'Offline' : s.pending ? `Syncing ${s.pending}…` : 'Saved')),
  );

  readonly todos: OptimisticStore<readonly Todo[]> = createOptimisticStore(this.#engine, {
    initial: [] as readonly Todo[],
    apply: {
      'todo.create': (s: readonly Todo[], p: { id: string; title: string }) => [...s, { ...p, done: false }],
      'todo.toggle': (s: readonly Todo[], p: { id: string }) => s.map((t) => (t.id === p.id ? { ...t, done: !t.done } : t)),
    },
  });
  readonly rollbacks$: Observable<Rollback> = this.todos.rollbacks$;

  constructor() {
    this.#engine.start();
  }

  addTodo(id: string, title: string): Promise<unknown> {
    return this.todos.mutate('todo.create', { id, title }).persisted;
  }

  retryFailed(id: string): Promise<unknown> {
    return this.#engine.failedOps.retry(id);
  }

  discardFailed(id: string): Promise<void> {
    return this.#engine.failedOps.discard(id);
  }

  ngOnDestroy(): void {
    this.todos.dispose();
    void this.#engine.stop();
  }
}
