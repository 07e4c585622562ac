import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatRules, parseRules } from '../../src/ipvs/ipvsadm.ts';
import { normalizeTable } from '../../src/ipvs/model.ts';
import { sharedVm } from '../kernel/vm.ts';
import { CASES, sampleCases, type ConformanceCase } from './cases.ts';
import { generatedCheckerCases } from './generated-checkers.ts';
import { generatedLvsCases } from './generated-lvs.ts';

const RUN_CASE = fileURLToPath(new URL('./run-case.mjs', import.meta.url));
/** Generated virtual_server cases in every run (generated-lvs.ts); a larger sweep: LVSD_GENERATED_SEEDS=1-300. */
const GENERATED_IN_CI = 26;
/**
 * Generated checker cases in every run (generated-checkers.ts): each runs up to a dozen listeners (4 at the median)
 * beside both daemons on the emulated CPU. A sweep: LVSD_GENERATED_CHECKER_SEEDS=1-300.
 */
const GENERATED_CHECKERS_IN_CI = 4;

interface CaseOutcome {
  snapshots: Record<string, string>;
  exitCode?: number | null;
  events: string[];
  /** exec until the daemon's first entry was in the table */
  programmedMs?: number;
  log?: string;
  error?: string;
}

/** ipvsadm lists destinations in insertion order; the order two daemons add them in is not behaviour. */
function normalized(rules: string): string {
  return formatRules(normalizeTable(parseRules(rules)));
}

async function runWith(daemon: 'keepalived' | 'lvsd', testCase: ConformanceCase): Promise<CaseOutcome> {
  const vm = await sharedVm();
  const dir = vm.scratchDir();
  const caseFile = join(dir, 'case.json');
  const outFile = join(dir, `${daemon}.json`);
  writeFileSync(caseFile, JSON.stringify(testCase));
  const job = await vm.run(['node', RUN_CASE, caseFile, daemon, outFile], { timeoutMs: 150_000 });
  try {
    return JSON.parse(readFileSync(outFile, 'utf8')) as CaseOutcome;
  } catch {
    throw new Error(`${daemon} run of ${testCase.name} left no result: ${job.stderr}${job.stdout}`);
  }
}

// Each case runs once with keepalived 2.2.7 and once with lvsd, in two network namespaces of the
// same kernel VM at the same time; every snapshot of `ipvsadm -S -n` must be identical.
describe.concurrent('lvsd leaves IPVS as keepalived does', () => {
  const startTimes: Record<'keepalived' | 'lvsd', number[]> = { keepalived: [], lvsd: [] };
  afterAll(() => {
    // How late each daemon starts with the suite's load on the VM: the numbers behind the timing.
    const summary = (times: number[]) => {
      const sorted = [...times].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${sorted.at(-1)} ms`;
    };
    console.log(`exec to first IPVS entry under the suite's load: keepalived ${summary(startTimes.keepalived)}; lvsd ${summary(startTimes.lvsd)}`);
  });
  const samples = sampleCases();
  if (samples.length === 0) it.skip('Debian keepalived samples: not installed (apt-get install keepalived)', () => {});
  for (const testCase of [...CASES, ...samples, ...generatedLvsCases(GENERATED_IN_CI), ...generatedCheckerCases(GENERATED_CHECKERS_IN_CI)]) {
    it(testCase.name, async () => {
      const [keepalived, lvsd] = await Promise.all([runWith('keepalived', testCase), runWith('lvsd', testCase)]);
      if (keepalived.programmedMs !== undefined) startTimes.keepalived.push(keepalived.programmedMs);
      if (lvsd.programmedMs !== undefined) startTimes.lvsd.push(lvsd.programmedMs);
      expect(keepalived.error, `keepalived run failed: ${keepalived.error}`).toBeUndefined();
      expect(lvsd.error, `lvsd run failed: ${lvsd.error}\n${lvsd.log}`).toBeUndefined();
      expect(lvsd.events, lvsd.log).toEqual([]);
      for (const label of Object.keys(keepalived.snapshots)) {
        const ours = normalized(lvsd.snapshots[label] ?? '');
        const expected = testCase.deliberate?.expect?.[label];
        const sameAs = testCase.deliberate?.sameAs?.[label];
        const theirs = normalized(keepalived.snapshots[label] ?? '');
        const context = `after ${label}${testCase.deliberate ? ` (deliberately not keepalived's:\n${theirs})` : ''}\n--- lvsd log ---\n${lvsd.log}`;
        if (expected !== undefined) expect(ours, context).toBe(normalized(expected));
        else if (sameAs !== undefined) expect(ours, context).toBe(normalized(lvsd.snapshots[sameAs] ?? ''));
        else expect(ours, context).toBe(theirs);
      }
      expect(lvsd.exitCode).toBe(0);
    });
  }
});
