/** Attributes of `el`: strings become attributes, functions `on…` listeners, `null`/`false` are left out. */
export type Attrs = Readonly<Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>>;

/**
 * A DOM element in one expression (the page's only "framework").
 *
 * @example
 * el('button', { class: 'small', onclick: () => retry(id) }, 'Retry');
 */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, '');
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
  }
  node.append(...children);
  return node;
}

/** The element with this id (the page's skeleton is in index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`index.html has no #${id}`);
  return node as T;
}

/** A short, readable form of a UUID (its last 6 hex digits). */
export const short = (id: string): string => id.slice(-6);

/** "in 3 s" / "now" for an epoch-ms time. */
export function fromNow(at: number, now: number): string {
  const s = Math.ceil((at - now) / 1000);
  return s <= 0 ? 'now' : `in ${s} s`;
}
