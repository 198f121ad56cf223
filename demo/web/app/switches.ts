import type { BehaviorSubject } from 'rxjs';
import { byId } from './dom';

/** The backend switches, as `demo/web/fault-switches.ts` names them. */
const BACKEND_SWITCHES = ['down', 'storm', 'conflicts', 'refuseRefresh'] as const;

async function postSwitches(patch: Record<string, boolean>): Promise<Record<string, boolean>> {
  const res = await fetch('/demo/switches', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) });
  return (await res.json()) as Record<string, boolean>;
}

/**
 * Wire the "make things go wrong" panel: each backend switch (`#sw-down`,
 * `#sw-storm`, `#sw-conflicts`, `#sw-refuseRefresh`) posts to the demo
 * server; `#sw-offline` takes this tab offline for the engine (as the
 * browser's `offline` event would); `#expire-token` makes the server
 * refuse every token issued so far.
 */
export async function wireSwitches(tabOnline$: BehaviorSubject<boolean>, log: (line: string) => void): Promise<void> {
  const show = (state: Record<string, boolean>): void => {
    for (const name of BACKEND_SWITCHES) byId<HTMLInputElement>(`sw-${name}`).checked = state[name] === true;
  };
  // Read once at load: the switches are the server's, shared by every tab (a reload shows the current state).
  show((await (await fetch('/demo/switches')).json()) as Record<string, boolean>);
  for (const name of BACKEND_SWITCHES) {
    const box = byId<HTMLInputElement>(`sw-${name}`);
    box.addEventListener('change', () => {
      void postSwitches({ [name]: box.checked }).then(show);
      log(`switch: ${box.dataset.label ?? name} ${box.checked ? 'on' : 'off'}`);
    });
  }
  const offline = byId<HTMLInputElement>('sw-offline');
  offline.addEventListener('change', () => {
    tabOnline$.next(!offline.checked);
    log(`switch: this tab ${offline.checked ? 'offline' : 'online'}`);
  });
  byId('expire-token').addEventListener('click', () => {
    void fetch('/demo/expire-token', { method: 'POST' });
    log('server: every token issued so far is now expired');
  });
}
