import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckerPool, type PoolCheckerSpec, type RealServerCheckSpec, type Verdict } from '../../src/healthcheck/pool.ts';
import { listen, type Closer } from './servers.ts';

const closers: Closer[] = [];
const pools: CheckerPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
  for (const c of closers.splice(0).reverse()) await c();
});

const timing = { delayLoopMs: 100, retry: 1, delayBeforeRetryMs: 50, alpha: false };

// keepalived's close (FIN): these listeners count the checks they accept, and a check that ends
// with lvsd's default reset is never accepted.
function tcpChecker(port: number, over: Partial<PoolCheckerSpec> = {}): PoolCheckerSpec {
  return { id: 'TCP_CHECK#0', timing, warmupMs: 0, probe: { kind: 'TCP_CHECK', options: { host: '127.0.0.1', port, timeoutMs: 500, closeWithFin: true } }, ...over };
}

/** Real server `rs` of weight 10 with one FILE_CHECK, read every minute. */
function fileChecked(checker: Pick<PoolCheckerSpec, 'warmupMs' | 'probe'>): RealServerCheckSpec {
  return {
    virtualServer: 'vs',
    realServer: 'rs',
    weight: 10,
    checkers: [{ id: 'FILE_CHECK#0', timing: { delayLoopMs: 60_000, retry: 0, delayBeforeRetryMs: 1000, alpha: false }, ...checker }],
  };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function newPool(specs: RealServerCheckSpec[], maxConcurrent?: number) {
  const verdicts: Verdict[] = [];
  const pool = new CheckerPool(specs, { onVerdict: (v) => verdicts.push(v), ...(maxConcurrent ? { maxConcurrent } : {}) });
  pools.push(pool);
  return { pool, verdicts };
}

/** A TCP listener that counts accepted connections and can be closed and reopened on its port. */
async function countingListener() {
  let accepted = 0;
  const make = () => net.createServer((s) => { accepted++; s.destroy(); });
  let server = make();
  const port = await listen(server, closers);
  return {
    port,
    accepted: () => accepted,
    close: () => new Promise<void>((r) => server.close(() => r())),
    reopen: async () => {
      server = make();
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      closers.push(() => new Promise<void>((r) => server.close(() => r())));
    },
  };
}

describe('CheckerPool', () => {
  it('reports initial state, a real server going down after its retry and coming back, for every virtual server using it', async () => {
    const target = await countingListener();
    const rs = (vs: string): RealServerCheckSpec => ({ virtualServer: vs, realServer: `127.0.0.1:${target.port}`, weight: 2, checkers: [tcpChecker(target.port)] });
    const { pool, verdicts } = newPool([rs('vs-a'), rs('vs-b')]);
    await pool.start();
    expect(verdicts).toEqual([
      { virtualServer: 'vs-a', realServer: `127.0.0.1:${target.port}`, up: true, weight: 2, reason: 'initial state', checker: null },
      { virtualServer: 'vs-b', realServer: `127.0.0.1:${target.port}`, up: true, weight: 2, reason: 'initial state', checker: null },
    ]);
    await waitFor('a few checks', () => pool.stats().checksCompleted >= 3);
    // One real server shared by two virtual servers is probed once per round, not once per virtual server.
    expect(Math.abs(target.accepted() - pool.stats().checksCompleted)).toBeLessThanOrEqual(1);

    await target.close();
    await waitFor('down verdicts', () => verdicts.filter((v) => !v.up).length === 2);
    const down = verdicts.filter((v) => !v.up);
    expect(down.map((v) => v.virtualServer).sort()).toEqual(['vs-a', 'vs-b']);
    expect(down[0]).toMatchObject({ weight: 2, checker: 'TCP_CHECK#0', reason: expect.stringContaining('ECONNREFUSED') });
    const [status] = pool.snapshot();
    expect(status).toMatchObject({ up: false, failing: { checker: 'TCP_CHECK#0' } });
    expect(status!.checkers[0]!.lastLatencyMs).toBeGreaterThanOrEqual(0);

    await target.reopen();
    await waitFor('up again', () => verdicts.at(-1)?.up === true && verdicts.filter((v) => v.up).length === 4);
    expect(verdicts.at(-1)).toMatchObject({ up: true, reason: 'ok', checker: 'TCP_CHECK#0' });
    // Every answered check is counted for /metrics, with its duration.
    const [tally] = pool.checkTallies();
    expect(tally).toMatchObject({ kind: 'TCP_CHECK' });
    expect(tally!.passed + tally!.failed).toBe(pool.stats().checksCompleted);
    expect(tally!.failed).toBeGreaterThanOrEqual(2);
    expect(tally!.durationCounts.reduce((sum, n) => sum + n, 0)).toBe(pool.stats().checksCompleted);
  });

  it('adopted from IPVS at a restart: no initial verdict; the first check sends its outcome, in IPVS or absent', async () => {
    const target = await countingListener();
    const rs = (vs: string, adoptedFromIpvs: 'present' | 'absent'): RealServerCheckSpec => ({
      virtualServer: vs, realServer: `127.0.0.1:${target.port}`, weight: 2, checkers: [tcpChecker(target.port)], adoptedFromIpvs,
    });
    const { pool, verdicts } = newPool([rs('in-ipvs', 'present'), rs('absent', 'absent')]);
    await pool.start();
    expect(verdicts).toEqual([]);
    await waitFor('first checks', () => verdicts.length === 2);
    expect(verdicts).toContainEqual({ virtualServer: 'in-ipvs', realServer: `127.0.0.1:${target.port}`, up: true, weight: 2, reason: 'first check after a restart', checker: null });
    expect(verdicts).toContainEqual(expect.objectContaining({ virtualServer: 'absent', up: true, weight: 2 }));
    await new Promise((resolve) => setTimeout(resolve, 250));
    // Later checks that change nothing send nothing, as before.
    expect(verdicts).toHaveLength(2);
  });

  it('says once when a real server\'s state first rests on a check, after the verdict of that check, and at once for a virtual server it joins later', async () => {
    const target = await countingListener();
    await target.close();
    const events: string[] = [];
    const spec = (vs: string): RealServerCheckSpec => ({ virtualServer: vs, realServer: 'rs', weight: 1, checkers: [tcpChecker(target.port, { timing: { ...timing, retry: 0 } })] });
    const pool = new CheckerPool([spec('a')], {
      onVerdict: (v) => events.push(`${v.virtualServer} ${v.up ? 'up' : 'down'}`),
      onChecked: (m) => events.push(`${m.virtualServer} checked`),
    });
    pools.push(pool);
    await pool.start();
    await waitFor('the first check', () => events.includes('a checked'));
    expect(events).toEqual(['a up', 'a down', 'a checked']);
    await pool.update([spec('a'), spec('b')]);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(events.slice(3)).toEqual(['b down', 'b checked']);
  });

  it('alpha: a real server starts down and joins after its first successful check', async () => {
    const target = await countingListener();
    const { pool, verdicts } = newPool([
      { virtualServer: 'vs', realServer: 'rs', weight: 1, checkers: [tcpChecker(target.port, { timing: { ...timing, alpha: true } })] },
    ]);
    await pool.start();
    expect(verdicts[0]).toMatchObject({ up: false, checker: 'TCP_CHECK#0', reason: 'alpha: no successful check yet' });
    await waitFor('up', () => verdicts.length === 2);
    expect(verdicts[1]).toMatchObject({ up: true });
  });

  it('update keeps the state of unchanged real servers, starts new ones and stops removed ones', async () => {
    const kept = await countingListener();
    const removed = await countingListener();
    const added = await countingListener();
    const spec = (t: { port: number }): RealServerCheckSpec => ({ virtualServer: 'vs', realServer: `rs-${t.port}`, weight: 1, checkers: [tcpChecker(t.port)] });
    const { pool, verdicts } = newPool([spec(kept), spec(removed)]);
    await pool.start();
    await kept.close();
    await waitFor('kept goes down', () => verdicts.some((v) => !v.up));
    const before = verdicts.length;

    await pool.update([spec(kept), spec(added)]);
    expect(verdicts.slice(before)).toEqual([
      { virtualServer: 'vs', realServer: `rs-${added.port}`, up: true, weight: 1, reason: 'initial state', checker: null },
    ]);
    const status = new Map(pool.snapshot().map((s) => [s.realServer, s]));
    expect(status.get(`rs-${kept.port}`)?.up).toBe(false);
    expect(status.has(`rs-${removed.port}`)).toBe(false);
    const removedCount = removed.accepted();
    await waitFor('added is probed', () => added.accepted() >= 2);
    expect(removed.accepted()).toBeLessThanOrEqual(removedCount + 1);
  });

  it('bounds concurrency: due checks wait for a free slot and the wait shows as lag', async () => {
    let current = 0;
    let peak = 0;
    const server = http.createServer((_req, res) => {
      current++;
      peak = Math.max(peak, current);
      setTimeout(() => { current--; res.end('ok'); }, 100);
    });
    const port = await listen(server, closers);
    const specs: RealServerCheckSpec[] = Array.from({ length: 9 }, (_, i) => ({
      virtualServer: 'vs',
      realServer: `rs${i}`,
      weight: 1,
      checkers: [{
        id: 'HTTP_GET#0',
        timing: { ...timing, delayLoopMs: 10_000 },
        warmupMs: 0,
        probe: { kind: 'HTTP_GET', options: { tls: false, host: '127.0.0.1', port, timeoutMs: 2000, verifyCertificate: false, httpProtocol: '1.0', urls: [{ path: `/${i}`, statusCodes: [], regexNoMatch: false }] } },
      }],
    }));
    const { pool } = newPool(specs, 3);
    await pool.start();
    await waitFor('all checked', () => pool.stats().checksCompleted === 9);
    expect(peak).toBe(3);
    expect(pool.stats().lagMs.max).toBeGreaterThanOrEqual(150);
  });

  it('settles once the checks due at start have answered, or after its bound while checks keep coming', async () => {
    const target = await countingListener();
    const verdicts: Verdict[] = [];
    // The first check due 100 ms after start (half of a 200 ms warmup).
    const pool = new CheckerPool([{ virtualServer: 'vs', realServer: 'rs', weight: 1, checkers: [tcpChecker(target.port, { warmupMs: 200, timing: { ...timing, delayLoopMs: 60_000 } })] }], { onVerdict: (v) => verdicts.push(v), random: () => 0.5 });
    pools.push(pool);
    await pool.start();
    await pool.settled(5_000);
    expect(pool.stats().checksCompleted).toBe(1);
    // A check every 50 ms is always about to run: settled gives up at its bound.
    const busy = newPool([{ virtualServer: 'vs', realServer: 'rs2', weight: 1, checkers: [tcpChecker(target.port, { timing: { ...timing, delayLoopMs: 50 } })] }]).pool;
    await busy.start();
    const startedAt = Date.now();
    await busy.settled(300);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
  });

  it('a FILE_CHECK\'s first verdict carries the tracked value, as keepalived reads track files at start: no weight flap before the first check', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hc-pool-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'boost');
    await writeFile(path, '3\n');
    const { pool, verdicts } = newPool([fileChecked({ warmupMs: 60_000, probe: { kind: 'FILE_CHECK', options: { path, weight: 2, reverse: false } } })]);
    await pool.start();
    expect(verdicts).toEqual([expect.objectContaining({ up: true, weight: 16 })]);
  });

  it('FILE_CHECK reacts to the tracked file at once (like keepalived\'s inotify), not only every delay_loop', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hc-pool-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'maintenance');
    const { pool, verdicts } = newPool([fileChecked({ warmupMs: 0, probe: { kind: 'FILE_CHECK', options: { path, weight: 5, reverse: false }, initFile: { value: 0, overwrite: true } } })]);
    await pool.start();
    await waitFor('first check', () => pool.stats().checksCompleted === 1);
    await writeFile(path, '2\n');
    await waitFor('weight 20', () => verdicts.at(-1)?.weight === 20, 3000);
    // Tools usually replace the file by renaming a new one over it.
    await writeFile(join(dir, 'new'), '-60\n');
    await rename(join(dir, 'new'), path);
    await waitFor('down', () => verdicts.at(-1)?.up === false, 3000);
    expect(verdicts.at(-1)).toMatchObject({ up: false, checker: 'FILE_CHECK#0', reason: `${path} holds -60 (weight -300)` });
  });
});
