// keepalived 2.2.7 watches the virtual routes (with dev, without no_track) and rules (without
// no_track) it adds: one deleted by someone else while master sends the instance to BACKUP, to be
// master again, all put back, after the skew time; the interface of one going down is a FAULT.
// keepalived on lab node a and lvsd's speaker on node b, each alone in its VRID, read the same
// configuration; `ip route del` / `ip rule del` / `ip link set down` in both, and their notify FIFO
// lines and routing tables compared.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCapture } from './capture.ts';
import { fifoReader } from './fifo.ts';
import type { TestContext } from 'vitest';
import { labForTest, LAB_INTERFACE, run, sleep, type Lab, type Node } from './lab.ts';
import { startBoth, type Router } from './same-config.ts';

/** The interface of the tracked routes: one end of a veth pair of the node's own, so that it can go down alone. */
const ROUTE_INTERFACE = 'rt0';

/** Priority 100's skew time, advert_int 1: (256 - 100) / 256 s. */
const SKEW_MS = ((256 - 100) * 1000) / 256;
/** Timer jitter of two daemons on a loaded host, as test/vrrp/advert-keywords.test.ts allows it. */
const TOLERANCE_MS = 350;

const fifoOf = (lab: Lab, vrid: number) => join(lab.dir, `notify-${vrid}.fifo`);

function globals(lab: Lab, vrid: number): string {
  return `global_defs {
  router_id r${vrid}
  vrrp_garp_master_delay 0
  vrrp_notify_fifo ${fifoOf(lab, vrid)}
}
`;
}

/** A vrrp_instance of priority 100 on the lab link, with `lines` after its VIP. */
function instance(name: string, vrid: number, vip: string, lines: string): string {
  return `vrrp_instance ${name} {
  interface ${LAB_INTERFACE}
  virtual_router_id ${vrid}
  priority 100
  advert_int 1
  virtual_ipaddress {
    ${vip}/24 dev ${LAB_INTERFACE}
  }
${lines}}
`;
}

function config(lab: Lab): (router: Router) => string {
  return ({ vrid, vip }) => globals(lab, vrid) + instance('VI', vrid, vip, `  virtual_routes {
    10.88.1.0/24 dev ${ROUTE_INTERFACE}
    2001:db8:88::/64 dev ${ROUTE_INTERFACE} metric 7
    10.88.2.0/24 via 10.77.0.3
    10.88.3.0/24 dev ${ROUTE_INTERFACE} no_track
  }
  virtual_rules {
    from 10.88.5.0/24 table 100 priority 100
    from 10.88.6.0/24 table 100 priority 101 no_track
  }
`);
}

async function ip(node: Node, args: string[]): Promise<string> {
  return run('ip', ['-n', node.ns, ...args]);
}

/** The virtual routes and rules in the node's tables, sorted, in ip(8)'s words. */
async function routing(node: Node): Promise<string[]> {
  const lines = [
    ...(await ip(node, ['-4', 'route', 'show', 'proto', '18'])).split('\n'),
    ...(await ip(node, ['-6', 'route', 'show', 'proto', '18'])).split('\n'),
    ...(await ip(node, ['-4', 'rule', 'show'])).split('\n').filter((line) => /^10[01]:/.test(line)),
  ];
  return lines.map((line) => line.trim().replace(/ pref medium$/, '')).filter(Boolean).sort();
}

const MASTER_ROUTING = [
  '10.88.1.0/24 dev rt0',
  '10.88.2.0/24 via 10.77.0.3 dev vr0',
  '10.88.3.0/24 dev rt0',
  '100:\tfrom 10.88.5.0/24 lookup 100 proto keepalived',
  '101:\tfrom 10.88.6.0/24 lookup 100',
  '2001:db8:88::/64 dev rt0 metric 7',
];

/** Two instances in a sync group, VI with a tracked route. */
function syncGroupConfig(lab: Lab): (router: Router) => string {
  return ({ vrid, vip }) =>
    `${globals(lab, vrid)}vrrp_sync_group SG {\n  group {\n    VI\n    VJ\n  }\n}\n` +
    instance('VI', vrid, vip, `  virtual_routes {\n    10.88.1.0/24 dev ${ROUTE_INTERFACE}\n  }\n`) +
    instance('VJ', vrid + 10, vip.replace('10.77.0.', '10.77.1.'), '');
}

/**
 * keepalived on lab node a and lvsd on b from `render`, each with a route interface of its own
 * (rt0) and its notify FIFO read: `newLines` gives the INSTANCE lines of each since it was last
 * called (keepalived's GROUP lines, which lvsd does not write, left out), and checks they are the same.
 */
async function startRouters(context: TestContext, render: (lab: Lab) => (router: Router) => string, before: string[][] = []) {
  const lab = await labForTest(context);
  for (const node of [lab.a, lab.b]) {
    await ip(node, ['link', 'add', ROUTE_INTERFACE, 'type', 'veth', 'peer', 'name', 'rt1']);
    for (const link of [ROUTE_INTERFACE, 'rt1']) await ip(node, ['link', 'set', link, 'up']);
    for (const args of before) await ip(node, args);
  }
  const fifos = { keepalived: fifoReader(fifoOf(lab, 71)), lvsd: fifoReader(fifoOf(lab, 72)) };
  context.onTestFinished(() => Object.values(fifos).forEach((fifo) => fifo.close()));
  const { keepalived, lvsd, warnings } = await startBoth(lab, render(lab));
  const routers = [keepalived, lvsd];
  const read = { keepalived: 0, lvsd: 0 };
  const newLines = (order: (lines: string[]) => string[] = (lines) => lines) => {
    const all = { keepalived: fifos.keepalived.lines().filter((line) => line.startsWith('INSTANCE ')), lvsd: fifos.lvsd.lines() };
    const seen = { keepalived: all.keepalived.slice(read.keepalived), lvsd: all.lvsd.slice(read.lvsd) };
    read.keepalived = all.keepalived.length;
    read.lvsd = all.lvsd.length;
    expect(order(seen.lvsd)).toEqual(order(seen.keepalived));
    return order(seen.lvsd);
  };
  return {
    lab,
    routers,
    warnings,
    newLines,
    inBoth: (args: string[]) => Promise.all(routers.map((router) => ip(router.node, args))),
    waitForVips: async (present: boolean, timeoutMs = 6000) => {
      for (const router of routers) expect(await lab.waitForAddress(router.node, router.vip, present, timeoutMs)).toBe(true);
    },
  };
}

describe('tracked virtual routes and rules in network namespaces, against keepalived 2.2.7', () => {
  it('one deleted by someone else: BACKUP and master again, all put back; one untracked: nothing; their interface down: FAULT', async (context) => {
    const { lab, routers, warnings, newLines, inBoth, waitForVips } = await startRouters(context, config);
    expect(warnings).toEqual(["(VI) cannot track route '10.88.2.0/24 via 10.77.0.3' with no interface specified, not tracking"]);
    const expectMasterWithAll = async () => {
      await waitForVips(true);
      await sleep(300);
      for (const router of routers) expect(await routing(router.node)).toEqual(MASTER_ROUTING);
    };

    await expectMasterWithAll();
    expect(newLines()).toEqual(['INSTANCE "VI" BACKUP 100', 'INSTANCE "VI" MASTER 100']);

    // Without a dev, or with no_track: neither watches them, and they stay deleted.
    await inBoth(['route', 'del', '10.88.2.0/24']);
    await inBoth(['route', 'del', '10.88.3.0/24', 'dev', ROUTE_INTERFACE]);
    await inBoth(['rule', 'del', 'priority', '101']);
    await sleep(2000);
    expect(newLines()).toEqual([]);
    for (const router of routers) expect(await routing(router.node)).toEqual(MASTER_ROUTING.filter((line) => !/10\.88\.[236]\./.test(line)));

    // A tracked route, then a tracked rule: BACKUP with a priority 0 advert, then master again
    // after the skew time, with everything back.
    for (const deletion of [['route', 'del', '10.88.1.0/24', 'dev', ROUTE_INTERFACE], ['rule', 'del', 'priority', '100']]) {
      const capture = await startCapture(lab.a, '', 10);
      await inBoth(deletion);
      await sleep(2000);
      const adverts = (await capture.stop()).filter((packet) => packet.kind === 'vrrp');
      for (const router of routers) {
        const own = adverts.filter((packet) => packet.sourceIp === router.node.ipv4);
        const yielded = own.findIndex((packet) => packet.priority === 0);
        const [goodbye, back] = own.slice(yielded, yielded + 2);
        expect([goodbye?.priority, back?.priority], `${deletion.join(' ')}: adverts of ${router.node.ipv4}`).toEqual([0, 100]);
        expect(Math.abs((back!.at - goodbye!.at) * 1000 - SKEW_MS)).toBeLessThan(TOLERANCE_MS);
      }
      expect(newLines(), deletion.join(' ')).toEqual(['INSTANCE "VI" BACKUP 100', 'INSTANCE "VI" MASTER 100']);
      await expectMasterWithAll();
    }
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'MASTER', transitions: { BACKUP: 3, MASTER: 3 } });

    // The routes' interface down: FAULT (the IPv6 route the kernel then deletes counts for nothing), and back up: BACKUP, then MASTER.
    await inBoth(['link', 'set', ROUTE_INTERFACE, 'down']);
    await waitForVips(false);
    await sleep(1500);
    expect(newLines()).toEqual(['INSTANCE "VI" FAULT 100']);
    expect((await lab.speakerStatus('lvsd'))[0]?.state).toBe('FAULT');
    await inBoth(['link', 'set', ROUTE_INTERFACE, 'up']);
    await expectMasterWithAll();
    expect(newLines()).toEqual(['INSTANCE "VI" BACKUP 100', 'INSTANCE "VI" MASTER 100']);
  }, 90_000);

  it("adds its route beside another's to the same destination, as `ip route prepend` does, where a replace would take the other's away", async (context) => {
    const { routers, waitForVips } = await startRouters(context, config, [['route', 'add', '10.88.1.0/24', 'dev', 'rt1']]);
    await waitForVips(true);
    await sleep(300);
    for (const router of routers) {
      expect((await ip(router.node, ['-4', 'route', 'show', '10.88.1.0/24'])).trim().split('\n').map((line) => line.trim()), router.node.ns).toEqual([
        '10.88.1.0/24 dev rt0 proto keepalived',
        '10.88.1.0/24 dev rt1 scope link',
      ]);
    }
  }, 90_000);

  it('in a sync group: the other master leaves MASTER with it, and both are master again after the skew time', async (context) => {
    const { lab, routers, newLines, inBoth, waitForVips } = await startRouters(context, syncGroupConfig);
    await waitForVips(true);
    await sleep(500);
    // Which of two members moving at one time is written first is not compared: lines by state, then by name.
    const byState = (lines: string[]) => [...lines].sort((a, b) => a.split(' ')[2]!.localeCompare(b.split(' ')[2]!) || a.localeCompare(b));
    const bothBackupThenMaster = ['INSTANCE "VI" BACKUP 100', 'INSTANCE "VJ" BACKUP 100', 'INSTANCE "VI" MASTER 100', 'INSTANCE "VJ" MASTER 100'];
    expect(newLines(byState)).toEqual(bothBackupThenMaster);
    await inBoth(['route', 'del', '10.88.1.0/24', 'dev', ROUTE_INTERFACE]);
    await sleep(250);
    for (const router of routers) expect(await lab.hasAddress(router.node, router.vip)).toBe(false);
    // The skew time, 0.61 s, for both members: one following the other as a sync group would wait 3.6 s.
    await waitForVips(true, 1500);
    await sleep(500);
    expect(newLines(byState)).toEqual(bothBackupThenMaster);
    expect((await lab.speakerStatus('lvsd')).map((status) => [status.name, status.state, status.transitions])).toEqual([
      ['VI', 'MASTER', { BACKUP: 2, MASTER: 2 }],
      ['VJ', 'MASTER', { BACKUP: 2, MASTER: 2 }],
    ]);
  }, 90_000);
});
