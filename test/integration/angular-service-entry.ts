/**
 * Bundled by esbuild and run by node for `angular-service.test.ts`: Angular
 * 20 ships ES modules only, which jest's CommonJS runtime cannot load, so the
 * Angular part runs in its own process. It creates
 * `examples/angular/sync-engine.service.ts` with Angular's injector (JIT,
 * zoneless) over an engine on an in-memory store and the reference backend,
 * walks a user's story and prints one JSON report: what the service's
 * signals and observables held at each step.
 */
import '@angular/compiler'; // JIT: compiles @Injectable at run time, as `ng serve` would ahead of time
import { Injector, computed, inject, runInInjectionContext } from '@angular/core';
import { BehaviorSubject, filter, firstValueFrom, of, take, throwError, timeout, type Observable } from 'rxjs';
import { SYNC_ENGINE, SyncEngineService } from '../../examples/angular/sync-engine.service';
import { todoRoutes } from '../../examples/angular/todo-routes';
import { createOpStore, createSyncEngine, defineMemoryDriver, generateStoreKey, type EngineStatus } from '../../src';
import { startReferenceBackend } from '../../src/testing';

/** What one step saw: each signal, and the observable it comes from read at the same moment. */
export interface ServiceStep {
  readonly step: string;
  readonly status: Pick<EngineStatus, 'online' | 'processing' | 'pending' | 'failed' | 'blockedBy'>;
  readonly label: string;
  readonly todos: readonly unknown[];
  readonly pending: readonly string[];
  readonly failed: number;
  readonly lastRollback?: string;
  /** A signal derived by a consumer (`computed`), as a component would. */
  readonly summary: string;
  /** `status$`, `todos.state$` and `label$` read synchronously at the same moment: must equal the signals. */
  readonly observed: { readonly status: unknown; readonly todos: unknown; readonly label: unknown };
}

/** The report printed on stdout (one line of JSON). */
export interface ServiceReport {
  readonly steps: readonly ServiceStep[];
  /** The engine's own status after `injector.destroy()`. */
  readonly afterDestroy: { readonly processing: boolean; readonly blockedBy: readonly string[] };
  /** Effects the server applied, by id (`milk` once, `bad id!` never). */
  readonly applied: readonly string[];
}

const statusOf = (s: EngineStatus): ServiceStep['status'] => ({
  online: s.online,
  processing: s.processing,
  pending: s.pending,
  failed: s.failed,
  blockedBy: s.blockedBy,
});

/** A hang guard, not a speed bound: a wait that never ends fails the run with its name. */
const HANG_MS = 30_000;

/** The first value of `o` that passes `p`; rejects naming `what` if none comes. */
const until = <T>(what: string, o: Observable<T>, p: (v: T) => boolean = () => true): Promise<T> =>
  firstValueFrom(
    o.pipe(
      filter(p),
      timeout({ first: HANG_MS, with: () => throwError(() => new Error(`never saw: ${what}`)) }),
    ),
  );

/** The current value of an observable that has one (undefined if none yet). */
const current = <T>(o: Observable<T>): T | undefined => {
  let value: T | undefined;
  o.pipe(take(1))
    .subscribe((v) => (value = v))
    .unsubscribe();
  return value;
};

async function main(): Promise<ServiceReport> {
  const backend = await startReferenceBackend();
  const online$ = new BehaviorSubject(false);
  const store = await createOpStore({
    name: `angular-service-${process.pid}`,
    driver: await defineMemoryDriver(),
    encryptionKey: await generateStoreKey(),
  });
  const engine = createSyncEngine({
    baseUrl: backend.url,
    routes: todoRoutes,
    store,
    auth: { getToken: async () => backend.issueToken(), refreshToken: async () => backend.issueToken() },
    online$,
    constraints$: of({}),
  });
  // The app's environment injector: the engine under its token, the service
  // from its @Injectable factory (compiled by JIT).
  const injector = Injector.create({ name: 'app', providers: [{ provide: SYNC_ENGINE, useValue: engine }, SyncEngineService] });
  const steps: ServiceStep[] = [];
  try {
    // A component: injects the service and derives a signal from its signals.
    const { sync, summary } = runInInjectionContext(injector, () => {
      const service = inject(SyncEngineService);
      return { sync: service, summary: computed(() => `${service.todoList().length} todo(s), ${service.label()}`) };
    });
    const snap = (step: string): void => {
      steps.push({
        step,
        status: statusOf(sync.status()),
        label: sync.label(),
        todos: sync.todoList(),
        pending: sync.pending().map((p) => p.status),
        failed: sync.failed().length,
        ...(sync.lastRollback() ? { lastRollback: sync.lastRollback()?.message } : {}),
        summary: summary(),
        observed: {
          status: statusOf(current(sync.status$) as EngineStatus),
          todos: current(sync.todos.state$),
          label: current(sync.label$),
        },
      });
    };
    type Todos = ReturnType<typeof sync.todoList>;
    const versionOf = (t: Todos, i: number): number | undefined => t[i]?.version;

    await until('the durable queue read', sync.todos.state$);
    snap('created offline');

    // Offline: the change shows at once and waits in the queue.
    const milk = sync.addTodo('milk', 'Buy milk');
    snap('added: same tick');
    await milk;
    await until('pending 1', sync.status$, (s) => s.pending === 1);
    snap('added: queued while offline');

    // Online: sent, committed; the server's answer replaces the guess.
    online$.next(true);
    await until('pending 0', sync.status$, (s) => s.pending === 0 && s.inFlight === undefined);
    await until('the server’s todo', sync.todos.state$, (t: Todos) => t.length === 1 && versionOf(t, 0) === 1);
    snap('committed');

    const toggled = sync.setDone('milk', true);
    snap('toggled: same tick');
    await toggled;
    await until('the toggled todo', sync.todos.state$, (t: Todos) => versionOf(t, 0) === 2);
    await until('pending 0 after the toggle', sync.status$, (s) => s.pending === 0);
    snap('toggle committed');

    // The server refuses an id it does not accept (400): the layer rolls back.
    const rolledBack = until('a rollback', sync.rollbacks$);
    void sync.addTodo('bad id!', 'Refused by the server');
    snap('refused: same tick');
    await rolledBack;
    await until('failed 1', sync.status$, (s) => s.pending === 0 && s.failed === 1);
    await until('the dead-letter entry', sync.failed$, (f) => f.length === 1);
    snap('rolled back');

    // Destroying the injector runs ngOnDestroy: the engine stops.
    injector.destroy();
    const stopped = await until('the engine stopped', engine.status$, (s) => s.blockedBy.includes('stopped'));
    return {
      steps,
      afterDestroy: { processing: stopped.processing, blockedBy: stopped.blockedBy },
      applied: backend.applied().map((e) => e.id),
    };
  } finally {
    await engine.dispose();
    await backend.close();
  }
}

main().then(
  (report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
