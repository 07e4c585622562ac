// old_unicast_checksum against keepalived 2.2.7 in the two-node lab (lab.ts): VRRPv3 unicast adverts
// summed as if sent to 224.0.0.18 (keepalived up to 1.3.6), taken by default, dropped with `never`,
// and sent with the keyword alone.
import { describe, expect, it } from 'vitest';
import { labForTest, sleep, V2_WAIT, type Node } from './lab.ts';
import type { Implementation } from './peers.ts';
import { labInstanceConfig, startWithConfig } from './same-config.ts';

const VIP = '10.77.0.100';
/** Beyond a backup's master down interval (3 x 1 s + skew), with room for a loaded host. */
const PAST_MASTER_DOWN_MS = 5000;

function config(self: Node, peer: Node, priority: number, checksum: '' | 'old_unicast_checksum' | 'old_unicast_checksum never'): string {
  const lines = ['version 3', `unicast_src_ip ${self.ipv4}`, 'unicast_peer {', `  ${peer.ipv4}`, '}', ...(checksum ? [checksum] : [])];
  return labInstanceConfig({ vrid: 89, priority, vips: [`${VIP}/24`], lines });
}

describe.concurrent('old_unicast_checksum on the wire, lvsd and keepalived 2.2.7 alike', { retry: 1 }, () => {
  it.for<Implementation>(['keepalived', 'lvsd'])(
    "%s takes a master's old-style checksums by default, drops them with `never`, and sends them with the keyword",
    async (implementation, context) => {
      const lab = await labForTest(context);
      const { a, b } = lab;
      const old = await startWithConfig(lab, b, 'keepalived', 'old', config(b, a, 200, 'old_unicast_checksum'));
      expect(await lab.waitForAddress(b, VIP, true, V2_WAIT)).toBe(true);
      const detecting = await startWithConfig(lab, a, implementation, `${implementation}-detect`, config(a, b, 100, ''));
      expect(detecting.warnings).toEqual([]);
      await sleep(PAST_MASTER_DOWN_MS);
      expect(await lab.hasAddress(a, VIP)).toBe(false);
      if (implementation === 'lvsd') expect(lab.log(`${implementation}-detect`)).toContain('(VI) Setting unicast VRRPv3 checksum to old version');
      await detecting.kill();
      const never = await startWithConfig(lab, a, implementation, `${implementation}-never`, config(a, b, 100, 'old_unicast_checksum never'));
      expect(await lab.waitForAddress(a, VIP, true, V2_WAIT)).toBe(true);
      await Promise.all([never.kill(), old.kill()]);
      await lab.removeAddress(b, VIP, 24);
      // Sending: a keepalived that never takes old checksums drops ours and becomes master too.
      await startWithConfig(lab, a, implementation, `${implementation}-old`, config(a, b, 200, 'old_unicast_checksum'));
      expect(await lab.waitForAddress(a, VIP, true, V2_WAIT)).toBe(true);
      await startWithConfig(lab, b, 'keepalived', 'strict', config(b, a, 100, 'old_unicast_checksum never'));
      expect(await lab.waitForAddress(b, VIP, true, V2_WAIT)).toBe(true);
    },
  );
});
