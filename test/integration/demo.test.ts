/**
 * The `npm start` story, small: every phase runs (burst, offline, 429s,
 * token expiry, 500s and lost replies, SIGKILL and restart, drain) and the
 * verification holds. Progress goes to a non-TTY sink: plain lines.
 */
import { Writable } from 'node:stream';
import { DEMO_DEFAULTS, formatTable, runDemo } from '../../demo/main';

jest.setTimeout(90_000);

test('the demo story ends verified: nothing lost, nothing doubled, failures parked with reasons', async () => {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += String(chunk);
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  const result = await runDemo({ ...DEMO_DEFAULTS, ops: 300, offlineMs: 800 }, sink);

  expect(result.ok).toBe(true);
  expect(result.report).toMatchObject({ enqueued: 300, lost: [], duplicated: [], pending: [], orderViolations: [], foreignEffects: 0 });
  expect(result.offlineRequests).toBe(0);
  // The workload's own 400s and stale updates are parked with their reasons.
  expect(Object.keys(result.report.failedByReason).sort()).toEqual(expect.arrayContaining(['permanent']));
  expect(result.failed.every((f) => f.reason.length > 0)).toBe(true);
  // The story's faults really happened and were survived.
  expect(result.server.faults).toMatchObject({ rateLimit: 3, commitThenDrop: 2, reset: 1, status: 4 });
  expect(result.retryAfterWaits).toBeGreaterThanOrEqual(3);
  expect(result.tokenRefreshes).toBeGreaterThanOrEqual(1);
  expect(result.server.replays).toBeGreaterThanOrEqual(2);
  expect(result.recovery?.spawnToCommitMs).toEqual(expect.any(Number));

  for (const phase of ['online burst', 'offline', '429 storm', 'token expiry', '500s + lost replies', 'crash', 'restart', 'drain']) {
    expect(out).toContain(`» ${phase}\n`);
  }
  expect(out).not.toContain('\r');
  const table = formatTable(result);
  expect(table).toContain('VERIFIED');
  expect(table).toMatch(/duplicates \(must be 0\)\s+0\s+ok/);
  expect(table).toMatch(/lost \(must be 0\)\s+0\s+ok/);
});
