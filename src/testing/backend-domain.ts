import { HttpAnswer, errorAnswer as error } from './http-answer';

/** The two resources the reference backend serves. */
export type ResourceName = 'todos' | 'contacts';

/** One applied effect, in the order the server committed them. */
export interface AppliedEffect {
  /** 1-based commit order over the whole server. */
  readonly seq: number;
  readonly idempotencyKey: string;
  readonly resource: ResourceName;
  readonly id: string;
  readonly action: 'create' | 'update' | 'delete';
  /** Server clock at commit (epoch ms). */
  readonly at: number;
  /** `Trace-Id` of the request, if any (never the payload). */
  readonly traceId?: string;
  /** `sub` of the request's token: the identity it was applied under. */
  readonly subject?: string;
}

/** Who asked for an effect: the request's trace id and token subject. */
export type EffectMeta = Pick<AppliedEffect, 'traceId' | 'subject'>;

export interface Todo {
  readonly id: string;
  readonly title: string;
  readonly done: boolean;
  readonly version: number;
}

export interface Contact {
  readonly id: string;
  readonly name: string;
  readonly email: string | null;
  readonly version: number;
}

type Entity = Todo | Contact;
type Body = Record<string, unknown>;

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const isObj = (b: unknown): b is Body => typeof b === 'object' && b !== null && !Array.isArray(b);

function validateFields(resource: ResourceName, body: Body, creating: boolean): string | null {
  if (resource === 'todos') {
    if (creating || 'title' in body) {
      if (typeof body.title !== 'string' || body.title.trim().length === 0 || body.title.length > 200) {
        return 'title: expected a non-empty string of at most 200 characters';
      }
    }
    if ('done' in body && typeof body.done !== 'boolean') return 'done: expected boolean';
  } else {
    if (creating || 'name' in body) {
      if (typeof body.name !== 'string' || body.name.trim().length === 0 || body.name.length > 100) {
        return 'name: expected a non-empty string of at most 100 characters';
      }
    }
    if ('email' in body && body.email !== null && (typeof body.email !== 'string' || !EMAIL_RE.test(body.email))) {
      return 'email: expected an email address or null';
    }
  }
  if ('ifVersion' in body && (typeof body.ifVersion !== 'number' || !Number.isInteger(body.ifVersion))) {
    return 'ifVersion: expected integer';
  }
  return null;
}

function created(resource: ResourceName, body: Body & { id: string }): Entity {
  return resource === 'todos'
    ? { id: body.id, title: body.title as string, done: (body.done as boolean | undefined) ?? false, version: 1 }
    : { id: body.id, name: body.name as string, email: (body.email as string | null | undefined) ?? null, version: 1 };
}

function updated(resource: ResourceName, current: Entity, body: Body): Entity {
  return resource === 'todos'
    ? {
        ...(current as Todo),
        ...(typeof body.title === 'string' ? { title: body.title } : {}),
        ...(typeof body.done === 'boolean' ? { done: body.done } : {}),
        version: current.version + 1,
      }
    : {
        ...(current as Contact),
        ...(typeof body.name === 'string' ? { name: body.name } : {}),
        ...('email' in body ? { email: body.email as string | null } : {}),
        version: current.version + 1,
      };
}

/**
 * The reference backend's domain: `todos` and `contacts` in memory, the
 * validation and version rules of `docs/api_envelope.md`, and a log of every
 * applied effect with its idempotency key (so a test can assert "applied
 * exactly once"). Knows nothing of HTTP or idempotency keys' lifecycle.
 */
export class BackendDomain {
  #todos = new Map<string, Todo>();
  #contacts = new Map<string, Contact>();
  #effects = new Map<string, number>();
  #log: AppliedEffect[] = [];
  #byEntity = new Map<string, AppliedEffect[]>();
  readonly #listeners = new Set<(effect: AppliedEffect) => void>();

  constructor(private readonly now: () => number) {}

  #table(resource: ResourceName): Map<string, Entity> {
    return (resource === 'todos' ? this.#todos : this.#contacts) as Map<string, Entity>;
  }

  /** Apply a POST/PATCH/PUT/DELETE; every 2xx records one effect under `key`. */
  mutate(method: string, resource: ResourceName, id: string | undefined, body: unknown, key: string, who: EffectMeta = {}): HttpAnswer {
    const table = this.#table(resource);
    if (method === 'POST' && id === undefined) {
      if (!isObj(body)) return error(400, 'bad_request', 'body must be a JSON object');
      if (typeof body.id !== 'string' || !ID_RE.test(body.id)) return error(400, 'bad_request', 'id: expected [A-Za-z0-9_-]{1,64}');
      const bad = validateFields(resource, body, true);
      if (bad) return error(400, 'bad_request', bad);
      if (table.has(body.id)) return error(409, 'already_exists', 'entity already exists', { id: body.id });
      const entity = created(resource, body as Body & { id: string });
      table.set(entity.id, entity);
      this.#record(key, resource, entity.id, 'create', who);
      return new HttpAnswer(201, { data: entity });
    }
    if (id === undefined || !ID_RE.test(id)) return error(404, 'not_found', 'no such entity');
    const current = table.get(id);
    if (!current) return error(404, 'not_found', 'no such entity');
    if (method === 'PATCH' || method === 'PUT') {
      if (!isObj(body)) return error(400, 'bad_request', 'body must be a JSON object');
      const bad = validateFields(resource, body, false);
      if (bad) return error(400, 'bad_request', bad);
      if (typeof body.ifVersion === 'number' && body.ifVersion !== current.version) {
        return error(409, 'version_conflict', 'entity changed on the server', { currentVersion: current.version });
      }
      const next = updated(resource, current, body);
      table.set(id, next);
      this.#record(key, resource, id, 'update', who);
      return new HttpAnswer(200, { data: next });
    }
    if (method === 'DELETE') {
      table.delete(id);
      this.#record(key, resource, id, 'delete', who);
      return new HttpAnswer(200, { data: { id, deleted: true } });
    }
    return error(405, 'method_not_allowed', 'method not allowed');
  }

  /** `GET /:resource` (every entity) or `GET /:resource/:id`. */
  read(resource: ResourceName, id: string | undefined): HttpAnswer {
    if (id === undefined) return new HttpAnswer(200, { data: [...this.#table(resource).values()] });
    const e = this.#table(resource).get(id);
    return e ? new HttpAnswer(200, { data: e }) : error(404, 'not_found', 'no such entity');
  }

  entity(resource: ResourceName, id: string): Entity | undefined {
    return this.#table(resource).get(id);
  }

  effects(key: string): number {
    return this.#effects.get(key) ?? 0;
  }

  effectsByKey(): ReadonlyMap<string, number> {
    return new Map(this.#effects);
  }

  applied(): readonly AppliedEffect[] {
    return this.#log.slice();
  }

  appliedCount(): number {
    return this.#log.length;
  }

  entityLog(resource: ResourceName, id: string): readonly AppliedEffect[] {
    return (this.#byEntity.get(`${resource}/${id}`) ?? []).slice();
  }

  onEffect(listener: (effect: AppliedEffect) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Drop all data and logs (listeners stay). */
  reset(): void {
    this.#todos = new Map();
    this.#contacts = new Map();
    this.#effects = new Map();
    this.#log = [];
    this.#byEntity = new Map();
  }

  #record(key: string, resource: ResourceName, id: string, action: AppliedEffect['action'], who: EffectMeta): void {
    const e: AppliedEffect = { seq: this.#log.length + 1, idempotencyKey: key, resource, id, action, at: this.now(), ...who };
    this.#log.push(e);
    this.#effects.set(key, (this.#effects.get(key) ?? 0) + 1);
    const ek = `${resource}/${id}`;
    const list = this.#byEntity.get(ek);
    if (list) list.push(e);
    else this.#byEntity.set(ek, [e]);
    for (const l of [...this.#listeners]) {
      try {
        l(e);
      } catch {
        // A listener's failure must not change what the server answers.
      }
    }
  }
}
