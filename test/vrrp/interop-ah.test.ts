// auth_type AH (VRRPv2 in an IPsec AH header, HMAC-MD5-96 keyed by auth_pass) between lvsd and
// keepalived 2.2.7, each in its own namespace (lab.ts): each accepts the other's adverts as
// master and as backup, and a wrong key makes the adverts dropped, counted, and the backup master.
import { describe, expect, it } from 'vitest';
import { labForTest, sleep, V2_WAIT, V4, type Node } from './lab.ts';
import { speakerInstance, startPeer, type PeerConfig } from './peers.ts';

const BASE = { vrid: 84, version: 2, advertIntervalMs: 1000, password: 'secret12', authType: 'AH', ...V4 } satisfies Partial<PeerConfig>;
/** Longer than a Master_Down_Interval (3.6 s): a backup that dropped the adverts would be master by then. */
const HOLD_MS = 5000;
/** Unicast adverts leave the TTL out of the ICV. */
const unicast = (mode: 'multicast' | 'unicast', self: Node, other: Node) => (mode === 'unicast' ? { unicast: { source: self.ipv4, peer: other.ipv4 } } : {});

describe.concurrent('auth_type AH, lvsd and keepalived 2.2.7', { retry: 1 }, () => {
  it.for(['multicast', 'unicast'] as const)('%s, keepalived master, lvsd backup: lvsd accepts its AH adverts and stays backup', { timeout: 40_000 }, async (mode, context) => {
    const lab = await labForTest(context);
    await startPeer(lab, lab.a, 'keepalived', { ...BASE, name: 'ka', priority: 150, ...unicast(mode, lab.a, lab.b) });
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
    await startPeer(lab, lab.b, 'lvsd', { ...BASE, name: 'lvsd', priority: 100, ...unicast(mode, lab.b, lab.a) });
    await sleep(HOLD_MS);
    const [status] = await lab.speakerStatus('lvsd');
    expect(status).toMatchObject({ state: 'BACKUP', masterAddress: lab.a.ipv4, droppedPackets: {} });
    expect(status?.advertsReceived).toBeGreaterThanOrEqual(4);
    expect(await lab.hasAddress(lab.b, V4.vip)).toBe(false);
  });

  it.for(['multicast', 'unicast'] as const)('%s, lvsd master, keepalived backup: keepalived accepts lvsd\'s AH adverts and stays backup, then takes over when lvsd stops', { timeout: 40_000 }, async (mode, context) => {
    const lab = await labForTest(context);
    const lvsd = await lab.startSpeaker(lab.a, 'lvsd', [speakerInstance({ ...BASE, name: 'lvsd', priority: 150, ...unicast(mode, lab.a, lab.b) })]);
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
    await startPeer(lab, lab.b, 'keepalived', { ...BASE, name: 'ka', priority: 100, ...unicast(mode, lab.b, lab.a) });
    await sleep(HOLD_MS);
    expect(await lab.hasAddress(lab.b, V4.vip)).toBe(false);
    expect(lab.log('ka')).toContain('Entering BACKUP STATE');
    expect(lab.log('ka')).not.toMatch(/IPSEC-AH|Entering MASTER STATE/);
    // lvsd's goodbye (priority 0, in AH too) lets keepalived take over at once, within the skew time.
    await lab.stop(lvsd);
    expect(await lab.waitForAddress(lab.b, V4.vip, true, 2000)).toBe(true);
  });

  it('a wrong key: each side drops the other\'s adverts (lvsd counts them as auth), and both become master', async (context) => {
    const lab = await labForTest(context);
    await startPeer(lab, lab.a, 'keepalived', { ...BASE, name: 'ka', priority: 150 });
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
    await startPeer(lab, lab.b, 'lvsd', { ...BASE, name: 'lvsd', priority: 100, password: 'other' });
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);
    await sleep(1500);
    const [status] = await lab.speakerStatus('lvsd');
    expect(status?.state).toBe('MASTER');
    // Master after a Master_Down_Interval (3.6 s) of keepalived's 1 s adverts: at least 3 dropped.
    expect(status?.droppedPackets.auth).toBeGreaterThanOrEqual(3);
    expect(lab.log('ka')).toContain('IPSEC-AH : invalid IPSEC HMAC-MD5 value');
    expect(await lab.hasAddress(lab.a, V4.vip)).toBe(true);
  }, 40_000);
});
