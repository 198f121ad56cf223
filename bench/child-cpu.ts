import { readFileSync, readdirSync } from 'node:fs';

/** Linux's clock ticks per second for `/proc/<pid>/stat` times (`getconf CLK_TCK`: 100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system) spent so far by every process this one started,
 * and theirs in turn — for the browser benches, Chromium's browser,
 * renderer, GPU and utility processes — in ms; undefined off Linux (no
 * `/proc`). A process that exited is no longer counted: take both readings
 * while the browser runs.
 *
 * On a box whose cores are shared, wall-clock rates move with the other
 * tenants' load; the CPU a drain costs per op moves far less, so the
 * benches print it beside the rates.
 *
 * @example
 * const before = childCpuMs();
 * await drain();
 * const perOpMs = (childCpuMs()! - before!) / ops;
 */
export function childCpuMs(root = process.pid): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    try {
      // After the command name (which may hold spaces and parentheses): state, ppid, … utime (14th field), stime (15th).
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(pid), Number(f[1]));
      ticks.set(Number(pid), Number(f[11]) + Number(f[12]));
    } catch {
      // Gone meanwhile.
    }
  }
  let total = 0;
  for (const [pid, t] of ticks) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        total += t;
        break;
      }
    }
  }
  return (total * 1000) / TICKS_PER_SECOND;
}
