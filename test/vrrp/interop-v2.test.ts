// VRRPv2 (advert_int 1) and speaker safety: lvsd's VRRP speaker against the real keepalived 2.2.7, each in its own
// network namespace on a veth pair (see lab.ts). Node A is 10.77.0.1, node B 10.77.0.2.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labForTest, run, sleep, V2_WAIT, V4 } from './lab.ts';
import { keepalivedConfig, speakerInstance, type PeerConfig } from './peers.ts';

// Concurrent: v2 tests mostly wait out 1 s adverts, so they share the wall clock.
// Two live daemons converging over real sockets: on a loaded 2-core CI machine a status file or
// an advert can lag the assertion, so a failed case is run again (its assertions unchanged).
describe.concurrent('lvsd and keepalived 2.2.7 as VRRP peers', { retry: 2 }, () => {
  it('v2 multicast, PASS auth: the higher priority wins, SIGKILL moves the VIP (GARP seen), restart with preempt takes it back', async (context) => {
    const lab = await labForTest(context);
    const base = { vrid: 51, version: 2, advertIntervalMs: 1000, password: 'secret', ...V4 } satisfies Partial<PeerConfig>;
    lab.startKeepalived(lab.a, 'ka', keepalivedConfig({ ...base, name: 'ka', priority: 100 }));
    const lvsdSpec = [speakerInstance({ ...base, name: 'lvsd', priority: 150 })];
    const lvsd = await lab.startSpeaker(lab.b, 'lvsd', lvsdSpec);

    expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);
    expect(await lab.waitForAddress(lab.a, V4.vip, false, V2_WAIT)).toBe(true);
    await sleep(300);
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'MASTER', effectivePriority: 150, configuredPriority: 150, masterAddress: '10.77.0.2' });

    const announcement = await lab.captureAnnouncement(lab.b, V4.vip, V2_WAIT);
    await lab.stop(lvsd, 'SIGKILL');
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
    expect(await announcement()).toBe(true);

    // The crashed lvsd left its VIP behind; the new run removes it before anything else.
    expect(await lab.hasAddress(lab.b, V4.vip)).toBe(true);
    await lab.startSpeaker(lab.b, 'lvsd', lvsdSpec);
    expect(await lab.waitForAddress(lab.a, V4.vip, false, V2_WAIT)).toBe(true);
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);
    expect(lab.log('lvsd')).toContain('removed VIP left behind');
  }, 40_000);

  it('v2 unicast, PASS auth: a failing vrrp_script with weight -20 hands the VIP over, and back when it recovers', async (context) => {
    const lab = await labForTest(context);
    const checkFile = join(lab.dir, 'healthy');
    writeFileSync(checkFile, '');
    const base = { vrid: 55, version: 2, advertIntervalMs: 1000, password: 'pw', ...V4 } satisfies Partial<PeerConfig>;
    await lab.startSpeaker(lab.b, 'lvsd', [
      speakerInstance({ ...base, name: 'lvsd', priority: 110, checkFile: { path: checkFile, weight: -20 }, unicast: { source: lab.b.ipv4, peer: lab.a.ipv4 } }),
    ]);
    lab.startKeepalived(lab.a, 'ka', keepalivedConfig({ ...base, name: 'ka', priority: 100, unicast: { source: lab.a.ipv4, peer: lab.b.ipv4 } }));
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);

    rmSync(checkFile);
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
    expect(await lab.waitForAddress(lab.b, V4.vip, false, 2000)).toBe(true);
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'BACKUP', effectivePriority: 90, configuredPriority: 110 });

    writeFileSync(checkFile, '');
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);
    expect(await lab.waitForAddress(lab.a, V4.vip, false, 2000)).toBe(true);
  }, 40_000);

  it('drops and counts bad packets (TTL, checksum, VRID, garbage) without losing mastership', async (context) => {
    const lab = await labForTest(context);
    const base = { vrid: 60, version: 2, advertIntervalMs: 1000, ...V4 } satisfies Partial<PeerConfig>;
    await lab.startSpeaker(lab.b, 'lvsd', [speakerInstance({ ...base, name: 'lvsd', priority: 150, initialState: 'MASTER' })]);
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT)).toBe(true);
    // Sent without IP_HDRINCL, so with the kernel's default TTL of 64: a valid advert from an off-link sender.
    const sender = `
      const raw = require('raw-socket');
      const s = raw.createSocket({ protocol: 112 });
      const valid = Buffer.from('213cff010001${'0'.repeat(4)}0a4d00640000000000000000', 'hex');
      raw.writeChecksum(valid, 6, raw.createChecksum(valid));
      const wrongVrid = Buffer.from(valid); wrongVrid[1] = 0x3d; wrongVrid.writeUInt16BE(0, 6); raw.writeChecksum(wrongVrid, 6, raw.createChecksum(wrongVrid));
      const badChecksum = Buffer.from(valid); badChecksum[7] ^= 0xff;
      const packets = [valid, badChecksum, wrongVrid, Buffer.from('deadbeef', 'hex'), Buffer.alloc(0)];
      let left = packets.length;
      for (const p of packets) s.send(p, 0, p.length, '${lab.b.ipv4}', () => { if (--left === 0) s.close(); });
    `;
    await run('ip', ['netns', 'exec', lab.a.ns, process.execPath, '-e', sender.replace(/\n\s*/g, ' ')]);
    await sleep(500);
    const status = (await lab.speakerStatus('lvsd'))[0];
    expect(status).toMatchObject({ state: 'MASTER' });
    // The wrong VRID and the garbage belong to no instance; each instance on the link counts them.
    expect(status?.droppedPackets).toEqual({ ttl: 1, checksum: 1, 'unknown-vrid': 1, truncated: 2 });
    expect(status?.advertsReceived).toBe(5);
    expect(await lab.hasAddress(lab.b, V4.vip)).toBe(true);
  }, 30_000);

  it('refuses a configuration naming a missing interface before touching anything', async () => {
    const { startVrrp } = await import('../../src/vrrp/speaker.ts');
    const { default: pino } = await import('pino');
    const spec = { ...speakerInstance({ name: 'x', vrid: 1, version: 2, priority: 100, advertIntervalMs: 1000, ...V4 }), interface: 'vr-missing0' };
    await expect(startVrrp([spec], { logger: pino({ level: 'silent' }) })).rejects.toThrow('vrrp_instance x: interface vr-missing0 not found');
  });

});
