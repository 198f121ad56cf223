/** What the live line shows. */
export interface ProgressState {
  readonly phase: string;
  readonly total: number;
  readonly enqueued: number;
  readonly applied: number;
  readonly pending: number;
  readonly failed: number;
  readonly retries: number;
  readonly elapsedMs: number;
}

export interface ProgressDisplay {
  update(s: ProgressState): void;
  /** Announce a phase change (a line of its own when not a TTY). */
  phase(name: string): void;
  /** Finish the live line. Idempotent. */
  done(): void;
}

/** Render one progress line (pure, for tests). `width` is the bar width. */
export function renderLine(s: ProgressState, width = 24): string {
  const settled = Math.min(s.total, s.applied + s.failed);
  const frac = s.total === 0 ? 1 : settled / s.total;
  const filled = Math.round(frac * width);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  return `${bar} ${pct}  ${s.phase.padEnd(19)} pending ${String(s.pending).padStart(5)}  sent ${String(s.applied).padStart(5)}  retries ${String(s.retries).padStart(4)}  failed ${String(s.failed).padStart(3)}  ${(s.elapsedMs / 1000).toFixed(1).padStart(5)} s`;
}

/**
 * A TTY gets one line redrawn in place (`\r`, clear to end of line); a pipe
 * or CI log gets a plain line per phase change and at most one per second.
 */
export function createProgressDisplay(out: NodeJS.WriteStream): ProgressDisplay {
  const tty = out.isTTY === true;
  let last: ProgressState | undefined;
  let lastPlainAt = 0;
  let finished = false;
  let drawn = false;
  return {
    update(s) {
      if (finished) return;
      last = s;
      if (tty) {
        out.write(`\r${renderLine(s)}\x1b[K`);
        drawn = true;
      } else if (s.elapsedMs - lastPlainAt >= 1000) {
        lastPlainAt = s.elapsedMs;
        out.write(`${renderLine(s, 10)}\n`);
      }
    },
    phase(name) {
      if (finished) return;
      if (tty) {
        if (drawn) out.write('\n');
        drawn = false;
        out.write(`» ${name}\n`);
        if (last) out.write(`\r${renderLine({ ...last, phase: name })}\x1b[K`);
        drawn = last !== undefined;
      } else out.write(`» ${name}\n`);
    },
    done() {
      if (finished) return;
      finished = true;
      if (tty && drawn) out.write('\n');
    },
  };
}
