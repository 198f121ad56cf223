import { el } from './dom';

/** The last lines of "what happened", newest first. */
export class ActivityLog {
  constructor(
    private readonly root: HTMLElement,
    private readonly keep = 40,
  ) {}

  readonly add = (line: string, tone: 'ok' | 'warn' | 'bad' | 'info' = 'info'): void => {
    const time = new Date().toLocaleTimeString([], { hour12: false });
    this.root.prepend(el('li', { class: tone }, el('time', {}, time), ` ${line}`));
    while (this.root.children.length > this.keep) this.root.lastElementChild?.remove();
  };
}
