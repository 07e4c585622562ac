// A split brain that heals (keepalived issues #166, #1528), on the wire: two routers of one VRID and
// a switch with a host on it, three namespaces. The routers are partitioned until both are master
// (the switch hears both, and its neighbour entry for the VIP takes the later master's MAC), then
// healed just after the loser's advert, so that the winner's advert reaches the loser first, as
// it does whenever the winner's turn comes first. Run by lvsd and by keepalived 2.2.7.
import { describe, expect, it, type TestContext } from 'vitest';
import { macOf, startCapture, type Capture } from './capture.ts';
import { labForTest, run, sleep, V2_WAIT, V4, type Lab } from './lab.ts';
import { startPeer, type Implementation, type PeerConfig } from './peers.ts';

const ADVERT_INTERVAL_MS = 1000;
const BASE = { vrid: 82, version: 2, advertIntervalMs: ADVERT_INTERVAL_MS, ...V4 } satisfies Partial<PeerConfig>;
/** The heal's two route deletions and the capture's reporting lag, on a loaded host. */
const HEAL_SLACK_MS = 150;

interface Healed {
  lab: Lab;
  /** Milliseconds from the heal to the winner's first GARP after it, undefined for none. */
  garpAfterMs: number | undefined;
  garpsAfter: number;
  winnerMac: string;
  loserMac: string;
  /** The switch's neighbour entry for the VIP: before the partition, in it, and once the loser has let go. */
  switchSaw: { before: string | undefined; partitioned: string | undefined; healed: string | undefined };
}

async function waitForNeighbour(lab: Lab, mac: string, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let seen = await lab.switchNeighbour(V4.vip);
  while (seen !== mac && Date.now() < deadline) {
    await sleep(50);
    seen = await lab.switchNeighbour(V4.vip);
  }
  return seen;
}

/** Resolves as soon as the capture holds an advert from `source` sent after `since` (seconds). */
async function nextAdvertFrom(capture: Capture, source: string, since: number): Promise<void> {
  const deadline = Date.now() + 3 * ADVERT_INTERVAL_MS;
  while (!capture.packets().some((packet) => packet.kind === 'vrrp' && packet.sourceIp === source && packet.at > since)) {
    if (Date.now() > deadline) throw new Error(`no advert from ${source}`);
    await sleep(5);
  }
}

async function splitBrainHeal(context: TestContext, implementation: Implementation): Promise<Healed> {
  const lab = await labForTest(context, { withSwitch: true });
  const sw = lab.sw!;
  await startPeer(lab, lab.a, implementation, { ...BASE, name: `${implementation}-a`, priority: 200 });
  await startPeer(lab, lab.b, implementation, { ...BASE, name: `${implementation}-b`, priority: 100 });
  const [winnerMac, loserMac] = [await macOf(lab.a, run), await macOf(lab.b, run)];
  expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
  // Any packet to the VIP makes the switch resolve it (the port is closed: a reset is answer enough).
  await run('ip', ['netns', 'exec', sw.ns, 'curl', '-s', '-m', '1', `http://${V4.vip}:9/`]).catch(() => undefined);
  const before = await lab.switchNeighbour(V4.vip);

  await lab.partition();
  expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);
  const partitioned = await waitForNeighbour(lab, loserMac, 2000);

  const capture = await startCapture(sw, V4.vip, 30);
  await nextAdvertFrom(capture, lab.b.ipv4, Date.now() / 1000);
  const healedAt = Date.now() / 1000;
  await lab.heal();
  expect(await lab.waitForAddress(lab.b, V4.vip, false, V2_WAIT)).toBe(true);
  await sleep(1500);
  const healed = await lab.switchNeighbour(V4.vip);
  const garps = (await capture.stop()).filter((packet) => packet.kind === 'garp' && packet.sourceMac === winnerMac && packet.at >= healedAt);
  const garpAfterMs = garps[0] === undefined ? undefined : Math.round((garps[0].at - healedAt) * 1000);
  return { lab, garpAfterMs, garpsAfter: garps.length, winnerMac, loserMac, switchSaw: { before, partitioned, healed } };
}

describe.concurrent('a split brain that heals, lvsd and keepalived 2.2.7 on a switch', { retry: 1 }, () => {
  it('lvsd: the master that stays re-sends its GARPs within one advert interval of the heal, the switch holds its MAC again, and the split brain is logged, counted and shown with its length', async (context) => {
    const { lab, garpAfterMs, garpsAfter, winnerMac, loserMac, switchSaw } = await splitBrainHeal(context, 'lvsd');
    console.info(`lvsd: first GARP ${garpAfterMs} ms after the heal (${garpsAfter} in all); switch ${JSON.stringify(switchSaw)}, winner ${winnerMac}, loser ${loserMac}`);
    expect(switchSaw).toEqual({ before: winnerMac, partitioned: loserMac, healed: winnerMac });
    expect(garpAfterMs).toBeLessThan(ADVERT_INTERVAL_MS + HEAL_SLACK_MS);
    expect(garpsAfter).toBe(5);

    expect(await lab.waitForLog('lvsd-a', 'split brain: 10.77.0.2 (priority 100) is master too', 1000)).toBe(true);
    const [during] = await lab.speakerStatus('lvsd-a');
    expect(during).toMatchObject({ state: 'MASTER', splitBrains: 1 });
    expect(await lab.waitForLog('lvsd-a', 'split brain with 10.77.0.2 ended after', 4000)).toBe(true);
    const [after] = await lab.speakerStatus('lvsd-a');
    expect(after).toMatchObject({ state: 'MASTER', splitBrains: 1, lastSplitBrain: { peer: '10.77.0.2', peerPriority: 100, outcome: 'stayed-master' } });
    expect(after?.splitBrain).toBeUndefined();
    console.info(`lvsd: the split brain as the winner saw it: ${JSON.stringify(after?.lastSplitBrain)}`);
  }, 90_000);

  it('keepalived 2.2.7: the master that stays sends no GARP, and the switch keeps the loser\'s MAC for the VIP', async (context) => {
    const { garpAfterMs, garpsAfter, winnerMac, loserMac, switchSaw } = await splitBrainHeal(context, 'keepalived');
    console.info(`keepalived: first GARP ${garpAfterMs} ms after the heal (${garpsAfter} in all); switch ${JSON.stringify(switchSaw)}, winner ${winnerMac}, loser ${loserMac}`);
    expect(switchSaw).toEqual({ before: winnerMac, partitioned: loserMac, healed: loserMac });
    expect(garpsAfter).toBe(0);
  }, 90_000);
});
