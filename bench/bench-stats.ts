/**
 * What the benches share to sum up samples and print them: medians,
 * spreads, quantiles, and the Markdown table every bench prints.
 */

/** The middle sample (the upper one of an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** `min–max` of `xs`, with `digits` decimals. */
export const spread = (xs: readonly number[], digits: number): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${(s[0] as number).toFixed(digits)}–${(s[s.length - 1] as number).toFixed(digits)}`;
};

/** The sample at rank `floor(q × n)` of the sorted `xs` (`q` in [0, 1]); NaN for none. */
export const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

/** `v` milliseconds, with `digits` decimals. */
export const ms = (v: number, digits = 1): string => `${v.toFixed(digits)} ms`;

/** How `v` stands against an upper-bound `goal`: `0.42× of goal (met)`. */
export const ofGoal = (v: number, goal: number): string => `${(v / goal).toFixed(2)}× of goal ${v < goal ? '(met)' : '(MISSED)'}`;

/**
 * Print `rows` (the first is the header) as a Markdown table, columns padded.
 *
 * @example
 * printTable([['row', 'value'], ['drain', '1 200 ops/s']]);
 */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]): string => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  console.log(line(rows[0]!));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
}
