import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { vmRun } from '../kernel/vm.ts';
import type { ConformanceReport } from './conformance-report.ts';

const SCRIPT = fileURLToPath(new URL('./kernel-conformance.ts', import.meta.url));
const CHECKOUT = fileURLToPath(new URL('../..', import.meta.url));

describe('IPVS client against the real kernel', () => {
  let report: ConformanceReport;
  beforeAll(async () => {
    // One job for every case: a node process costs seconds under TCG.
    const r = await vmRun(['node', '--import', 'tsx', SCRIPT], { cwd: CHECKOUT, timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    report = JSON.parse(r.stdout) as ConformanceReport;
  });

  it('finds the IPVS family and every scheduler module the kernel ships', () => {
    expect(report.available).toEqual({ ok: true });
    expect(report.schedulers).toEqual(expect.arrayContaining(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh']));
  });

  it('programs the same table as ipvsadm -R of the equivalent rules, from empty and after each change', () => {
    for (const step of report.steps) {
      expect.soft(step.failed, step.name).toEqual([]);
      expect.soft(step.ours.save, step.name).toEqual(step.reference.save);
      expect.soft(step.ours.thresholds, step.name).toEqual(step.reference.thresholds);
      expect.soft(step.dumpEqualsWanted, step.name).toBe(true);
      expect.soft(step.remaining, step.name).toBe(0);
    }
    expect(report.steps.length).toBeGreaterThan(10);
  });

  it('changes the kernel with the fewest requests: one per changed entry, one for a weight', () => {
    for (const step of report.steps.filter((s) => s.expectedOps !== null)) {
      expect.soft(step.ops.length, step.name).toBe(step.expectedOps);
      expect.soft(step.requests, step.name).toBe(step.expectedOps);
      // A service that only changes is edited, never deleted and re-created.
      if (step.name !== 'remove a service') expect.soft(step.ops, step.name).not.toContain('del-service');
    }
    expect(report.steps.find((s) => s.name === 'one weight')?.ops).toEqual(['edit-dest']);
  });

  it('leaves an unrelated service alone and corrects an owned one in place', () => {
    const p = report.preexisting;
    expect(p.unrelatedAfter).toEqual(p.unrelatedBefore);
    expect(p.unrelatedBefore.length).toBe(2);
    expect(p.ops).toEqual(['edit-service', 'edit-dest']);
    expect(p.ours).toEqual(p.expected);
    expect(p.failed).toEqual([]);
    expect(p.remaining).toBe(0);
  });

  it('reports a refused entry by name and still applies the others', () => {
    const { results, table, expected } = report.badEntry;
    expect(results).toEqual([
      'ok',
      'ok',
      { code: 'ENOENT', message: expect.stringContaining('add-service inet tcp [10.0.0.2]:80') },
      { code: 'ESRCH', message: expect.stringContaining('add-dest [192.168.0.2]:80 of inet tcp [10.0.0.2]:80') },
      'ok',
      'ok',
    ]);
    expect(table).toEqual(expected);
  });

  it('starts and stops the connection sync daemon', () => {
    const d = report.syncDaemon;
    expect(d.started).toEqual(['ok']);
    expect(d.running).toEqual([d.expected]);
    expect(d.ipvsadmView).toMatch(/master sync daemon \(mcast=lo, syncid=7, maxlen=1400, group=224\.0\.0\.81, port=8848, ttl=2\)/);
    expect(d.stopped).toEqual(['ok']);
    expect(d.after).toEqual([]);
  });
});
