// garp_extra_if against keepalived 2.2.7 in the two-node lab (lab.ts) with a second link between
// the nodes: a master with a VIP on that other interface re-announces it there every interval with
// `all`, and only when it becomes master without.
import { describe, expect, it } from 'vitest';
import { startCapture } from './capture.ts';
import { labForTest, run, sleep, V2_WAIT, V4, type Lab } from './lab.ts';
import type { Implementation } from './peers.ts';
import { labInstanceConfig, startWithConfig } from './same-config.ts';

const EXTRA = 'vx0';
const EXTRA_VIP = '10.77.9.100';
const INTERVAL_S = 2;
const WATCH_MS = 9000;

function config(all: boolean): string {
  const lines = ['garp_master_repeat 1', `garp_extra_if${all ? ' all' : ''} ${INTERVAL_S}`];
  return labInstanceConfig({ vrid: 91, priority: 100, vips: [`${V4.vip}/${V4.vipPrefix}`, `${EXTRA_VIP}/32 dev ${EXTRA}`], lines });
}

/** A second veth pair between the nodes. */
async function cableExtra(lab: Lab): Promise<void> {
  await run('ip', ['-n', lab.a.ns, 'link', 'add', EXTRA, 'type', 'veth', 'peer', 'name', EXTRA, 'netns', lab.b.ns]);
  for (const node of [lab.a, lab.b]) await run('ip', ['-n', node.ns, 'link', 'set', EXTRA, 'up']);
}

/** The gratuitous ARPs for the extra VIP that b sees on the extra link, from a's becoming master on. */
async function extraAnnouncements(lab: Lab, implementation: Implementation, all: boolean): Promise<number[]> {
  await cableExtra(lab);
  const capture = await startCapture(lab.b, EXTRA_VIP, 30, EXTRA);
  const router = await startWithConfig(lab, lab.a, implementation, implementation, config(all));
  expect(router.warnings).toEqual([]);
  expect(await lab.waitForAddress(lab.a, EXTRA_VIP, true, V2_WAIT, EXTRA)).toBe(true);
  await sleep(WATCH_MS);
  return (await capture.stop()).filter((packet) => packet.kind === 'garp').map((packet) => packet.at);
}

describe.concurrent('garp_extra_if, lvsd and keepalived 2.2.7 alike', { retry: 1 }, () => {
  it.for<Implementation>(['keepalived', 'lvsd'])(`%s with garp_extra_if all ${INTERVAL_S}: one gratuitous ARP on the other interface every ${INTERVAL_S} s or so while master`, async (implementation, context) => {
    const lab = await labForTest(context);
    const times = await extraAnnouncements(lab, implementation, true);
    // The one on becoming master, then one at the first advert once the interval has passed.
    expect(times.length).toBeGreaterThanOrEqual(4);
    const gaps = times.slice(1).map((at, index) => at - times[index]!);
    expect(gaps.every((gap) => gap >= INTERVAL_S - 0.2 && gap <= INTERVAL_S + 1.3)).toBe(true);
  });

  it.for<Implementation>(['keepalived', 'lvsd'])(`%s with garp_extra_if ${INTERVAL_S} but no vmac: only the gratuitous ARP on becoming master`, async (implementation, context) => {
    const lab = await labForTest(context);
    expect(await extraAnnouncements(lab, implementation, false)).toHaveLength(1);
  });
});
