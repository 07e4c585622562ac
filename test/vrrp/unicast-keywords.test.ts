// check_unicast_src and unicast_fault_no_peer against keepalived 2.2.7 in the two-node lab (lab.ts).
import { describe, expect, it } from 'vitest';
import { startCapture } from './capture.ts';
import { labForTest, sleep, V2_WAIT, V4 } from './lab.ts';
import { startPeer, type Implementation, type PeerConfig } from './peers.ts';

const BASE = { vrid: 83, version: 2, advertIntervalMs: 1000, ...V4 } satisfies Partial<PeerConfig>;
/** a's listed peer: on the link's subnet, and nobody there. */
const ABSENT_PEER = '10.77.0.9';
/** Beyond a backup's master down interval (3 x 1 s + skew), with room for a loaded host. */
const PAST_MASTER_DOWN_MS = 5000;

/** b's keepalived, priority 200, sends unicast adverts to a, whose instance lists another address as its only unicast peer. */
describe.concurrent('check_unicast_src on the wire, lvsd and keepalived 2.2.7 alike', { retry: 1 }, () => {
  it.for<Implementation>(['keepalived', 'lvsd'])(
    '%s as backup takes a higher priority unicast advert from a source not in unicast_peer, and drops it with check_unicast_src',
    async (implementation, context) => {
      const lab = await labForTest(context);
      await startPeer(lab, lab.b, 'keepalived', { ...BASE, name: 'stranger', priority: 200, unicast: { source: lab.b.ipv4, peer: lab.a.ipv4 } });
      expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);
      const own = { ...BASE, priority: 100, unicast: { source: lab.a.ipv4, peer: ABSENT_PEER } };
      const open = await startPeer(lab, lab.a, implementation, { ...own, name: `${implementation}-open` });
      await sleep(PAST_MASTER_DOWN_MS);
      expect(await lab.hasAddress(lab.a, V4.vip)).toBe(false);
      await open.kill();
      await startPeer(lab, lab.a, implementation, { ...own, name: `${implementation}-checked`, checkUnicastSrc: true });
      expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
    },
  );
});

describe.concurrent("a unicast_peer's min_ttl on the wire, lvsd and keepalived 2.2.7 alike", { retry: 1 }, () => {
  it.for<Implementation>(['keepalived', 'lvsd'])(
    "%s as backup drops a higher priority peer's adverts sent with unicast_ttl 5 when the peer says min_ttl 10",
    async (implementation, context) => {
      const lab = await labForTest(context);
      await startPeer(lab, lab.b, 'keepalived', { ...BASE, name: 'far', priority: 200, unicastTtl: 5, unicast: { source: lab.b.ipv4, peer: lab.a.ipv4 } });
      expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);
      const own = { ...BASE, priority: 100 };
      const near = await startPeer(lab, lab.a, implementation, { ...own, name: `${implementation}-any-ttl`, unicast: { source: lab.a.ipv4, peer: lab.b.ipv4, minTtl: 5 } });
      await sleep(PAST_MASTER_DOWN_MS);
      expect(await lab.hasAddress(lab.a, V4.vip)).toBe(false);
      await near.kill();
      await startPeer(lab, lab.a, implementation, { ...own, name: `${implementation}-min-ttl`, unicast: { source: lab.a.ipv4, peer: lab.b.ipv4, minTtl: 10 } });
      expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
    },
  );
});

describe.concurrent('unicast_fault_no_peer on the wire, lvsd and keepalived 2.2.7 alike', { retry: 1 }, () => {
  it.for<Implementation>(['keepalived', 'lvsd'])(
    '%s with unicast_src_ip and no unicast_peer: multicast master without it, silent FAULT with it',
    async (implementation, context) => {
      const lab = await labForTest(context);
      const own = { ...BASE, priority: 100, unicastSource: lab.a.ipv4 };
      const capture = await startCapture(lab.a, V4.vip, 40);
      const multicast = await startPeer(lab, lab.a, implementation, { ...own, name: `${implementation}-multicast` });
      expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
      await multicast.kill();
      await lab.removeAddress(lab.a, V4.vip, V4.vipPrefix);
      await sleep(500);
      const faultFrom = capture.packets().at(-1)?.at ?? 0;
      await startPeer(lab, lab.a, implementation, { ...own, name: `${implementation}-fault`, unicastFaultNoPeer: true });
      await sleep(PAST_MASTER_DOWN_MS);
      expect(await lab.hasAddress(lab.a, V4.vip)).toBe(false);
      const packets = await capture.stop();
      const adverts = (from: number, to: number) => packets.filter((packet) => packet.kind === 'vrrp' && packet.at > from && packet.at <= to);
      expect(adverts(0, faultFrom).length).toBeGreaterThan(0);
      expect(adverts(0, faultFrom).every((packet) => packet.destinationIp === '224.0.0.18')).toBe(true);
      expect(adverts(faultFrom, Infinity)).toEqual([]);
    },
  );
});
