// mcast_dst_ip and global_defs' vrrp_mcast_group4 against keepalived 2.2.7 in the two-node lab
// (lab.ts): adverts go to the configured group, and only routers on that group hear each other.
import { describe, expect, it } from 'vitest';
import { startCapture } from './capture.ts';
import { labForTest, sleep, V2_WAIT } from './lab.ts';
import type { Implementation } from './peers.ts';
import { labInstanceConfig, startWithConfig } from './same-config.ts';

const VIP = '10.77.0.100';
const GROUP = '224.0.0.100';
/** Beyond a backup's master down interval (3 x 1 s + skew), with room for a loaded host. */
const PAST_MASTER_DOWN_MS = 5000;

type Form = 'mcast_dst_ip' | 'vrrp_mcast_group4';

function config(priority: number, form: Form): string {
  return labInstanceConfig({
    vrid: 85,
    priority,
    vips: [`${VIP}/24`],
    ...(form === 'mcast_dst_ip' ? { lines: [`mcast_dst_ip ${GROUP}`] } : { globals: [`vrrp_mcast_group4 ${GROUP}`] }),
  });
}

const CASES: [Implementation, Form][] = [['keepalived', 'mcast_dst_ip'], ['lvsd', 'mcast_dst_ip'], ['lvsd', 'vrrp_mcast_group4']];

describe.concurrent('the multicast group of adverts, lvsd and keepalived 2.2.7 alike', { retry: 1 }, () => {
  it.for(CASES)('%s with %s: hears a keepalived master on that group, and as master advertises to it', async ([implementation, form], context) => {
    const lab = await labForTest(context);
    // keepalived on the other side names the group the other way.
    const otherForm: Form = form === 'mcast_dst_ip' ? 'vrrp_mcast_group4' : 'mcast_dst_ip';
    const master = await startWithConfig(lab, lab.b, 'keepalived', 'higher', config(200, otherForm));
    expect(await lab.waitForAddress(lab.b, VIP, true, V2_WAIT)).toBe(true);
    const tested = await startWithConfig(lab, lab.a, implementation, implementation, config(100, form));
    expect(tested.warnings).toEqual([]);
    await sleep(PAST_MASTER_DOWN_MS);
    expect(await lab.hasAddress(lab.a, VIP)).toBe(false);
    await master.kill();
    expect(await lab.waitForAddress(lab.a, VIP, true, V2_WAIT)).toBe(true);
    await lab.removeAddress(lab.b, VIP, 24);
    const capture = await startCapture(lab.b, VIP, 20);
    await startWithConfig(lab, lab.b, 'keepalived', 'lower', config(50, otherForm));
    await sleep(PAST_MASTER_DOWN_MS);
    expect(await lab.hasAddress(lab.b, VIP)).toBe(false);
    const adverts = (await capture.stop()).filter((packet) => packet.kind === 'vrrp');
    expect(adverts.length).toBeGreaterThan(0);
    expect(new Set(adverts.map((packet) => `${packet.sourceIp} > ${packet.destinationIp}`))).toEqual(new Set([`${lab.a.ipv4} > ${GROUP}`]));
  });
});
