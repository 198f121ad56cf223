import type { FaultRule, ReferenceBackend } from '../../src/testing';

/** The demo page's switches: what the reference backend is made to do. */
export interface SwitchState {
  /** Every request's connection is reset (the server is unreachable). */
  readonly down: boolean;
  /** Every write is answered 429 with `Retry-After` (2 s, alternately as seconds and as an HTTP-date). */
  readonly storm: boolean;
  /** Every todo update and delete is answered 409 `version_conflict` (as if someone else had changed it). */
  readonly conflicts: boolean;
  /** `POST /auth/token` refuses the refresh credential: after a token expiry the engine needs a new sign-in. */
  readonly refuseRefresh: boolean;
}

/** All switches off. */
export const SWITCHES_OFF: SwitchState = Object.freeze({ down: false, storm: false, conflicts: false, refuseRefresh: false });

const SWITCH_NAMES = Object.keys(SWITCHES_OFF) as (keyof SwitchState)[];

/** Retry-After of the 429 storm, seconds. */
export const STORM_RETRY_AFTER_S = 2;

/**
 * The switches over one backend: `set` turns a switch on or off and
 * applies the whole state to the backend's `FaultController` (the storm
 * wins over conflicts); `expireToken` makes every token issued so far
 * invalid (the next request gets 401 `token_expired`).
 *
 * @example
 * const switches = new FaultSwitches(backend);
 * switches.set({ down: true });
 */
export class FaultSwitches {
  #state: SwitchState = SWITCHES_OFF;
  #storms = 0;

  constructor(private readonly backend: ReferenceBackend) {}

  get state(): SwitchState {
    return this.#state;
  }

  /** Merge the known switches of `patch` (anything else is ignored) and apply them. */
  set(patch: Readonly<Record<string, unknown>>): SwitchState {
    const next: Record<keyof SwitchState, boolean> = { ...this.#state };
    for (const name of SWITCH_NAMES) if (typeof patch[name] === 'boolean') next[name] = patch[name] as boolean;
    this.#state = next;
    this.backend.faults.rule(this.#rule()).down(next.down);
    return next;
  }

  expireToken(): void {
    this.backend.expireTokens();
  }

  #rule(): FaultRule | undefined {
    const { storm, conflicts } = this.#state;
    if (!storm && !conflicts) return undefined;
    return (req) => {
      if (req.method === 'GET') return null;
      if (storm) {
        this.#storms += 1;
        const retryAfter = this.#storms % 2 === 0 ? STORM_RETRY_AFTER_S : { dateInMs: STORM_RETRY_AFTER_S * 1000 };
        return { kind: 'rateLimit', retryAfter };
      }
      return req.method === 'PATCH' || req.method === 'DELETE' ? { kind: 'conflict' } : null;
    };
  }
}
