// skip_check_adv_addr against keepalived 2.2.7 in the two-node lab (lab.ts): a master whose address
// list changes on reload keeps a backup that skips the check, and loses one that does not.
import { describe, expect, it } from 'vitest';
import { labForTest, sleep, V2_WAIT } from './lab.ts';
import type { Implementation } from './peers.ts';
import { labInstanceConfig, startWithConfig } from './same-config.ts';

const VIP = '10.77.0.100';
const ADDED_VIP = '10.77.0.101';
/** Beyond a backup's master down interval (3 x 1 s + skew), with room for a loaded host. */
const PAST_MASTER_DOWN_MS = 5000;

function config(priority: number, vips: string[], skip: boolean): string {
  return labInstanceConfig({ vrid: 84, priority, vips: vips.map((vip) => `${vip}/24`), lines: skip ? ['skip_check_adv_addr'] : [] });
}

describe.concurrent('skip_check_adv_addr on the wire, lvsd and keepalived 2.2.7 alike', { retry: 1 }, () => {
  it.for<Implementation>(['keepalived', 'lvsd'])(
    "%s as backup keeps following a master that lists another address after its reload with skip_check_adv_addr, and takes over without it",
    async (implementation, context) => {
      const lab = await labForTest(context);
      const master = await startWithConfig(lab, lab.b, 'keepalived', 'master', config(200, [VIP], false));
      expect(await lab.waitForAddress(lab.b, VIP, true, V2_WAIT)).toBe(true);
      const skipping = await startWithConfig(lab, lab.a, implementation, `${implementation}-skip`, config(100, [VIP], true));
      expect(skipping.warnings).toEqual([]);
      // It has accepted the master's adverts before they change.
      await sleep(2500);
      await master.reload(config(200, [VIP, ADDED_VIP], false));
      expect(await lab.waitForAddress(lab.b, ADDED_VIP, true, V2_WAIT)).toBe(true);
      await sleep(PAST_MASTER_DOWN_MS);
      expect(await lab.hasAddress(lab.a, VIP)).toBe(false);
      await skipping.kill();
      await startWithConfig(lab, lab.a, implementation, `${implementation}-check`, config(100, [VIP], false));
      expect(await lab.waitForAddress(lab.a, VIP, true, V2_WAIT)).toBe(true);
    },
  );
});
