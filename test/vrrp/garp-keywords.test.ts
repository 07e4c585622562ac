// garp_master_refresh and garp_lower_prio_* on the wire: the same configuration run by lvsd and by
// keepalived 2.2.7, each in its own two-node lab (lab.ts), with tcpdump counting and timing the
// gratuitous ARPs the node under test sends.
import { describe, expect, it, type TestContext } from 'vitest';
import { bursts, macOf, startCapture } from './capture.ts';
import { labForTest, run, sleep, V2_WAIT, V4, type Lab } from './lab.ts';
import { startPeer, type Implementation, type PeerConfig } from './peers.ts';

const BASE = { vrid: 81, version: 2, advertIntervalMs: 1000, ...V4 } satisfies Partial<PeerConfig>;
const OTHER: Record<Implementation, Implementation> = { lvsd: 'keepalived', keepalived: 'lvsd' };
/** Timer jitter of two daemons on a loaded host, as seen in captures; far below the intervals measured. */
const TOLERANCE_MS = 300;

const gaps = (times: number[]) => times.slice(1).map((at, i) => Math.round((at - times[i]!) * 1000));

/** Node A alone as master with garp_master_refresh 2 (repeat 2): the GARP bursts B sees. */
async function refreshBursts(context: TestContext, implementation: Implementation) {
  const lab = await labForTest(context);
  const capture = await startCapture(lab.b, V4.vip, 30);
  await startPeer(lab, lab.a, implementation, { ...BASE, name: implementation, priority: 150, garpMasterRepeat: 1, garpMasterRefresh: { seconds: 2, repeat: 2 } });
  expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
  await sleep(7500);
  const mac = await macOf(lab.a, run);
  return bursts((await capture.stop()).filter((packet) => packet.kind === 'garp' && packet.sourceMac === mac));
}

/**
 * Node A (priority 200, garp_lower_prio_repeat 2, garp_lower_prio_delay 2) and the other
 * implementation on B (100) are partitioned until both are master, then healed: A hears B's lower
 * priority advert (B sends one as it yields, higher_prio_send_advert) and answers with GARPs.
 */
async function lowerPriorityGarps(lab: Lab, implementation: Implementation) {
  await startPeer(lab, lab.a, implementation, { ...BASE, name: implementation, priority: 200, garpMasterRepeat: 1, garpLowerPrio: { repeat: 2, delaySeconds: 2 } });
  await startPeer(lab, lab.b, OTHER[implementation], { ...BASE, name: OTHER[implementation], priority: 100, higherPrioSendAdvert: true });
  expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
  await lab.partition();
  expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);
  const capture = await startCapture(lab.b, V4.vip, 30);
  const healedAt = Date.now() / 1000;
  await lab.heal();
  expect(await lab.waitForAddress(lab.b, V4.vip, false, V2_WAIT)).toBe(true);
  await sleep(4000);
  const mac = await macOf(lab.a, run);
  return (await capture.stop()).filter((packet) => packet.kind === 'garp' && packet.sourceMac === mac && packet.at >= healedAt);
}

describe.concurrent('gratuitous ARP keywords on the wire, lvsd against keepalived 2.2.7', { retry: 1 }, () => {
  it('garp_master_refresh 2 / garp_master_refresh_repeat 2: bursts of 2 every 2 s while master, after the single garp_master_repeat 1', async (context) => {
    const [lvsd, keepalived] = await Promise.all([refreshBursts(context, 'lvsd'), refreshBursts(context, 'keepalived')]);
    for (const seen of [lvsd, keepalived]) {
      expect(seen[0]?.size).toBe(1);
      expect(seen.length).toBeGreaterThanOrEqual(4);
      expect(seen.slice(1).map((burst) => burst.size)).toEqual(seen.slice(1).map(() => 2));
      for (const gap of gaps(seen.map((burst) => burst.at))) expect(Math.abs(gap - 2000)).toBeLessThan(TOLERANCE_MS);
    }
    const meanGap = (seen: typeof lvsd) => (seen.at(-1)!.at - seen[0]!.at) / (seen.length - 1);
    expect(Math.abs(meanGap(lvsd) - meanGap(keepalived)) * 1000).toBeLessThan(TOLERANCE_MS);
    console.info(`garp_master_refresh bursts: lvsd ${JSON.stringify(gaps(lvsd.map((b) => b.at)))} ms, keepalived ${JSON.stringify(gaps(keepalived.map((b) => b.at)))} ms`);
  }, 60_000);

  it.for(['lvsd', 'keepalived'] as const)(
    '%s as master hearing a lower priority master: garp_lower_prio_repeat 2 at once, and as many again garp_lower_prio_delay 2 s later',
    { timeout: 60_000 },
    async (implementation, context) => {
      const lab = await labForTest(context);
      const garps = await lowerPriorityGarps(lab, implementation);
      const first = garps[0]!.at;
      const atOnce = garps.filter((packet) => packet.at - first < 1.5);
      const delayed = garps.filter((packet) => packet.at - first >= 1.5);
      expect(atOnce.length).toBeGreaterThanOrEqual(2);
      expect(atOnce.length % 2).toBe(0);
      expect(delayed.length).toBe(atOnce.length);
      expect(Math.abs((delayed[0]!.at - first) * 1000 - 2000)).toBeLessThan(TOLERANCE_MS);
      console.info(`${implementation} lower priority GARPs at ${JSON.stringify(garps.map((packet) => Math.round((packet.at - first) * 1000)))} ms`);
    },
  );
});
