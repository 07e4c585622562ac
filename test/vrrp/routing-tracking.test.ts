// keepalived 2.2.7 watches the virtual routes (with dev, without no_track) and rules (without
// no_track) it adds: one deleted by someone else while master sends the instance to BACKUP, to be
// master again, all put back, after the skew time; the interface of one going down is a FAULT.
// keepalived on lab node a and lvsd's speaker on node b, each alone in its VRID, read the same
// configuration; `ip route del` / `ip rule del` / `ip link set down` in both, and their notify FIFO
// lines and routing tables compared.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fifoReader } from './fifo.ts';
import { labForTest, LAB_INTERFACE, run, sleep, type Lab, type Node } from './lab.ts';
import { startBoth, type Router } from './same-config.ts';

/** The interface of the tracked routes: one end of a veth pair of the node's own, so that it can go down alone. */
const ROUTE_INTERFACE = 'rt0';

const fifoOf = (lab: Lab, vrid: number) => join(lab.dir, `notify-${vrid}.fifo`);

function config(lab: Lab): (router: Router) => string {
  return ({ vrid, vip }) => `global_defs {
  router_id r${vrid}
  vrrp_garp_master_delay 0
  vrrp_notify_fifo ${fifoOf(lab, vrid)}
}
vrrp_instance VI {
  interface ${LAB_INTERFACE}
  virtual_router_id ${vrid}
  priority 100
  advert_int 1
  virtual_ipaddress {
    ${vip}/24 dev ${LAB_INTERFACE}
  }
  virtual_routes {
    10.88.1.0/24 dev ${ROUTE_INTERFACE}
    2001:db8:88::/64 dev ${ROUTE_INTERFACE} metric 7
    10.88.2.0/24 via 10.77.0.3
    10.88.3.0/24 dev ${ROUTE_INTERFACE} no_track
  }
  virtual_rules {
    from 10.88.5.0/24 table 100 priority 100
    from 10.88.6.0/24 table 100 priority 101 no_track
  }
}
`;
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

describe('tracked virtual routes and rules in network namespaces, against keepalived 2.2.7', () => {
  it('one deleted by someone else: BACKUP and master again, all put back; one untracked: nothing; their interface down: FAULT', async (context) => {
    const lab = await labForTest(context);
    for (const node of [lab.a, lab.b]) {
      await ip(node, ['link', 'add', ROUTE_INTERFACE, 'type', 'veth', 'peer', 'name', 'rt1']);
      for (const link of [ROUTE_INTERFACE, 'rt1']) await ip(node, ['link', 'set', link, 'up']);
    }
    const fifos = { keepalived: fifoReader(fifoOf(lab, 71)), lvsd: fifoReader(fifoOf(lab, 72)) };
    context.onTestFinished(() => Object.values(fifos).forEach((fifo) => fifo.close()));
    const { keepalived, lvsd, warnings } = await startBoth(lab, config(lab));
    expect(warnings).toEqual(["(VI) cannot track route '10.88.2.0/24 via 10.77.0.3' with no interface specified, not tracking"]);
    const routers = [keepalived, lvsd];
    const inBoth = async (args: string[]) => Promise.all(routers.map((router) => ip(router.node, args)));
    /** The FIFO lines of each since the last call, the same for both. */
    const newLines = () => {
      const seen = { keepalived: fifos.keepalived.lines().slice(read.keepalived), lvsd: fifos.lvsd.lines().slice(read.lvsd) };
      read.keepalived += seen.keepalived.length;
      read.lvsd += seen.lvsd.length;
      expect(seen.lvsd).toEqual(seen.keepalived);
      return seen.lvsd;
    };
    const read = { keepalived: 0, lvsd: 0 };
    const expectMasterWithAll = async () => {
      for (const router of routers) expect(await lab.waitForAddress(router.node, router.vip, true, 6000)).toBe(true);
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

    // A tracked route, then a tracked rule: BACKUP, then master again after the skew time, with everything back.
    for (const deletion of [['route', 'del', '10.88.1.0/24', 'dev', ROUTE_INTERFACE], ['rule', 'del', 'priority', '100']]) {
      await inBoth(deletion);
      await sleep(2000);
      expect(newLines(), deletion.join(' ')).toEqual(['INSTANCE "VI" BACKUP 100', 'INSTANCE "VI" MASTER 100']);
      await expectMasterWithAll();
    }
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'MASTER', transitions: { BACKUP: 3, MASTER: 3 } });

    // The routes' interface down: FAULT (the IPv6 route the kernel then deletes counts for nothing), and back up: BACKUP, then MASTER.
    await inBoth(['link', 'set', ROUTE_INTERFACE, 'down']);
    for (const router of routers) expect(await lab.waitForAddress(router.node, router.vip, false, 3000)).toBe(true);
    await sleep(1500);
    expect(newLines()).toEqual(['INSTANCE "VI" FAULT 100']);
    expect((await lab.speakerStatus('lvsd'))[0]?.state).toBe('FAULT');
    await inBoth(['link', 'set', ROUTE_INTERFACE, 'up']);
    await expectMasterWithAll();
    expect(newLines()).toEqual(['INSTANCE "VI" BACKUP 100', 'INSTANCE "VI" MASTER 100']);
  }, 90_000);
});
