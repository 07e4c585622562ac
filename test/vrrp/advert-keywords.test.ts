// unicast_ttl (IPv4 and IPv6), down_timer_adverts and notify_priority_changes against keepalived
// 2.2.7 in the two-node lab (lab.ts): TTLs, hop limits and takeover times captured with tcpdump,
// FIFO lines compared.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { startCapture } from './capture.ts';
import { fifoReader } from './fifo.ts';
import { LAB_INTERFACE, labForTest, run, sleep, V2_WAIT, V4, type Lab } from './lab.ts';
import { startPeer, type Implementation, type PeerConfig } from './peers.ts';
import { labInstanceConfig, startWithConfig } from './same-config.ts';

const BASE = { vrid: 82, version: 2, advertIntervalMs: 1000, ...V4 } satisfies Partial<PeerConfig>;
/** Timer jitter of two daemons on a loaded host, as seen in captures; far below the intervals measured. */
const TOLERANCE_MS = 350;

/**
 * B (priority 100, down_timer_adverts 5) backs up A (200, the other implementation), which is then
 * killed without a goodbye: the seconds from A's last advert to B's first, as the link saw them.
 */
async function takeoverSeconds(context: TestContext, implementation: Implementation): Promise<number> {
  const lab = await labForTest(context);
  const other = implementation === 'lvsd' ? 'keepalived' : 'lvsd';
  const master = await startPeer(lab, lab.a, other, { ...BASE, name: other, priority: 200 });
  expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
  await startPeer(lab, lab.b, implementation, { ...BASE, name: implementation, priority: 100, downTimerAdverts: 5 });
  await sleep(2000);
  const capture = await startCapture(lab.b, V4.vip, 30);
  await sleep(1500);
  await master.kill();
  expect(await lab.waitForAddress(lab.b, V4.vip, true, 10_000)).toBe(true);
  await sleep(1500);
  const adverts = (await capture.stop()).filter((packet) => packet.kind === 'vrrp');
  const firstOwn = adverts.find((packet) => packet.sourceIp === lab.b.ipv4);
  const lastMaster = adverts.filter((packet) => packet.sourceIp === lab.a.ipv4 && packet.at < (firstOwn?.at ?? Infinity)).at(-1);
  expect(firstOwn).toBeDefined();
  expect(lastMaster).toBeDefined();
  return firstOwn!.at - lastMaster!.at;
}

/**
 * The VIP is in a prefix of its own: lvsd's IPv6 source address is a sticky IPV6_PKTINFO, which the
 * kernel does not hold raw sockets to, so with the VIP in the peers' prefix adverts may leave from it.
 */
const V6 = { a: 'fd00:77::1', b: 'fd00:77::2', vip: 'fd00:78::100' };

function ipv6UnicastConfig(unicastTtl: number | undefined): string {
  const lines = ['version 3', `unicast_src_ip ${V6.a}`, 'unicast_peer {', `  ${V6.b}`, '}', ...(unicastTtl === undefined ? [] : [`unicast_ttl ${unicastTtl}`])];
  return labInstanceConfig({ vrid: 92, priority: 200, vips: [`${V6.vip}/64`], lines });
}

/** The hop limits of the IPv6 unicast adverts a master on a sends, with and without unicast_ttl 7. */
async function ipv6HopLimits(lab: Lab, implementation: Implementation): Promise<(number | undefined)[][]> {
  await run('ip', ['-n', lab.a.ns, 'addr', 'add', `${V6.a}/64`, 'dev', LAB_INTERFACE, 'nodad']);
  await run('ip', ['-n', lab.b.ns, 'addr', 'add', `${V6.b}/64`, 'dev', LAB_INTERFACE, 'nodad']);
  const limits: (number | undefined)[][] = [];
  for (const unicastTtl of [undefined, 7]) {
    const capture = await startCapture(lab.b, V6.vip, 20);
    const router = await startWithConfig(lab, lab.a, implementation, `${implementation}-${unicastTtl ?? 'default'}`, ipv6UnicastConfig(unicastTtl));
    expect(router.warnings).toEqual([]);
    expect(await lab.waitForAddress(lab.a, V6.vip, true, V2_WAIT)).toBe(true);
    await sleep(2500);
    await router.stop();
    const adverts = (await capture.stop()).filter((packet) => packet.kind === 'vrrp' && packet.sourceIp === V6.a && packet.priority !== 0);
    limits.push([...new Set(adverts.map((packet) => packet.ttl))]);
  }
  return limits;
}

describe.concurrent('advert keywords on the wire, lvsd against keepalived 2.2.7', { retry: 1 }, () => {
  it.for<Implementation>(['keepalived', 'lvsd'])("%s: IPv6 unicast adverts have the kernel's default hop limit, or unicast_ttl's", async (implementation, context) => {
    const lab = await labForTest(context);
    const kernelDefault = Number((await run('ip', ['netns', 'exec', lab.a.ns, 'sysctl', '-n', `net.ipv6.conf.${LAB_INTERFACE}.hop_limit`])).trim());
    expect(await ipv6HopLimits(lab, implementation)).toEqual([[kernelDefault], [7]]);
  });

  it('unicast_ttl: each sends its adverts with its own TTL, and each accepts the other\'s unicast adverts though not 255', async (context) => {
    const lab = await labForTest(context);
    const capture = await startCapture(lab.a, V4.vip, 40);
    const keepalived = { ...BASE, name: 'keepalived', priority: 100, unicastTtl: 9, unicast: { source: lab.a.ipv4, peer: lab.b.ipv4 } };
    const lvsd = { ...BASE, name: 'lvsd', priority: 150, unicastTtl: 7, unicast: { source: lab.b.ipv4, peer: lab.a.ipv4 } };
    await startPeer(lab, lab.a, 'keepalived', keepalived);
    const first = await startPeer(lab, lab.b, 'lvsd', lvsd);
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);
    // keepalived stays backup beyond its master down interval: it takes lvsd's TTL 7 adverts.
    await sleep(4500);
    expect(await lab.hasAddress(lab.a, V4.vip)).toBe(false);
    await first.kill();
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
    await lab.removeAddress(lab.b, V4.vip, V4.vipPrefix);
    // lvsd, back as backup, takes keepalived's TTL 9 adverts before preempting it.
    await startPeer(lab, lab.b, 'lvsd', lvsd);
    await sleep(1500);
    const status = (await lab.speakerStatus('lvsd'))[0];
    expect(status?.advertsReceived).toBeGreaterThan(0);
    expect(status?.droppedPackets).toEqual({});
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);
    const adverts = (await capture.stop()).filter((packet) => packet.kind === 'vrrp');
    const ttls = (source: string) => [...new Set(adverts.filter((packet) => packet.sourceIp === source).map((packet) => packet.ttl))];
    expect(ttls(lab.b.ipv4)).toEqual([7]);
    expect(ttls(lab.a.ipv4)).toEqual([9]);
  }, 60_000);

  it('down_timer_adverts 5: a backup takes over 5 advert intervals + skew (5.61 s) after the last advert, as keepalived does', async (context) => {
    const [lvsd, keepalived] = await Promise.all([takeoverSeconds(context, 'lvsd'), takeoverSeconds(context, 'keepalived')]);
    const expected = 5 + (256 - 100) / 256;
    console.info(`down_timer_adverts 5 takeover: lvsd ${lvsd.toFixed(3)} s, keepalived ${keepalived.toFixed(3)} s, expected ${expected.toFixed(3)} s`);
    expect(Math.abs(lvsd - expected) * 1000).toBeLessThan(TOLERANCE_MS);
    expect(Math.abs(keepalived - expected) * 1000).toBeLessThan(TOLERANCE_MS);
    expect(Math.abs(lvsd - keepalived) * 1000).toBeLessThan(TOLERANCE_MS);
  }, 60_000);

  it('notify_priority_changes: the same FIFO lines as keepalived, MASTER_PRIORITY with each change of effective priority', async (context) => {
    const lab = await labForTest(context);
    const lines: Record<Implementation, string[]> = { lvsd: [], keepalived: [] };
    const runs = (['lvsd', 'keepalived'] as const).map(async (implementation, index) => {
      const node = index === 0 ? lab.b : lab.a;
      const checkFile = join(lab.dir, `${implementation}.healthy`);
      writeFileSync(checkFile, '');
      const fifo = fifoReader(join(lab.dir, `${implementation}.fifo`));
      try {
        const peer = { ...BASE, vrid: 83 + index, name: implementation, priority: 100, checkFile: { path: checkFile, weight: -20 }, priorityFifo: join(lab.dir, `${implementation}.fifo`) };
        await startPeer(lab, node, implementation, peer);
        expect(await lab.waitForAddress(node, V4.vip, true, V2_WAIT)).toBe(true);
        rmSync(checkFile);
        await sleep(2500);
        writeFileSync(checkFile, '');
        await sleep(2500);
        lines[implementation] = fifo.lines().map((line) => line.replace(`"${implementation}"`, '"VI"'));
      } finally {
        fifo.close();
      }
    });
    await Promise.all(runs);
    console.info(`notify FIFO: ${JSON.stringify(lines)}`);
    expect(lines.lvsd).toEqual(expect.arrayContaining(['INSTANCE "VI" MASTER_PRIORITY 80', 'INSTANCE "VI" MASTER_PRIORITY 100']));
    expect(lines.lvsd).toEqual(lines.keepalived);
  }, 60_000);
});
