import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeferredLog } from '../../src/daemon/log.ts';

function collector(): { lines: () => Record<string, unknown>[]; write: (chunk: string) => void } {
  const chunks: string[] = [];
  return {
    write: (chunk) => void chunks.push(chunk),
    lines: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('the daemon log before and after pino loads', () => {
  it('writes what was logged before pino loaded, in order, with the time it was logged, then writes straight through', async () => {
    const out = collector();
    const log = new DeferredLog('info', out);
    const before = Date.now();
    log.warn('first');
    log.debug('dropped at level info');
    log.error({ left: 3 }, 'second');
    await sleep(50);
    expect(out.lines()).toEqual([]);
    await log.pino();
    log.info('third');
    const lines = out.lines();
    expect(lines.map((l) => [l.level, l.msg, l.left])).toEqual([
      [40, 'first', undefined],
      [50, 'second', 3],
      [30, 'third', undefined],
    ]);
    expect(lines[0]!.time as number).toBeGreaterThanOrEqual(before);
    expect(lines[0]!.time as number).toBeLessThan(before + 50);
    expect(lines[2]!.time as number).toBeGreaterThanOrEqual(before + 50);
    expect(lines.every((l) => l.pid === process.pid)).toBe(true);
  });

  it('answers isLevelEnabled the same before and after, and loads pino once', async () => {
    const log = new DeferredLog('info', collector());
    const asked = () => ['debug', 'info', 'warn', 'error'].map((level) => log.isLevelEnabled(level));
    const held = asked();
    const [a, b] = await Promise.all([log.pino(), log.pino()]);
    expect(a).toBe(b);
    expect(asked()).toEqual(held);
    expect(held).toEqual([false, true, true, true]);
    expect(new DeferredLog('debug', collector()).isLevelEnabled('debug')).toBe(true);
  });
});
