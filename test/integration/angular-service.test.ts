/**
 * The Angular example runs: `examples/angular/sync-engine.service.ts`,
 * created by Angular's injector (JIT, zoneless), against the reference
 * backend on 127.0.0.1, its status and optimistic state read as Angular
 * signals (`toSignal`) and as observables. Angular 20 is ES modules only and
 * jest runs CommonJS, so the story runs in its own node process
 * (`angular-service-entry.ts`, bundled by esbuild as an app's bundler would)
 * and this test checks its report.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { ServiceReport, ServiceStep } from './angular-service-entry';

jest.setTimeout(120_000);

const runEntry = async (): Promise<ServiceReport> => {
  const dir = mkdtempSync(join(tmpdir(), 'sync-engine-angular-'));
  try {
    const outfile = join(dir, 'angular-service.js');
    await build({
      entryPoints: [join(__dirname, 'angular-service-entry.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile,
      tsconfig: join(__dirname, '../../tsconfig.json'), // experimentalDecorators, as the Angular CLI sets it
      logLevel: 'silent',
    });
    const stdout = await new Promise<string>((resolve, reject) => {
      // The story guards each wait itself; this only stops a process that hangs anyway.
      execFile(process.execPath, [outfile], { encoding: 'utf8', timeout: 100_000 }, (err, out, stderr) =>
        err ? reject(new Error(`the Angular story failed: ${stderr || err.message}`)) : resolve(out),
      );
    });
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as ServiceReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

describe('examples/angular: SyncEngineService in Angular’s injector against the reference backend', () => {
  let report: ServiceReport;
  const at = (name: string): ServiceStep => {
    const step = report.steps.find((s) => s.step === name);
    if (!step) throw new Error(`no step "${name}" in the report`);
    return step;
  };

  beforeAll(async () => {
    report = await runEntry();
  });

  it('walks every step of the story', () => {
    expect(report.steps.map((s) => s.step)).toEqual([
      'created offline',
      'added: same tick',
      'added: queued while offline',
      'committed',
      'toggled: same tick',
      'toggle committed',
      'refused: same tick',
      'rolled back',
    ]);
  });

  it('every signal holds what its observable holds at the same moment', () => {
    for (const s of report.steps) {
      expect({ step: s.step, status: s.status, todos: s.todos, label: s.label }).toEqual({
        step: s.step,
        ...s.observed,
      });
    }
  });

  it('the status signal follows the queue: pending 0 → 1 while offline → 0 once committed', () => {
    expect(at('created offline').status).toMatchObject({ online: false, processing: false, pending: 0 });
    expect(at('created offline').label).toBe('Offline');
    expect(at('added: queued while offline').status).toMatchObject({ pending: 1, processing: false });
    expect(at('added: queued while offline').status.blockedBy).toContain('offline');
    expect(at('added: queued while offline').pending).toEqual(['queued']);
    expect(at('committed').status).toEqual({ online: true, processing: true, pending: 0, failed: 0, blockedBy: [] });
    expect(at('committed').label).toBe('Saved');
  });

  it('the optimistic state signal shows a change in the same tick, then the server’s data after the commit', () => {
    expect(at('added: same tick').todos).toEqual([{ id: 'milk', title: 'Buy milk', done: false }]);
    expect(at('added: same tick').pending).toEqual(['saving']);
    expect(at('added: same tick').summary).toBe('1 todo(s), Offline');
    expect(at('committed').todos).toEqual([{ id: 'milk', title: 'Buy milk', done: false, version: 1 }]);
    expect(at('committed').pending).toEqual([]);
    expect(at('toggled: same tick').todos).toEqual([{ id: 'milk', title: 'Buy milk', done: true, version: 1 }]);
    expect(at('toggle committed').todos).toEqual([{ id: 'milk', title: 'Buy milk', done: true, version: 2 }]);
  });

  it('a change the server refuses (400) shows at once, then rolls back in the signals with the user message', () => {
    expect(at('refused: same tick').todos).toEqual([
      { id: 'milk', title: 'Buy milk', done: true, version: 2 },
      { id: 'bad id!', title: 'Refused by the server', done: false },
    ]);
    expect(at('refused: same tick').lastRollback).toBeUndefined();
    const rolledBack = at('rolled back');
    expect(rolledBack.todos).toEqual([{ id: 'milk', title: 'Buy milk', done: true, version: 2 }]);
    expect(rolledBack.summary).toBe('1 todo(s), Saved');
    expect(rolledBack.lastRollback).toBe('The server rejected this change. It was not saved.');
    expect(rolledBack.status).toMatchObject({ pending: 0, failed: 1 });
    expect(rolledBack.failed).toBe(1);
    expect(rolledBack.pending).toEqual([]);
  });

  it('the server applied the create and the toggle once each and never the refused change; destroying the injector stops the engine', () => {
    expect(report.applied).toEqual(['milk', 'milk']);
    expect(report.afterDestroy).toEqual({ processing: false, blockedBy: ['stopped'] });
  });
});
