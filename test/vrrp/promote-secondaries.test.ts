// promote_secondaries against keepalived 2.2.7 in the two-node lab (lab.ts): the interface's
// sysctl while each runs and after it stops, and what it is for: the VIP, a secondary address of
// a subnet on the interface, survives the removal of that subnet's primary address.
import { describe, expect, it } from 'vitest';
import { LAB_INTERFACE, labForTest, run, sleep, V2_WAIT, type Lab } from './lab.ts';
import type { Implementation } from './peers.ts';
import { labInstanceConfig, startWithConfig } from './same-config.ts';

/** The primary address of a second subnet on the interface, and the VIP in it. */
const PRIMARY = '10.77.8.1';
const VIP = '10.77.8.100';

const CONFIG = labInstanceConfig({ vrid: 86, priority: 100, vips: [`${VIP}/24`], lines: ['promote_secondaries'] });

async function promoteSecondaries(lab: Lab): Promise<string> {
  return (await run('ip', ['netns', 'exec', lab.a.ns, 'sysctl', '-n', `net.ipv4.conf.${LAB_INTERFACE}.promote_secondaries`])).trim();
}

async function waitForSysctl(lab: Lab, value: string): Promise<string> {
  for (let attempt = 0; attempt < 50 && (await promoteSecondaries(lab)) !== value; attempt++) await sleep(100);
  return promoteSecondaries(lab);
}

describe.concurrent('promote_secondaries, lvsd and keepalived 2.2.7 alike', { retry: 1 }, () => {
  it.for<Implementation>(['keepalived', 'lvsd'])(
    "%s turns the interface's promote_secondaries on from its start to its stop, and the VIP outlives its subnet's primary address",
    async (implementation, context) => {
      const lab = await labForTest(context);
      expect(await promoteSecondaries(lab)).toBe('0');
      await run('ip', ['-n', lab.a.ns, 'addr', 'add', `${PRIMARY}/24`, 'dev', LAB_INTERFACE]);
      const router = await startWithConfig(lab, lab.a, implementation, implementation, CONFIG);
      expect(router.warnings).toEqual([]);
      expect(await waitForSysctl(lab, '1')).toBe('1');
      expect(await lab.waitForAddress(lab.a, VIP, true, V2_WAIT)).toBe(true);
      await run('ip', ['-n', lab.a.ns, 'addr', 'del', `${PRIMARY}/24`, 'dev', LAB_INTERFACE]);
      await sleep(500);
      expect(await lab.hasAddress(lab.a, VIP)).toBe(true);
      await router.stop();
      expect(await waitForSysctl(lab, '0')).toBe('0');
    },
  );
});
