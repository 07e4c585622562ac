import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KeepalivedConfig } from '../../src/config/index.ts';
import { Director, type HealthPort } from '../../src/daemon/director.ts';
import { DrainBook, memoryDrainStore, namesRealServer, parseDrains, type DrainStore } from '../../src/daemon/drains.ts';
import type { VirtualServerPlan } from '../../src/daemon/engine.ts';
import { config, ModelKernel, WEB } from './fixtures.ts';

/** Every real server passes its checks at start; the test sends later verdicts itself. */
class UpHealth implements HealthPort {
  director!: Director;
  async update(_config: KeepalivedConfig, plans: readonly VirtualServerPlan[]): Promise<void> {
    for (const plan of plans) for (const rs of plan.config.realServers) this.director.onVerdict(plan.name, `${rs.address}:${rs.port}`, { up: true, weight: rs.weight });
  }
  details() {
    return new Map();
  }
  async stop(): Promise<void> {}
  readTrackedFile(): string | undefined {
    return undefined;
  }
}

const VS = 'TCP 10.0.0.1:80';
const settle = () => vi.advanceTimersByTimeAsync(10);

async function director(store: DrainStore, kernel = new ModelKernel(), text = WEB) {
  const health = new UpHealth();
  const d = new Director(config(text), kernel, health, () => {}, pino({ level: 'silent' }), new DrainBook(store, Date.now));
  health.director = d;
  await d.start();
  await settle();
  return { director: d, kernel };
}

const weightOf = (kernel: ModelKernel, realServer: string) => /-r (\S+) -m -w (\d+)/g.exec(kernel.rules().split('\n').find((line) => line.includes(`-r ${realServer} `)) ?? '')?.[2];

describe('drain and undrain', () => {
  afterEach(() => void vi.useRealTimers());

  it('keeps a drained real server in IPVS at weight 0, its checks as usual, and counts its weight in the quorum', async () => {
    vi.useFakeTimers();
    const { director: d, kernel } = await director(memoryDrainStore());
    expect(await d.drain('10.0.1.1')).toEqual([`10.0.1.1:80 of ${VS}`]);
    expect(weightOf(kernel, '10.0.1.1:80')).toBe('0');
    expect(weightOf(kernel, '10.0.1.2:80')).toBe('1');
    const [vs] = d.virtualServerStatus();
    expect(vs?.quorum).toEqual({ up: true, needed: 1, alive: 3, changes: 0 });
    expect(vs?.realServers[0]).toMatchObject({ up: true, ipvsWeight: 0, drain: { state: 'draining' } });

    d.onVerdict(VS, '10.0.1.1:80', { up: false, weight: 2 });
    await settle();
    expect(kernel.rules()).not.toContain('10.0.1.1:80');
    d.onVerdict(VS, '10.0.1.1:80', { up: true, weight: 2 });
    await settle();
    expect(weightOf(kernel, '10.0.1.1:80')).toBe('0');

    expect(await d.undrain('10.0.1.1:80', VS, 0)).toEqual([`10.0.1.1:80 of ${VS}`]);
    expect(weightOf(kernel, '10.0.1.1:80')).toBe('2');
    expect(d.virtualServerStatus()[0]?.realServers[0]?.drain).toBeUndefined();
  });

  it('restores the weight in ten steps over --over', async () => {
    vi.useFakeTimers();
    const { director: d, kernel } = await director(memoryDrainStore(), new ModelKernel(), WEB.replace('weight 2', 'weight 100'));
    await d.drain('10.0.1.1:80');
    await d.undrain('10.0.1.1', undefined, 10_000);
    expect(weightOf(kernel, '10.0.1.1:80')).toBe('0');
    const seen: string[] = [];
    for (let step = 0; step < 10; step++) {
      await vi.advanceTimersByTimeAsync(1000);
      seen.push(weightOf(kernel, '10.0.1.1:80')!);
    }
    expect(seen).toEqual(['10', '20', '30', '40', '50', '60', '70', '80', '90', '100']);
    expect(d.virtualServerStatus()[0]?.realServers[0]?.drain).toBeUndefined();
  });

  it('keeps drains across a reload and a restart, and forgets those of real servers the configuration drops', async () => {
    vi.useFakeTimers();
    const store = memoryDrainStore();
    const first = await director(store);
    await first.director.drain('10.0.1.1');
    await first.director.drain('10.0.1.2');
    await first.director.reload(config(WEB.replace('weight 1', 'weight 4')));
    expect(weightOf(first.kernel, '10.0.1.1:80')).toBe('0');
    await first.director.reload(config(WEB.replace(/ {2}real_server 10\.0\.1\.2 80 \{ weight 1\n {4}TCP_CHECK \{ connect_timeout 1 \} \}\n/, '')));
    expect(store.load().map((drain) => drain.realServer)).toEqual(['10.0.1.1:80']);
    await first.director.stop();

    // The restarted director's first table already has the drained server at weight 0.
    const kernel = new ModelKernel();
    await director(store, kernel);
    expect(kernel.sent[0]).toContainEqual(expect.objectContaining({ op: 'add-dest', dest: expect.objectContaining({ addr: '10.0.1.1', weight: 0 }) }));
  });

  it('says which real server it cannot find, and changes nothing', async () => {
    vi.useFakeTimers();
    const { director: d, kernel } = await director(memoryDrainStore());
    const before = kernel.rules();
    await expect(d.drain('10.9.9.9')).rejects.toThrow('no real server 10.9.9.9 to act on');
    await expect(d.drain('10.0.1.1', 'TCP 10.0.0.9:80')).rejects.toThrow('no real server 10.0.1.1 in TCP 10.0.0.9:80 to act on');
    await expect(d.undrain('10.0.1.1', undefined, 0)).rejects.toThrow('no real server 10.0.1.1 to act on');
    expect(kernel.rules()).toBe(before);
  });
});

describe('drain records', () => {
  it('names a real server by address, address and port, or bracketed IPv6 address', () => {
    expect(namesRealServer('10.0.1.1', '10.0.1.1:80')).toBe(true);
    expect(namesRealServer('10.0.1.1:80', '10.0.1.1:80')).toBe(true);
    expect(namesRealServer('10.0.1.1:81', '10.0.1.1:80')).toBe(false);
    expect(namesRealServer('10.0.1.10', '10.0.1.1:80')).toBe(false);
    expect(namesRealServer('2001:db8::1', '[2001:db8::1]:80')).toBe(true);
    expect(namesRealServer('[2001:db8::1]', '[2001:db8::1]:80')).toBe(true);
  });

  it('takes up only well-formed drains from a saved file', () => {
    expect(parseDrains('not json')).toEqual([]);
    expect(parseDrains('{"a":1}')).toEqual([]);
    const good = { virtualServer: VS, realServer: '10.0.1.1:80', since: 5 };
    expect(parseDrains(JSON.stringify([good, { virtualServer: VS }, null, { ...good, restore: { from: 'x' } }]))).toEqual([good]);
  });
});
