import { Observable, distinctUntilChanged, of } from 'rxjs';

/** Device conditions that affect how eagerly the engine works. */
export interface PowerConstraints {
  /**
   * The device saves power (battery saver, low battery): backoff waits are
   * stretched by `powerSavingBackoffFactor`; with `visible: false` as well,
   * processing pauses. Default false.
   */
  readonly powerSaving?: boolean;
  /** The app is visible to the user (Page Visibility API). Default true. */
  readonly visible?: boolean;
}

interface OnlineWindow {
  addEventListener(type: 'online' | 'offline', listener: () => void): void;
  removeEventListener(type: 'online' | 'offline', listener: () => void): void;
}

/**
 * Connectivity as the platform reports it: `navigator.onLine` plus the
 * window's `online`/`offline` events in browsers; always `true` where there
 * is no such API (Node, workers without `navigator.onLine`). `onLine === true`
 * only means "has a network", so requests still fail and retry as network
 * errors when the server is unreachable.
 *
 * @example
 * createSyncEngine({ ..., online$: platformOnline$() }); // the default
 */
export function platformOnline$(): Observable<boolean> {
  const g = globalThis as { navigator?: { onLine?: unknown }; addEventListener?: unknown; removeEventListener?: unknown };
  if (typeof g.navigator?.onLine !== 'boolean' || typeof g.addEventListener !== 'function') return of(true);
  const win = globalThis as unknown as OnlineWindow;
  const nav = g.navigator as { onLine: boolean };
  return new Observable<boolean>((subscriber) => {
    const update = (): void => subscriber.next(nav.onLine);
    win.addEventListener('online', update);
    win.addEventListener('offline', update);
    update();
    return () => {
      win.removeEventListener('online', update);
      win.removeEventListener('offline', update);
    };
  }).pipe(distinctUntilChanged());
}

interface VisibilityDocument {
  readonly visibilityState: string;
  addEventListener(type: 'visibilitychange', listener: () => void): void;
  removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

interface BatteryManagerLike {
  readonly charging: boolean;
  readonly level: number;
  addEventListener(type: 'chargingchange' | 'levelchange', listener: () => void): void;
  removeEventListener(type: 'chargingchange' | 'levelchange', listener: () => void): void;
}

/** Below this battery level while discharging, `powerSaving` is assumed (browser default). */
export const LOW_BATTERY_LEVEL = 0.2;

/**
 * Power constraints as the platform reports them: `visible` from the Page
 * Visibility API; `powerSaving` from the Battery Status API where present
 * (discharging and level < `LOW_BATTERY_LEVEL`; no browser exposes the OS
 * battery-saver switch). Elsewhere: `{ powerSaving: false, visible: true }`.
 *
 * @example
 * createSyncEngine({ ..., constraints$: platformConstraints$() }); // the default
 */
export function platformConstraints$(): Observable<PowerConstraints> {
  const g = globalThis as {
    document?: Partial<VisibilityDocument>;
    navigator?: { getBattery?: () => Promise<BatteryManagerLike> };
  };
  const doc = typeof g.document?.addEventListener === 'function' && typeof g.document.visibilityState === 'string'
    ? (g.document as VisibilityDocument)
    : undefined;
  const getBattery = typeof g.navigator?.getBattery === 'function' ? g.navigator.getBattery.bind(g.navigator) : undefined;
  if (doc === undefined && getBattery === undefined) return of({ powerSaving: false, visible: true });
  return new Observable<PowerConstraints>((subscriber) => {
    let visible = doc === undefined ? true : doc.visibilityState !== 'hidden';
    let powerSaving = false;
    let battery: BatteryManagerLike | undefined;
    let closed = false;
    const emit = (): void => subscriber.next({ powerSaving, visible });
    const onVisibility = (): void => {
      visible = doc!.visibilityState !== 'hidden';
      emit();
    };
    const onBattery = (): void => {
      powerSaving = battery !== undefined && !battery.charging && battery.level < LOW_BATTERY_LEVEL;
      emit();
    };
    doc?.addEventListener('visibilitychange', onVisibility);
    emit();
    getBattery?.().then(
      (b) => {
        if (closed) return;
        battery = b;
        b.addEventListener('chargingchange', onBattery);
        b.addEventListener('levelchange', onBattery);
        onBattery();
      },
      () => undefined,
    );
    return () => {
      closed = true;
      doc?.removeEventListener('visibilitychange', onVisibility);
      battery?.removeEventListener('chargingchange', onBattery);
      battery?.removeEventListener('levelchange', onBattery);
    };
  }).pipe(distinctUntilChanged((a, b) => a.powerSaving === b.powerSaving && a.visible === b.visible));
}


interface LifecycleTarget {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/**
 * Whether the page cannot run now, from the Page Lifecycle API: `true` after
 * the document's `freeze` or the window's `pagehide` (reload, close,
 * navigation, the back/forward cache), `false` at first and after `resume`
 * or `pageshow`. Always `false` where there is no document (Node, workers).
 * The default engine gives its processor lock up while it is `true`
 * (`releaseWhileSuspended`): no new send starts in a frozen page, and
 * another tab takes over at once. Nothing is lost if the page is then
 * discarded: every op is in the durable queue, and a commit cut short is
 * finished from the ledger (or resent under the same key) by the next
 * holder.
 *
 * @example
 * createDefaultLock(meta, { suspended$: platformSuspended$() }); // what createSyncEngine does in browsers
 */
export function platformSuspended$(): Observable<boolean> {
  const g = globalThis as { document?: Partial<LifecycleTarget>; addEventListener?: unknown; removeEventListener?: unknown };
  const doc = g.document;
  if (typeof doc?.addEventListener !== 'function' || typeof g.addEventListener !== 'function') return of(false);
  const win = globalThis as unknown as LifecycleTarget;
  const page = doc as LifecycleTarget;
  return new Observable<boolean>((subscriber) => {
    const suspend = (): void => subscriber.next(true);
    const run = (): void => subscriber.next(false);
    page.addEventListener('freeze', suspend);
    page.addEventListener('resume', run);
    win.addEventListener('pagehide', suspend);
    win.addEventListener('pageshow', run);
    subscriber.next(false);
    return () => {
      page.removeEventListener('freeze', suspend);
      page.removeEventListener('resume', run);
      win.removeEventListener('pagehide', suspend);
      win.removeEventListener('pageshow', run);
    };
  }).pipe(distinctUntilChanged());
}
