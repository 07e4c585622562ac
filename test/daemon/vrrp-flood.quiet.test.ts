// Issue 16, "VRRP floods": 10,000 adverts a second with every defect at a running lvsd whose checkers
// run 200 checks a second. Its checks keep their schedule, no VIP moves and each drop is counted by
// reason. lvsd runs over the model of IPVS (model-lvsd.ts), its real servers are listeners in its
// namespace, and the flood comes from a second namespace at the other end of its VRRP link.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectorStatus } from '../../src/daemon/status.ts';
import { addressToBytes } from '../../src/vrrp/ip.ts';
import { encodeAdvertisement, VRRP_MULTICAST_V4, VRRP_PROTOCOL, VRRP_TTL, type AdvertisementToSend, type DropReason } from '../../src/vrrp/packet.ts';
import { listen, REPO, startModelLvsd, stop, waitFor, type ModelLvsd } from './model-lvsd.ts';
import { createLan, deleteLan, lanNamespace, LVSCTL, run, scrape } from './netns-lvsd.ts';

const ns = lanNamespace(`lvsd-flood-${process.pid}`);
const flooderNs = lanNamespace(`lvsd-flooder-${process.pid}`);
const LVSD_ADDRESS = '192.0.2.1';
const FLOODER_ADDRESS = '192.0.2.2';
/** VI_2's only peer: nothing answers there, and the flood comes from elsewhere. */
const UNICAST_PEER = '192.0.2.3';
const MULTICAST_VIP = '192.0.2.100';
const UNICAST_VIP = '192.0.2.101';
const PASSWORD = 'secret';
const METRICS_PORT = 9653;
const REAL_SERVERS = 200;
const FIRST_PORT = 10_000;
const FLOOD_RATE = 10_000;
const WINDOW_SECONDS = 10;
const SAMPLE_EVERY_MS = 500;
const WARMUP_MS = 5000;

const realServers = Array.from({ length: REAL_SERVERS }, (_, index) => `  real_server ${LVSD_ADDRESS} ${FIRST_PORT + index} { TCP_CHECK { connect_timeout 1 } }`).join('\n');
const CONFIG = `
vrrp_instance VI_1 {
  state MASTER
  interface lan0
  virtual_router_id 51
  priority 150
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass ${PASSWORD}
  }
  virtual_ipaddress { ${MULTICAST_VIP}/24 }
}
vrrp_instance VI_2 {
  state MASTER
  interface lan0
  virtual_router_id 52
  priority 100
  advert_int 1
  unicast_src_ip ${LVSD_ADDRESS}
  unicast_peer { ${UNICAST_PEER} }
  # keepalived 2.2.7 takes unicast adverts from any source unless told to check them.
  check_unicast_src
  authentication {
    auth_type PASS
    auth_pass ${PASSWORD}
  }
  virtual_ipaddress { ${UNICAST_VIP}/24 }
}
virtual_server ${MULTICAST_VIP} 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
${realServers}
}
`;

interface FloodKind {
  /** The reason lvsd should count it under, and the instance that counts it. */
  reason: DropReason;
  instance: 'VI_1' | 'VI_2';
  destination: string;
  datagram: Buffer;
}

function ipv4Datagram(source: string, destination: string, ttl: number, vrrp: Buffer): Buffer {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header.writeUInt16BE(20 + vrrp.length, 2);
  header[8] = ttl;
  header[9] = VRRP_PROTOCOL;
  addressToBytes(source).copy(header, 12);
  addressToBytes(destination).copy(header, 16);
  return Buffer.concat([header, vrrp]);
}

/**
 * Each defect on an advert that would otherwise take the VIP: priority 254 beats lvsd's, so an
 * advert let through would make the instance step down.
 */
function floodKinds(): FloodKind[] {
  const toGroup = { family: 4, source: FLOODER_ADDRESS, destination: VRRP_MULTICAST_V4 } as const;
  const toLvsd = { family: 4, source: FLOODER_ADDRESS, destination: LVSD_ADDRESS } as const;
  const takeover: AdvertisementToSend = { version: 2, vrid: 51, priority: 254, advertIntervalMs: 1000, addresses: [MULTICAST_VIP], authentication: { type: 'pass', password: PASSWORD } };
  const valid = encodeAdvertisement(takeover, toGroup);
  const badChecksum = Buffer.from(valid);
  badChecksum[7]! ^= 0xff;
  const multicast = (reason: DropReason, vrrp: Buffer, ttl = VRRP_TTL): FloodKind => ({
    reason, instance: 'VI_1', destination: VRRP_MULTICAST_V4, datagram: ipv4Datagram(FLOODER_ADDRESS, VRRP_MULTICAST_V4, ttl, vrrp),
  });
  return [
    multicast('unknown-vrid', encodeAdvertisement({ ...takeover, vrid: 99 }, toGroup)),
    // The TTL a host gives its own unicast packets: an advert from off the link.
    multicast('ttl', valid, 64),
    multicast('checksum', badChecksum),
    multicast('auth', encodeAdvertisement({ ...takeover, authentication: { type: 'pass', password: 'intruder' } }, toGroup)),
    multicast('truncated', valid.subarray(0, 6)),
    {
      reason: 'unexpected-source', instance: 'VI_2', destination: LVSD_ADDRESS,
      datagram: ipv4Datagram(FLOODER_ADDRESS, LVSD_ADDRESS, VRRP_TTL, encodeAdvertisement({ ...takeover, vrid: 52, addresses: [UNICAST_VIP] }, toLvsd)),
    },
  ];
}

interface FloodResult {
  sent: Record<string, number>;
  failed: number;
  skipped: number;
  seconds: number;
  rate: number;
}

function flood(kinds: FloodKind[]): Promise<FloodResult> {
  const plan = { device: 'lan1', rate: FLOOD_RATE, seconds: WINDOW_SECONDS, kinds: kinds.map((k) => ({ name: k.reason, destination: k.destination, datagram: k.datagram.toString('hex') })) };
  return new Promise((resolve, reject) => {
    const flooder = spawn('ip', ['netns', 'exec', flooderNs.name, process.execPath, 'test/daemon/vrrp-flooder.mjs', JSON.stringify(plan)], { cwd: REPO, timeout: (WINDOW_SECONDS + 20) * 1000 });
    let stdout = '';
    let stderr = '';
    flooder.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    flooder.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    flooder.on('error', reject);
    flooder.on('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout) as FloodResult) : reject(new Error(`flooder exited with ${code}: ${stderr}`))));
  });
}

/** The drops column of the protocol-112 socket in /proc/net/raw: packets its full receive buffer turned away. */
function vrrpSocketDrops(procNetRaw: string): number {
  const row = procNetRaw.split('\n').find((line) => / [0-9A-F]{8}:0070 /.test(line));
  return Number(row?.trim().split(/\s+/).at(-1) ?? Number.NaN);
}

interface Sample {
  states: string[];
  vips: boolean[];
}

describe('a flood of defective VRRP adverts at a running lvsd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-flood-'));
  const socket = join(dir, 's.sock');
  let lvsd: ModelLvsd | undefined;
  let listeners: ChildProcess | undefined;

  const status = async (): Promise<DirectorStatus> => JSON.parse((await run(LVSCTL, ['status', '--json', '--socket', socket], { timeout: 10_000 })).stdout) as DirectorStatus;
  const vips = async (): Promise<string> => (await ns.exec('ip', '-4', 'addr', 'show', 'dev', 'lan0')).stdout;
  /** The pool's lag p99 over the checks started since the previous scrape. */
  const lagP99Ms = async (): Promise<number> => {
    const value = /^lvsd_check_lag_p99_seconds (\S+)$/m.exec(await scrape(ns, METRICS_PORT))?.[1];
    return value === undefined ? Number.NaN : Number(value) * 1000;
  };
  /** What an operator would look at, every SAMPLE_EVERY_MS until `done`; the last scrape closes the lag window. */
  const watch = async (done: Promise<unknown>): Promise<{ samples: Sample[]; lagP99Ms: number }> => {
    await lagP99Ms();
    const samples: Sample[] = [];
    let finished = false;
    void done.finally(() => (finished = true));
    while (!finished) {
      const [{ vrrp }, addresses] = await Promise.all([status(), vips()]);
      samples.push({ states: vrrp.map((v) => `${v.name} ${v.state}`), vips: [MULTICAST_VIP, UNICAST_VIP].map((vip) => addresses.includes(` ${vip}/`)) });
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
    }
    await done;
    return { samples, lagP99Ms: await lagP99Ms() };
  };
  const dropsBy = async (): Promise<Map<string, Partial<Record<DropReason, number>>>> =>
    new Map((await status()).vrrp.map((v) => [v.name, v.adverts.dropped as Partial<Record<DropReason, number>>]));

  beforeAll(async () => {
    await createLan(ns);
    await run('ip', ['netns', 'add', flooderNs.name]);
    await ns.exec('ip', 'link', 'set', 'lan1', 'netns', flooderNs.name);
    await flooderNs.exec('ip', 'link', 'set', 'lo', 'up');
    await flooderNs.exec('ip', 'addr', 'add', `${FLOODER_ADDRESS}/24`, 'dev', 'lan1');
    await flooderNs.exec('ip', 'link', 'set', 'lan1', 'up');
    listeners = listen(ns, LVSD_ADDRESS, Array.from({ length: REAL_SERVERS }, (_, index) => FIRST_PORT + index));
    writeFileSync(join(dir, 'keepalived.conf'), CONFIG);
    lvsd = startModelLvsd(ns, ['-f', join(dir, 'keepalived.conf'), '--socket', socket, '--metrics', `127.0.0.1:${METRICS_PORT}`]);
    const started = await waitFor(async () => {
      const { virtualServers, vrrp } = await status();
      const up = virtualServers.flatMap((vs) => vs.realServers).filter((rs) => rs.up).length;
      return up === REAL_SERVERS && vrrp.length === 2 && vrrp.every((v) => v.state === 'MASTER') ? true : undefined;
    }, 30_000);
    expect(started, lvsd.output()).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([lvsd?.daemon, listeners].filter((child) => child !== undefined).map(stop));
    await deleteLan(flooderNs);
    await deleteLan(ns);
    rmSync(dir, { recursive: true, force: true });
  });

  // Lag is measured on a shared 2-CPU machine where a VM or another suite may take the CPUs for a
  // while (then the baseline misses too): a failed case is run again, its assertions unchanged.
  it('keeps checks on schedule (lag p99 <= 50 ms), both VIPs in place, and counts each defect under its reason', { retry: 2, timeout: 90_000 }, async () => {
    // The first seconds after start-up (code still compiling, first verdicts) are no baseline.
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    const baseline = await watch(new Promise((resolve) => setTimeout(resolve, WINDOW_SECONDS * 1000)));
    const kinds = floodKinds();
    const before = await dropsBy();
    const sending = flood(kinds);
    const during = await watch(sending);
    const sent = await sending;
    const after = await dropsBy();
    const kernelDrops = vrrpSocketDrops((await ns.exec('cat', '/proc/net/raw')).stdout);

    const counted = kinds.map(({ reason, instance }) => ({
      reason, instance, sent: sent.sent[reason] ?? 0, counted: (after.get(instance)?.[reason] ?? 0) - (before.get(instance)?.[reason] ?? 0),
    }));
    console.log([
      `flood: ${Object.values(sent.sent).reduce((a, b) => a + b, 0)} adverts in ${sent.seconds.toFixed(2)} s = ${Math.round(sent.rate)}/s (failed ${sent.failed}, skipped ${sent.skipped})`,
      ...counted.map((c) => `  ${c.reason.padEnd(17)} sent ${String(c.sent).padStart(6)}  counted by ${c.instance} ${String(c.counted).padStart(6)} (${((100 * c.counted) / c.sent).toFixed(1)} %)`),
      `drops by reason after the flood: ${JSON.stringify(Object.fromEntries(after))}`,
      `check lag p99: baseline ${baseline.lagP99Ms} ms, during the flood ${during.lagP99Ms} ms (${REAL_SERVERS} TCP_CHECKs, delay_loop 1)`,
      `samples: baseline ${baseline.samples.length}, flood ${during.samples.length}`,
      `dropped by the kernel at lvsd's VRRP socket (its receive buffer full): ${kernelDrops}`,
    ].join('\n'));

    const steady: Sample = { states: ['VI_1 MASTER', 'VI_2 MASTER'], vips: [true, true] };
    expect(during.samples.length).toBeGreaterThanOrEqual(WINDOW_SECONDS);
    for (const sample of [...baseline.samples, ...during.samples]) expect(sample).toEqual(steady);
    expect(sent.rate).toBeGreaterThanOrEqual(FLOOD_RATE * 0.95);
    for (const c of counted) {
      expect(c.counted, c.reason).toBeGreaterThanOrEqual(c.sent * 0.5);
      expect(c.counted, c.reason).toBeLessThanOrEqual(c.sent);
    }
    expect(during.lagP99Ms).toBeLessThanOrEqual(50);
  });
});
