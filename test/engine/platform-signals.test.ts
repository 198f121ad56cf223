import { EventEmitter } from 'node:events';
import { firstValueFrom } from 'rxjs';
import { platformConstraints$, platformOnline$, platformSuspended$, type PowerConstraints } from '../../src/engine/platform-signals';

/** Install browser-like globals for one test and remove them after. */
function withGlobals(globals: Record<string, unknown>): () => void {
  const g = globalThis as Record<string, unknown>;
  const before = Object.keys(globals).map((k) => [k, Object.getOwnPropertyDescriptor(g, k)] as const);
  for (const [k, v] of Object.entries(globals)) Object.defineProperty(g, k, { value: v, configurable: true, writable: true });
  return () => {
    for (const [k, d] of before) {
      if (d) Object.defineProperty(g, k, d);
      else delete g[k];
    }
  };
}

/** A minimal EventTarget on an EventEmitter (addEventListener / removeEventListener). */
function target<T extends object>(props: T) {
  const e = new EventEmitter();
  return Object.assign(props, {
    addEventListener: (type: string, fn: () => void) => e.on(type, fn),
    removeEventListener: (type: string, fn: () => void) => e.off(type, fn),
    dispatch: (type: string) => e.emit(type),
    listeners: (type: string) => e.listenerCount(type),
  });
}

describe('platformOnline$', () => {
  test('is always online without navigator.onLine (Node)', async () => {
    expect(await firstValueFrom(platformOnline$())).toBe(true);
  });

  test('follows navigator.onLine and the window online/offline events, and removes its listeners', () => {
    const nav = { onLine: false };
    const win = target({});
    const restore = withGlobals({ navigator: nav, addEventListener: win.addEventListener, removeEventListener: win.removeEventListener });
    try {
      const seen: boolean[] = [];
      const sub = platformOnline$().subscribe((v) => seen.push(v));
      nav.onLine = true;
      win.dispatch('online');
      win.dispatch('online');
      nav.onLine = false;
      win.dispatch('offline');
      expect(seen).toEqual([false, true, false]);
      sub.unsubscribe();
      expect(win.listeners('online') + win.listeners('offline')).toBe(0);
    } finally {
      restore();
    }
  });
});

describe('platformConstraints$', () => {
  test('is neither saving power nor hidden without the APIs (Node)', async () => {
    expect(await firstValueFrom(platformConstraints$())).toEqual({ powerSaving: false, visible: true });
  });

  test('follows the Page Visibility API and a discharging low battery', async () => {
    const doc = target({ visibilityState: 'visible' });
    const battery = target({ charging: true, level: 0.1 });
    const restore = withGlobals({ document: doc, navigator: { getBattery: async () => battery } });
    try {
      const seen: PowerConstraints[] = [];
      const sub = platformConstraints$().subscribe((v) => seen.push(v));
      doc.visibilityState = 'hidden';
      doc.dispatch('visibilitychange');
      await Promise.resolve();
      await Promise.resolve();
      battery.charging = false;
      battery.dispatch('chargingchange');
      sub.unsubscribe();
      expect(seen).toEqual([
        { powerSaving: false, visible: true },
        { powerSaving: false, visible: false },
        { powerSaving: true, visible: false },
      ]);
      expect(doc.listeners('visibilitychange') + battery.listeners('chargingchange') + battery.listeners('levelchange')).toBe(0);
    } finally {
      restore();
    }
  });
});

describe('platformSuspended$', () => {
  test('is never suspended without a document (Node)', async () => {
    expect(await firstValueFrom(platformSuspended$())).toBe(false);
  });

  test('follows the Page Lifecycle: freeze/resume on the document, pagehide/pageshow on the window; removes its listeners', () => {
    const doc = target({ visibilityState: 'visible' });
    const win = target({});
    const restore = withGlobals({ document: doc, addEventListener: win.addEventListener, removeEventListener: win.removeEventListener });
    try {
      const seen: boolean[] = [];
      const sub = platformSuspended$().subscribe((v) => seen.push(v));
      doc.dispatch('freeze');
      doc.dispatch('freeze');
      doc.dispatch('resume');
      win.dispatch('pagehide');
      win.dispatch('pageshow');
      expect(seen).toEqual([false, true, false, true, false]);
      sub.unsubscribe();
      expect(doc.listeners('freeze') + doc.listeners('resume') + win.listeners('pagehide') + win.listeners('pageshow')).toBe(0);
    } finally {
      restore();
    }
  });
});
