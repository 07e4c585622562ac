// track_src_ip in the two-node lab (lab.ts), beside keepalived 2.2.7: lvsd does what keepalived's
// manual says (a master whose configured unicast_src_ip leaves its interface drops to FAULT, its VIP
// goes, and comes back with the address); keepalived 2.2.7 compares the address with the start of
// its sockaddr, never finds it gone, and stays master, as both do without track_src_ip.
import { describe, expect, it } from 'vitest';
import { LAB_INTERFACE, labForTest, run, sleep, V2_WAIT, type Lab } from './lab.ts';
import type { Implementation } from './peers.ts';
import { labInstanceConfig, startWithConfig } from './same-config.ts';

/** In a subnet of its own, so that it outlives the interface's address. */
const VIP = '10.77.8.100';
/** lvsd looks at its interfaces once a second, keepalived hears netlink at once. */
const NOTICED_MS = 3000;

function config(lab: Lab, track: boolean): string {
  // Nobody at the peer's address: a is master.
  const lines = [`unicast_src_ip ${lab.a.ipv4}`, 'unicast_peer {', `  ${lab.b.ipv4}`, '}', ...(track ? ['track_src_ip'] : [])];
  return labInstanceConfig({ vrid: 90, priority: 100, vips: [`${VIP}/32`], lines });
}

const address = (lab: Lab, verb: 'add' | 'del') => run('ip', ['-n', lab.a.ns, 'addr', verb, `${lab.a.ipv4}/24`, 'dev', LAB_INTERFACE]);

async function staysMasterWithoutItsAddress(lab: Lab): Promise<boolean> {
  await address(lab, 'del');
  await sleep(NOTICED_MS);
  return lab.hasAddress(lab.a, VIP);
}

describe.concurrent('track_src_ip', { retry: 1 }, () => {
  it('lvsd as master goes to FAULT when its unicast_src_ip leaves the interface, and comes back with it', async (context) => {
    const lab = await labForTest(context);
    const tracking = await startWithConfig(lab, lab.a, 'lvsd', 'lvsd', config(lab, true));
    expect(tracking.warnings).toEqual([expect.stringMatching(/^\(VI\) track_src_ip: lvsd keeps the instance in FAULT .* keepalived 2\.2\.7 never does/)]);
    expect(await lab.waitForAddress(lab.a, VIP, true, V2_WAIT)).toBe(true);
    await address(lab, 'del');
    expect(await lab.waitForAddress(lab.a, VIP, false, NOTICED_MS)).toBe(true);
    expect(await lab.waitForLog('lvsd', 'Entering FAULT STATE', 1000)).toBe(true);
    await address(lab, 'add');
    expect(await lab.waitForAddress(lab.a, VIP, true, V2_WAIT)).toBe(true);
  });

  it('keepalived 2.2.7 as master stays master when its unicast_src_ip leaves the interface', async (context) => {
    const lab = await labForTest(context);
    await startWithConfig(lab, lab.a, 'keepalived', 'keepalived', config(lab, true));
    expect(await lab.waitForAddress(lab.a, VIP, true, V2_WAIT)).toBe(true);
    expect(await staysMasterWithoutItsAddress(lab)).toBe(true);
  });

  it.for<Implementation>(['keepalived', 'lvsd'])(
    '%s without track_src_ip stays master when its unicast_src_ip leaves the interface',
    async (implementation, context) => {
      const lab = await labForTest(context);
      await startWithConfig(lab, lab.a, implementation, implementation, config(lab, false));
      expect(await lab.waitForAddress(lab.a, VIP, true, V2_WAIT)).toBe(true);
      expect(await staysMasterWithoutItsAddress(lab)).toBe(true);
    },
  );
});
