// VRRPv3 (sub-second adverts): lvsd's VRRP speaker against the real keepalived 2.2.7, each in its own
// network namespace on a veth pair (see lab.ts). Node A is 10.77.0.1, node B 10.77.0.2.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labForTest, run, sleep, V3_WAIT, V4 } from './lab.ts';
import { keepalivedConfig, speakerInstance, type PeerConfig } from './peers.ts';

// Two live daemons converging over real sockets: on a loaded 2-core CI machine a status file or
// an advert can lag the assertion, so a failed case is run again (its assertions unchanged).
describe('lvsd and keepalived 2.2.7 as VRRP peers', { retry: 2 }, () => {
  it('v3 unicast at 0.3 s: lvsd takes over from a killed keepalived, which does not take it back with nopreempt', async (context) => {
    const lab = await labForTest(context);
    const base = { vrid: 52, version: 3, advertIntervalMs: 300, ...V4 } satisfies Partial<PeerConfig>;
    const kaConfig = keepalivedConfig({ ...base, name: 'ka', priority: 150, preempt: false, unicast: { source: lab.a.ipv4, peer: lab.b.ipv4 } });
    lab.startKeepalived(lab.a, 'ka', kaConfig);
    await lab.waitForKeepalivedPids('ka');
    await lab.startSpeaker(lab.b, 'lvsd', [speakerInstance({ ...base, name: 'lvsd', priority: 100, unicast: { source: lab.b.ipv4, peer: lab.a.ipv4 } })]);
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V3_WAIT)).toBe(true);
    await sleep(500);
    expect(await lab.hasAddress(lab.b, V4.vip)).toBe(false);
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'BACKUP', masterAddress: '10.77.0.1' });
    expect((await lab.speakerStatus('lvsd'))[0]?.lastAdvertAgeMs).toBeLessThan(500);

    const announcement = await lab.captureAnnouncement(lab.a, V4.vip, V3_WAIT);
    for (const pid of lab.keepalivedPids('ka')) process.kill(pid, 'SIGKILL');
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V3_WAIT)).toBe(true);
    expect(await announcement()).toBe(true);

    lab.startKeepalived(lab.a, 'ka2', kaConfig);
    // keepalived removes the VIPs its crashed predecessor left, then listens as backup.
    expect(await lab.waitForLog('ka2', 'Entering BACKUP STATE', 10_000)).toBe(true);
    await sleep(1000);
    expect(await lab.hasAddress(lab.b, V4.vip)).toBe(true);
    expect(await lab.hasAddress(lab.a, V4.vip)).toBe(false);
  }, 30_000);

  it('v3 multicast: lvsd hands over at once on SIGTERM (notify STOP) and, with nopreempt, does not take the VIP back', async (context) => {
    const lab = await labForTest(context);
    const base = { vrid: 53, version: 3, advertIntervalMs: 200, ...V4 } satisfies Partial<PeerConfig>;
    const notifyLog = join(lab.dir, 'notify.log');
    const lvsdSpec = [speakerInstance({ ...base, name: 'lvsd', priority: 150, preempt: false, notifyLog })];
    const lvsd = await lab.startSpeaker(lab.b, 'lvsd', lvsdSpec);
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V3_WAIT)).toBe(true);
    lab.startKeepalived(lab.a, 'ka', keepalivedConfig({ ...base, name: 'ka', priority: 100 }));
    await sleep(1500);
    expect(await lab.hasAddress(lab.a, V4.vip)).toBe(false);

    const stoppedAt = Date.now();
    await lab.stop(lvsd, 'SIGTERM');
    expect(await lab.hasAddress(lab.b, V4.vip)).toBe(false);
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V3_WAIT)).toBe(true);
    // A priority 0 advert lets the backup take over after its skew time, not Master_Down_Interval.
    expect(Date.now() - stoppedAt).toBeLessThan(2000);
    expect(readFileSync(notifyLog, 'utf8')).toBe('INSTANCE lvsd BACKUP 150\nINSTANCE lvsd MASTER 150\nINSTANCE lvsd STOP 150\n');

    await lab.startSpeaker(lab.b, 'lvsd', lvsdSpec);
    await sleep(1500);
    expect(await lab.hasAddress(lab.a, V4.vip)).toBe(true);
    expect(await lab.hasAddress(lab.b, V4.vip)).toBe(false);
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'BACKUP', effectivePriority: 150, masterAddress: '10.77.0.1' });
  }, 30_000);

  for (const lvsdNode of ['b', 'a'] as const) {
    it(`equal priorities: of two masters that meet, the higher IP stays (lvsd on ${lvsdNode === 'b' ? 'the higher' : 'the lower'} address)`, async (context) => {
      const lab = await labForTest(context);
      const base = { vrid: 54, version: 3, advertIntervalMs: 200, priority: 100, initialState: 'MASTER', ...V4 } satisfies Partial<PeerConfig>;
      const [lvsdAt, kaAt] = lvsdNode === 'b' ? [lab.b, lab.a] : [lab.a, lab.b];
      // A backup follows an equal-priority master whatever its address (RFC 5798 6.4.2, keepalived
      // alike), so the tie-break is only seen when both became master apart: start them partitioned.
      await lab.partition();
      lab.startKeepalived(kaAt, 'ka', keepalivedConfig({ ...base, name: 'ka' }));
      await lab.startSpeaker(lvsdAt, 'lvsd', [speakerInstance({ ...base, name: 'lvsd' })]);
      for (const node of [lab.a, lab.b]) expect(await lab.waitForAddress(node, V4.vip, true, V3_WAIT)).toBe(true);
      await lab.heal();
      expect(await lab.waitForAddress(lab.a, V4.vip, false, 5_000)).toBe(true);
      expect(await lab.hasAddress(lab.b, V4.vip)).toBe(true);
      const status = (await lab.speakerStatus('lvsd'))[0];
      expect(status?.state).toBe(lvsdNode === 'b' ? 'MASTER' : 'BACKUP');
    }, 20_000);
  }

  it('reload keeps the master and its VIPs in place, adds new VIPs, and retires removed instances', async (context) => {
    const lab = await labForTest(context);
    const base = { vrid: 57, version: 3, advertIntervalMs: 200, ...V4 } satisfies Partial<PeerConfig>;
    lab.startKeepalived(lab.a, 'ka', keepalivedConfig({ ...base, name: 'ka', priority: 100 }));
    const main = speakerInstance({ ...base, name: 'lvsd', priority: 150 });
    const extra = speakerInstance({ ...base, name: 'other', vrid: 58, priority: 150, vip: '10.77.0.110' });
    const lvsd = await lab.startSpeaker(lab.b, 'lvsd', [main, extra]);
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V3_WAIT)).toBe(true);
    expect(await lab.waitForAddress(lab.b, '10.77.0.110', true, V3_WAIT)).toBe(true);

    const added = { address: '10.77.0.102', prefixLength: 24, dev: undefined, label: undefined, scope: 'global' as const };
    // keepalived checks the address list of adverts, so the added VIP goes in the excluded list.
    lab.reloadSpeaker(lvsd, 'lvsd', [{ ...main, priority: 140, excludedAddresses: [added] }]);
    expect(await lab.waitForAddress(lab.b, added.address, true, V3_WAIT)).toBe(true);
    expect(await lab.waitForAddress(lab.b, '10.77.0.110', false, V3_WAIT)).toBe(true);
    for (let check = 0; check < 10; check++) {
      expect(await lab.hasAddress(lab.b, V4.vip)).toBe(true);
      expect(await lab.hasAddress(lab.a, V4.vip)).toBe(false);
      await sleep(100);
    }
    expect((await lab.speakerStatus('lvsd'))).toMatchObject([{ name: 'lvsd', state: 'MASTER', configuredPriority: 140 }]);
    expect(lab.log('lvsd').match(/Entering MASTER/g)).toHaveLength(3);
  }, 30_000);

  it('track_interface: a tracked link losing carrier puts lvsd in FAULT and the VIP moves; it returns when the link does', async (context) => {
    const lab = await labForTest(context);
    await run('ip', ['-n', lab.b.ns, 'link', 'add', 'trk0', 'type', 'veth', 'peer', 'name', 'trk1']);
    for (const link of ['trk0', 'trk1']) await run('ip', ['-n', lab.b.ns, 'link', 'set', link, 'up']);
    const base = { vrid: 59, version: 3, advertIntervalMs: 200, ...V4 } satisfies Partial<PeerConfig>;
    lab.startKeepalived(lab.a, 'ka', keepalivedConfig({ ...base, name: 'ka', priority: 100 }));
    await lab.startSpeaker(lab.b, 'lvsd', [{ ...speakerInstance({ ...base, name: 'lvsd', priority: 150 }), trackInterfaces: [{ name: 'trk0', weight: 0, reverse: false }] }]);
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V3_WAIT)).toBe(true);

    await run('ip', ['-n', lab.b.ns, 'link', 'set', 'trk1', 'down']);
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V3_WAIT)).toBe(true);
    expect(await lab.hasAddress(lab.b, V4.vip)).toBe(false);
    expect((await lab.speakerStatus('lvsd'))[0]?.state).toBe('FAULT');

    await run('ip', ['-n', lab.b.ns, 'link', 'set', 'trk1', 'up']);
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V3_WAIT)).toBe(true);
    expect(await lab.waitForAddress(lab.a, V4.vip, false, V3_WAIT)).toBe(true);
  }, 30_000);

  it('sync group: members wait for each other and move together', async (context) => {
    const lab = await labForTest(context);
    const vip2 = '10.77.0.101';
    const common = { version: 3, advertIntervalMs: 200, priority: 100, vipPrefix: 24 } satisfies Partial<PeerConfig>;
    const members = [
      speakerInstance({ ...common, name: 'VI_1', vrid: 61, vip: V4.vip }),
      speakerInstance({ ...common, name: 'VI_2', vrid: 62, vip: vip2 }),
    ];
    // keepalived runs only VI_1: alone, lvsd's VI_2 would be master at once, but its group holds it.
    lab.startKeepalived(lab.a, 'ka', keepalivedConfig({ ...common, name: 'ka', vrid: 61, vip: V4.vip, priority: 150 }));
    await lab.waitForKeepalivedPids('ka');
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V3_WAIT)).toBe(true);
    await lab.startSpeaker(lab.b, 'lvsd', members, [{ name: 'G', members: ['VI_1', 'VI_2'] }]);
    await sleep(1500);
    expect(await lab.hasAddress(lab.b, vip2)).toBe(false);
    expect((await lab.speakerStatus('lvsd')).map((s) => s.state)).toEqual(['BACKUP', 'BACKUP']);

    for (const pid of lab.keepalivedPids('ka')) process.kill(pid, 'SIGKILL');
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V3_WAIT)).toBe(true);
    expect(await lab.waitForAddress(lab.b, vip2, true, V3_WAIT)).toBe(true);
  }, 30_000);

  it('IPv6, v3 multicast: keepalived failing its vrrp_script hands the VIP to lvsd, announced by unsolicited NA', async (context) => {
    const lab = await labForTest(context);
    const checkFile = join(lab.dir, 'healthy');
    writeFileSync(checkFile, '');
    const vip = 'fd00:77::100';
    const base = { vrid: 56, version: 3, advertIntervalMs: 200, vip, vipPrefix: 64 } satisfies Partial<PeerConfig>;
    lab.startKeepalived(lab.a, 'ka', keepalivedConfig({ ...base, name: 'ka', priority: 110, checkFile: { path: checkFile, weight: -20 } }));
    await lab.startSpeaker(lab.b, 'lvsd', [speakerInstance({ ...base, name: 'lvsd', priority: 100 })]);
    expect(await lab.waitForAddress(lab.a, vip, true, V3_WAIT)).toBe(true);
    await sleep(500);
    expect(await lab.hasAddress(lab.b, vip)).toBe(false);
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'BACKUP', masterAddress: lab.a.linkLocal });

    const announcement = await lab.captureAnnouncement(lab.a, vip, 6000);
    rmSync(checkFile);
    expect(await lab.waitForAddress(lab.b, vip, true, 6000)).toBe(true);
    expect(await lab.waitForAddress(lab.a, vip, false, 2000)).toBe(true);
    expect(await announcement()).toBe(true);
  }, 30_000);

});
