import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import { generatedLvsCase, generatedLvsCases, REAL_SERVER_KEYWORDS, timingDependence, VIRTUAL_SERVER_KEYWORDS } from './generated-lvs.ts';

// The generator behind the generated conformance cases (run against keepalived in the kernel VM):
// it must reach every keyword it claims, and only write configurations that both daemons accept.

const SWEEP = Array.from({ length: 300 }, (_, i) => generatedLvsCase(i + 1));

/** Keywords written at the start of a line inside a virtual_server (two spaces) or a real_server (four). */
function keywordsAt(indent: string): Set<string> {
  const found = new Set<string>();
  for (const { config } of SWEEP) {
    for (const line of config.split('\n')) {
      const match = new RegExp(`^${indent}([a-z_0-9-]+)`).exec(line);
      if (match && line[indent.length] !== ' ') found.add(match[1]!);
    }
  }
  return found;
}

describe('generated virtual_server conformance cases', () => {
  it('set every keyword of keepalived 2.2.7 they claim, at both levels, in a 300-seed sweep', () => {
    const virtualLevel = keywordsAt('  ');
    const realLevel = keywordsAt('    ');
    expect(VIRTUAL_SERVER_KEYWORDS.generated.filter((k) => !virtualLevel.has(k))).toEqual([]);
    expect(REAL_SERVER_KEYWORDS.generated.filter((k) => !realLevel.has(k))).toEqual([]);
  });

  it('are the same case for the same seed, and parse without an error', () => {
    expect(generatedLvsCase(7)).toEqual(generatedLvsCase(7));
    for (const testCase of SWEEP) {
      const result = parseConfigText(testCase.config, '/etc/keepalived/keepalived.conf', () => '', () => [], { hostname: 'director' });
      expect(result.ok ? [] : result.errors.map((e) => e.message), testCase.config).toEqual([]);
    }
  });

  it('take their seeds from LVSD_GENERATED_SEEDS when it is set', () => {
    expect(generatedLvsCases(2, '').map((c) => c.name)).toEqual(['generated virtual_server settings (seed 1)', 'generated virtual_server settings (seed 2)']);
    expect(generatedLvsCases(13, '').map((c) => c.name)).not.toContain('generated virtual_server settings (seed 12)');
    expect(generatedLvsCases(13, '12').map((c) => c.name)).toEqual(['generated virtual_server settings (seed 12)']);
    expect(generatedLvsCases(2, '5-6,9').map((c) => c.name)).toEqual([5, 6, 9].map((seed) => `generated virtual_server settings (seed ${seed})`));
  });

  it('leave out the seeds whose tables depend on timing: a quorum reduced to 0, alpha real servers first checked anywhere in a long warmup, and stopped ones whose next check may miss the snapshot', () => {
    const seeds = generatedLvsCases(26, '').map((c) => Number(/seed (\d+)/.exec(c.name)![1]));
    expect(seeds).toEqual(Array.from({ length: 26 }, (_, i) => i + 1).filter((seed) => ![7, 9, 12, 19, 22, 24, 26].includes(seed)));
    expect(timingDependence(7)).toBe('alpha with a first check anywhere in its warmup: 10.1.0.2:80');
    expect(timingDependence(19)).toBe('a stopped real server whose next check may or may not come before the snapshot: fd00:1::1');
    expect(timingDependence(5)).toBeUndefined();
  });
});
