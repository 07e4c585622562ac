import { describe, expect, it } from 'vitest';
import {
  applyProbeResult,
  initialHealth,
  type CheckerTiming,
  type ProbeResult,
  type RealServerHealth,
} from '../../src/healthcheck/state.ts';

const timing: CheckerTiming = { delayLoopMs: 6000, retry: 2, delayBeforeRetryMs: 1000, alpha: false };
const ok: ProbeResult = { ok: true, latencyMs: 3 };
const fail: ProbeResult = { ok: false, latencyMs: 5, reason: 'connection refused' };

/** Feeds results to one checker at the times the core asks for, like the pool does. */
function drive(health: RealServerHealth, checker: string, results: ProbeResult[], startMs = 0) {
  let now = startMs;
  const log: { atMs: number; up: boolean; weight: number; reason: string }[] = [];
  for (const r of results) {
    const t = applyProbeResult(health, checker, r, now);
    health = t.health;
    if (t.change) log.push({ atMs: now, up: t.change.up, weight: t.change.weight, reason: t.change.reason });
    now += t.nextCheckInMs;
  }
  return { health, log, nowMs: now };
}

describe('checker state (keepalived semantics, fake clock)', () => {
  it('starts up without alpha and goes down only after retry failures, spaced by delay_before_retry', () => {
    const h0 = initialHealth(10, [{ id: 'TCP_CHECK#0', timing }], 0);
    expect(h0.up).toBe(true);
    const t1 = applyProbeResult(h0, 'TCP_CHECK#0', fail, 0);
    expect([t1.health.up, t1.nextCheckInMs]).toEqual([true, 1000]);
    const t2 = applyProbeResult(t1.health, 'TCP_CHECK#0', fail, 1000);
    expect([t2.health.up, t2.nextCheckInMs]).toEqual([true, 1000]);
    const t3 = applyProbeResult(t2.health, 'TCP_CHECK#0', fail, 2000);
    expect(t3.health.up).toBe(false);
    expect(t3.nextCheckInMs).toBe(6000);
    expect(t3.change).toEqual({ up: false, weight: 10, reason: 'connection refused', checker: 'TCP_CHECK#0' });
    expect(t3.health.failing).toEqual({ checker: 'TCP_CHECK#0', reason: 'connection refused' });
    expect(t3.health.lastChangeMs).toBe(2000);
  });

  it('a success in the middle of retries resets the retry count', () => {
    const h0 = initialHealth(1, [{ id: 'c', timing }], 0);
    const { log } = drive(h0, 'c', [fail, fail, ok, fail, fail, fail]);
    expect(log).toEqual([{ atMs: 6000 + 2000 + 2000, up: false, weight: 1, reason: 'connection refused' }]);
  });

  it('a down checker is not retried: it is probed again after delay_loop and comes up on one success', () => {
    const h0 = initialHealth(1, [{ id: 'c', timing: { ...timing, retry: 0 } }], 0);
    const down = applyProbeResult(h0, 'c', fail, 0);
    expect(down.health.up).toBe(false);
    const still = applyProbeResult(down.health, 'c', fail, 6000);
    expect([still.nextCheckInMs, still.change]).toEqual([6000, null]);
    const up = applyProbeResult(still.health, 'c', ok, 12000);
    expect(up.change).toEqual({ up: true, weight: 1, reason: 'ok', checker: 'c' });
  });

  it('alpha: starts down and joins on the first success', () => {
    const h0 = initialHealth(5, [{ id: 'c', timing: { ...timing, alpha: true } }], 0);
    expect(h0.up).toBe(false);
    expect(h0.failing?.checker).toBe('c');
    const t = applyProbeResult(h0, 'c', ok, 100);
    expect(t.change).toEqual({ up: true, weight: 5, reason: 'ok', checker: 'c' });
  });

  it('alpha: a first failure keeps it down without retries', () => {
    const h0 = initialHealth(5, [{ id: 'c', timing: { ...timing, alpha: true } }], 0);
    const t = applyProbeResult(h0, 'c', fail, 0);
    expect([t.health.up, t.change, t.nextCheckInMs]).toEqual([false, null, 6000]);
  });

  it('several checkers: up only while all pass, and the failing one is named', () => {
    const r0 = { ...timing, retry: 0 };
    const h0 = initialHealth(3, [{ id: 'TCP_CHECK#0', timing: r0 }, { id: 'HTTP_GET#1', timing: r0 }], 0);
    const a = applyProbeResult(h0, 'HTTP_GET#1', { ok: false, latencyMs: 1, reason: 'HTTP status 500' }, 0);
    expect(a.change?.up).toBe(false);
    const b = applyProbeResult(a.health, 'TCP_CHECK#0', ok, 10);
    expect([b.health.up, b.change]).toEqual([false, null]);
    expect(b.health.failing).toEqual({ checker: 'HTTP_GET#1', reason: 'HTTP status 500' });
    const c = applyProbeResult(b.health, 'HTTP_GET#1', ok, 6000);
    expect(c.change).toEqual({ up: true, weight: 3, reason: 'ok', checker: 'HTTP_GET#1' });
  });

  it('MISC_CHECK misc_dynamic sets the weight, exit 0 restores the configured weight', () => {
    const h0 = initialHealth(10, [{ id: 'MISC_CHECK#0', timing }], 0);
    const set = applyProbeResult(h0, 'MISC_CHECK#0', { ok: true, latencyMs: 1, weight: { kind: 'set', weight: 3 } }, 0);
    expect(set.change).toEqual({ up: true, weight: 3, reason: 'ok', checker: 'MISC_CHECK#0' });
    const same = applyProbeResult(set.health, 'MISC_CHECK#0', { ok: true, latencyMs: 1, weight: { kind: 'set', weight: 3 } }, 6000);
    expect(same.change).toBeNull();
    const back = applyProbeResult(same.health, 'MISC_CHECK#0', { ok: true, latencyMs: 1, weight: { kind: 'restore' } }, 12000);
    expect(back.change?.weight).toBe(10);
  });

  it('two MISC_CHECKs with misc_dynamic each move the weight from the configured one, and the moves add up (keepalived 2.2.7)', () => {
    const dynamic = (code: number): ProbeResult => ({ ok: true, latencyMs: 1, weight: { kind: 'set', weight: code - 2 } });
    const h0 = initialHealth(10, [{ id: 'MISC_CHECK#0', timing }, { id: 'MISC_CHECK#1', timing }], 0);
    const first = applyProbeResult(h0, 'MISC_CHECK#0', dynamic(5), 0);
    expect(first.health.weight).toBe(3);
    // 10 + (3 - 10) + (20 - 10)
    const second = applyProbeResult(first.health, 'MISC_CHECK#1', dynamic(22), 0);
    expect(second.change).toEqual({ up: true, weight: 13, reason: 'ok', checker: 'MISC_CHECK#1' });
    const firstRestored = applyProbeResult(second.health, 'MISC_CHECK#0', { ok: true, latencyMs: 1, weight: { kind: 'restore' } }, 6000);
    expect(firstRestored.health.weight).toBe(20);
    // 10 + (2 - 10) + (2 - 10), and IPVS takes no weight below 0
    const bothLow = applyProbeResult(applyProbeResult(firstRestored.health, 'MISC_CHECK#0', dynamic(4), 12000).health, 'MISC_CHECK#1', dynamic(4), 12000);
    expect(bothLow.health.weight).toBe(0);
  });

  it('FILE_CHECK adds its delta to the weight, never below 0', () => {
    const h0 = initialHealth(10, [{ id: 'FILE_CHECK#0', timing }], 0);
    const plus = applyProbeResult(h0, 'FILE_CHECK#0', { ok: true, latencyMs: 0, weight: { kind: 'add', delta: 5 } }, 0);
    expect(plus.health.weight).toBe(15);
    const minus = applyProbeResult(plus.health, 'FILE_CHECK#0', { ok: true, latencyMs: 0, weight: { kind: 'add', delta: -50 } }, 1);
    expect(minus.health.weight).toBe(0);
    expect(minus.health.up).toBe(true);
  });

  it('records latency and check time for status', () => {
    const h0 = initialHealth(1, [{ id: 'c', timing }], 0);
    const t = applyProbeResult(h0, 'c', { ok: true, latencyMs: 42 }, 777);
    expect(t.health.checkers[0]).toMatchObject({ lastLatencyMs: 42, lastCheckMs: 777, hasRun: true });
  });
});
