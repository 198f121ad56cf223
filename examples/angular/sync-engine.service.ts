/**
 * An Angular service wrapping sync-engine: the engine is provided once
 * (`SYNC_ENGINE`, typed by the app's routes), started when the service is
 * created and stopped in `ngOnDestroy`. Templates bind to signals
 * (`status()`, `label()`, `todos()`, `pending()`, `lastRollback()`), or to
 * the same values as observables (`status$`, `todos.state$`, …) with the
 * `async` pipe. Signals come from `toSignal`, so they need no zone: this
 * works zoneless. `test/integration/angular-service.test.ts` runs it in
 * Angular's injector against the reference backend.
 *
 * @example
 * ```ts
 * bootstrapApplication(AppComponent, {
 *   providers: [
 *     provideZonelessChangeDetection(),
 *     { provide: SYNC_ENGINE, useFactory: () => createSyncEngine({ baseUrl, routes: todoRoutes, store, auth }) },
 *   ],
 * });
 * // In a component: readonly sync = inject(SyncEngineService);
 * // template: {{ sync.label() }} @for (todo of sync.todos(); track todo.id) { … }
 * ```
 */
import { Injectable, InjectionToken, inject, type OnDestroy, type Signal } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { map, type Observable } from 'rxjs';
import {
  createOptimisticStore,
  watchFailedOps,
  type EngineStatus,
  type FailedOpView,
  type OpResultOf,
  type OptimisticStore,
  type PendingEntry,
  type PendingOp,
  type Rollback,
  type SyncEngine,
} from '../../src';
import type { TodoRoutes } from './todo-routes';

export interface Todo {
  readonly id: string;
  readonly title: string;
  readonly done: boolean;
  /** Set by the server: present once the todo is confirmed. */
  readonly version?: number;
}
type Todos = readonly Todo[];

/** The app provides its configured engine under this token (`createSyncEngine({ routes: todoRoutes, … })`). */
export const SYNC_ENGINE = new InjectionToken<SyncEngine<TodoRoutes>>('SYNC_ENGINE');

const upsert = (s: Todos, todo: Todo): Todos =>
  s.some((x) => x.id === todo.id) ? s.map((x) => (x.id === todo.id ? todo : x)) : [...s, todo];

/** "Syncing 3 changes…" / "Sign in to sync" for a status bar. */
const labelOf = (s: EngineStatus): string =>
  s.authRequired ? 'Sign in to sync' : !s.online ? 'Offline' : s.pending ? `Syncing ${s.pending}…` : 'Saved';

@Injectable({ providedIn: 'root' })
export class SyncEngineService implements OnDestroy {
  readonly #engine = inject(SYNC_ENGINE);

  readonly status$: Observable<EngineStatus> = this.#engine.status$;
  readonly results$: Observable<OpResultOf<TodoRoutes>> = this.#engine.results$;
  readonly failed$: Observable<readonly FailedOpView[]> = watchFailedOps(this.#engine);
  readonly label$: Observable<string> = this.status$.pipe(map(labelOf));

  /** Optimistic todos: the server's answer replaces the guess on commit; a refusal removes it. */
  readonly todos: OptimisticStore<Todos, TodoRoutes> = createOptimisticStore(this.#engine, {
    initial: [] as Todos,
    apply: {
      'todo.create': (s, p) => upsert(s, { ...p, done: false }),
      'todo.toggle': (s, p) => s.map((x) => (x.id === p.id ? { ...x, done: p.done } : x)),
    },
    commit: {
      // `data` is the route's decoded response; absent only for an op found
      // already committed after a crash, where the guess is kept.
      'todo.create': (s, p, data) => upsert(s, data ?? { ...p, done: false }),
      'todo.toggle': (s, p, data) => (data ? upsert(s, data) : s.map((x) => (x.id === p.id ? { ...x, done: p.done } : x))),
    },
  });
  readonly rollbacks$: Observable<Rollback> = this.todos.rollbacks$;

  // Signals for templates. `status$` emits its current value on subscribe,
  // so `requireSync` holds; the optimistic view starts empty until the
  // durable queue has been read.
  readonly status: Signal<EngineStatus> = toSignal(this.status$, { requireSync: true });
  readonly label: Signal<string> = toSignal(this.label$, { requireSync: true });
  readonly todoList: Signal<Todos> = toSignal(this.todos.state$, { initialValue: [] as Todos });
  readonly pending: Signal<readonly PendingEntry[]> = toSignal(this.todos.pending$, { initialValue: [] });
  readonly failed: Signal<readonly FailedOpView[]> = toSignal(this.failed$, { initialValue: [] });
  /** The last change the server refused (or that could not be saved), for a toast. */
  readonly lastRollback: Signal<Rollback | undefined> = toSignal(this.rollbacks$);

  constructor() {
    this.#engine.start();
  }

  addTodo(id: string, title: string): Promise<PendingOp> {
    return this.todos.mutate('todo.create', { id, title }).persisted;
  }

  setDone(id: string, done: boolean): Promise<PendingOp> {
    return this.todos.mutate('todo.toggle', { id, done }).persisted;
  }

  retryFailed(id: string): Promise<unknown> {
    return this.#engine.failedOps.retry(id);
  }

  discardFailed(id: string): Promise<void> {
    return this.#engine.failedOps.discard(id);
  }

  ngOnDestroy(): void {
    // toSignal's subscriptions end with the injector; the engine is the app's to dispose.
    this.todos.dispose();
    void this.#engine.stop();
  }
}
