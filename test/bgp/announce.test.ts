import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../daemon/model-lvsd.ts';
import { promtoolCheck, scrape } from '../daemon/netns-lvsd.ts';
import type { DirectorStatus } from '../../src/daemon/status.ts';
import {
  announcedIn, birdc, createLab, kill, LVSCTL, lvsdConfig, routerPaths, startLvsd, startRealServers, stopRealServers, VIP, type Director, type Lab,
} from './lab.ts';

// No IPVS on this host: each lvsd runs over the model of IPVS (see lab.ts). Checks, routes, BIRD,
// BGP, BFD and the router's ECMP route are real.
const METRICS_PORT = 9461;
let lab: Lab;
const TWO_WAY = ['10.0.1.2', '10.0.2.2'];
const OTHER_TABLE = 202;

async function status(d: Director): Promise<DirectorStatus> {
  const { stdout } = await d.ns.exec(LVSCTL, 'status', '--json', '--socket', join(d.dir, 'lvsd.sock'));
  return JSON.parse(stdout) as DirectorStatus;
}

/** Waits until the router's next hops for the VIP are `wanted`; what it last saw otherwise. */
async function routerReaches(wanted: string[], ms = 20_000): Promise<string[]> {
  let last: string[] = [];
  const seen = await waitFor(async () => {
    last = await routerPaths(lab.router);
    return JSON.stringify(last) === JSON.stringify(wanted) ? last : undefined;
  }, ms);
  return seen ?? last;
}

/** Waits until the router's next hops for the VIP leave `gateway` out; what it last saw. */
async function routerLacks(gateway: string): Promise<string[]> {
  let last: string[] = [];
  await waitFor(async () => {
    last = await routerPaths(lab.router);
    return last.includes(gateway) ? undefined : last;
  }, 20_000);
  return last;
}

describe('active-active directors announced over BGP by BIRD', () => {
  beforeAll(async () => {
    lab = await createLab(`lvsdbgp${process.pid % 10_000}`);
    startLvsd(lab.directors[0], ['--metrics', `127.0.0.1:${METRICS_PORT}`]);
    startLvsd(lab.directors[1]);
  }, 30_000);
  afterAll(async () => lab?.close(), 30_000);

  it('the router holds a two-way ECMP route while both directors hold quorum', async () => {
    expect(await routerReaches(TWO_WAY)).toEqual(TWO_WAY);
    const [d1] = lab.directors;
    const { bgp } = await status(d1);
    expect(bgp?.announcements).toMatchObject([{ address: VIP, announced: true }]);
    expect(bgp?.sessions).toMatchObject([{ name: 'uplink', up: true, state: 'up', info: 'Established' }]);
    expect(bgp?.sessions[0]?.sinceAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const metrics = await scrape(d1.ns, METRICS_PORT);
    expect(metrics).toContain(`lvsd_bgp_vip_announced{address="${VIP}"} 1`);
    expect(metrics).toContain('lvsd_bgp_session_up{session="uplink"} 1');
    expect(await promtoolCheck(metrics)).toEqual({ code: 0, output: '' });
  }, 30_000);

  it('withdraws a director that loses quorum, and announces it again once quorum is back', async () => {
    const [d1] = lab.directors;
    await stopRealServers(d1);
    expect(await routerReaches(['10.0.2.2'])).toEqual(['10.0.2.2']);
    expect(await announcedIn(d1)).toEqual([]);
    expect((await status(d1)).bgp?.announcements).toMatchObject([{ address: VIP, announced: false, reason: `TCP ${VIP}:80 has no quorum` }]);
    const text = (await d1.ns.exec(LVSCTL, 'status', '--socket', join(d1.dir, 'lvsd.sock'))).stdout;
    expect(text).toMatch(new RegExp(`${VIP.replaceAll('.', '\\.')}\\s+WITHDRAWN\\s+\\S+\\s+TCP ${VIP.replaceAll('.', '\\.')}:80 has no quorum`));
    startRealServers(lab.servers, d1);
    expect(await routerReaches(TWO_WAY)).toEqual(TWO_WAY);
  }, 30_000);

  it('a killed lvsd leaves nothing announced after its restart until its quorum holds', async () => {
    const [d1] = lab.directors;
    kill(d1.lvsd!.daemon, 'SIGKILL');
    await new Promise((resolve) => d1.lvsd!.daemon.once('exit', resolve));
    // Killed, lvsd could withdraw nothing: its route stays, and BIRD keeps announcing it.
    expect(await announcedIn(d1)).toEqual([`${VIP}`]);
    await stopRealServers(d1);
    const restarted = startLvsd(d1);
    // Until its checks have failed and it says why the VIP is withdrawn, it must never have been announced.
    const withdrawn = await waitFor(async () => {
      const announcements = (await status(d1)).bgp?.announcements;
      return announcements?.[0]?.reason === `TCP ${VIP}:80 has no quorum` ? announcements : undefined;
    }, 20_000);
    expect(withdrawn).toMatchObject([{ address: VIP, announced: false }]);
    expect(await announcedIn(d1)).toEqual([]);
    expect(await routerReaches(['10.0.2.2'])).toEqual(['10.0.2.2']);
    expect(restarted.output()).toContain('withdrew the announcements an earlier run left');
    expect(restarted.output()).not.toContain('VIP announced');
    startRealServers(lab.servers, d1);
    expect(await routerReaches(TWO_WAY)).toEqual(TWO_WAY);
    expect(restarted.output()).toContain('VIP announced');
  }, 30_000);

  it('drops a frozen director (lvsd and BIRD stopped) through BFD', async () => {
    const [, d2] = lab.directors;
    for (const child of [d2.bird!, d2.lvsd!.daemon]) kill(child, 'SIGSTOP');
    try {
      expect(await routerReaches(['10.0.1.2'])).toEqual(['10.0.1.2']);
      // The route left with the session, and BFD, not BGP's hold timer, took the session down.
      expect(await birdc(lab.router, lab.routerDir, 'show', 'protocols', 'd2')).toContain('BFD session down');
    } finally {
      for (const child of [d2.bird!, d2.lvsd!.daemon]) kill(child, 'SIGCONT');
    }
  }, 30_000);

  it('a reload to another table withdraws from the old one before it announces in the new', async () => {
    const [d1] = lab.directors;
    writeFileSync(join(d1.dir, 'keepalived.conf'), lvsdConfig(d1, d1.dir, OTHER_TABLE));
    kill(d1.lvsd!.daemon, 'SIGHUP');
    expect(await waitFor(async () => ((await announcedIn(d1, OTHER_TABLE)).length > 0 ? announcedIn(d1) : undefined), 20_000)).toEqual([]);
    expect(await announcedIn(d1, OTHER_TABLE)).toEqual([VIP]);
    // This director's BIRD learns the old table only: the router loses its path.
    expect(await routerLacks(d1.uplink)).not.toContain(d1.uplink);
  }, 30_000);

  it('withdraws everything at stop', async () => {
    const [d1] = lab.directors;
    kill(d1.lvsd!.daemon, 'SIGTERM');
    await new Promise((resolve) => d1.lvsd!.daemon.once('exit', resolve));
    expect(await announcedIn(d1, OTHER_TABLE)).toEqual([]);
    expect(await routerLacks(d1.uplink)).not.toContain(d1.uplink);
  }, 30_000);
});
