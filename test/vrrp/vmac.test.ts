// use_vmac against keepalived 2.2.7: the macvlan each makes (ip -d link, ip addr, sysctls), the
// source MACs of adverts and GARPs on the wire, removal at stop, interop in both roles, and the
// clean-up of a vmac a crashed run left behind. Two-node labs as in lab.ts.
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it, type TestContext } from 'vitest';
import { macOf, startCapture } from './capture.ts';
import { LAB_INTERFACE, labForTest, run, sleep, V2_WAIT, V4, type Lab, type Node } from './lab.ts';
import { keepalivedConfig, speakerInstance, type Implementation, type PeerConfig } from './peers.ts';
import { startWithConfig, type ConfiguredRouter } from './same-config.ts';

const VMAC = '00:00:5e:00:01:33';
const BASE = { vrid: 51, version: 2, advertIntervalMs: 1000, ...V4 } satisfies Partial<PeerConfig>;
const FAMILIES = {
  4: { base: BASE, vmac: VMAC },
  6: { base: { ...BASE, version: 3, vip: 'fd00:77::100', vipPrefix: 64 }, vmac: '00:00:5e:00:02:33' },
} as const;
const OTHER: Record<Implementation, Implementation> = { lvsd: 'keepalived', keepalived: 'lvsd' };

async function start(lab: Lab, node: Node, implementation: Implementation, peer: PeerConfig): Promise<Pick<ConfiguredRouter, 'stop' | 'kill'>> {
  if (implementation === 'lvsd') {
    const child: ChildProcess = await lab.startSpeaker(node, peer.name, [speakerInstance(peer)]);
    return { stop: () => lab.stop(child), kill: () => lab.stop(child, 'SIGKILL') };
  }
  return startWithConfig(lab, node, implementation, peer.name, keepalivedConfig(peer));
}

async function linkExists(node: Node, name: string): Promise<boolean> {
  return (await run('ip', ['-n', node.ns, '-o', 'link', 'show']).catch(() => '')).includes(` ${name}@`);
}

async function sysctls(node: Node, paths: string[]): Promise<Record<string, string>> {
  const output = await run('ip', ['netns', 'exec', node.ns, 'grep', '-H', '', ...paths.map((path) => `/proc/sys/${path}`)]);
  return Object.fromEntries(output.trim().split('\n').map((line) => [line.slice('/proc/sys/'.length, line.lastIndexOf(':')), line.slice(line.lastIndexOf(':') + 1)]));
}

/** What `ip -d link`, `ip addr` and the sysctls show of the vmac and its parent. */
async function vmacView(node: Node, name: string) {
  const link = await run('ip', ['-n', node.ns, '-d', 'link', 'show', 'dev', name]);
  const addresses = await run('ip', ['-n', node.ns, '-o', 'addr', 'show', 'dev', name]);
  return {
    parent: /^\d+: [^@]+@([^:]+):/.exec(link)?.[1],
    flags: /<([^>]*)>/.exec(link)?.[1],
    mac: /link\/ether (\S+)/.exec(link)?.[1],
    macvlanMode: /macvlan mode (\S+)/.exec(link)?.[1],
    addrgenmode: /addrgenmode (\S+)/.exec(link)?.[1],
    // The parent's link-local address differs from lab to lab.
    addresses: [...addresses.matchAll(/ (inet6? [^\\]+?)\s*\\/g)].map((match) => (match[1] ?? '').replace(node.linkLocal, "the parent's link-local")),
    sysctls: await sysctls(node, [
      ...['arp_ignore', 'accept_local', 'rp_filter', 'promote_secondaries'].map((key) => `net/ipv4/conf/${name}/${key}`),
      `net/ipv6/conf/${name}/disable_ipv6`,
      ...parentSysctlPaths,
    ]),
  };
}
const parentSysctlPaths = ['arp_ignore', 'arp_filter'].map((key) => `net/ipv4/conf/${LAB_INTERFACE}/${key}`);

/** One implementation alone on node A with use_vmac: what it builds, what B sees on the wire, and what is left after a graceful stop. */
async function observe(context: TestContext, implementation: Implementation, vmac: NonNullable<PeerConfig['vmac']>, family: 4 | 6) {
  const lab = await labForTest(context);
  const name = vmac.name ?? 'vrrp.51';
  const { base } = FAMILIES[family];
  const capture = await startCapture(lab.b, base.vip, 25);
  const daemon = await start(lab, lab.a, implementation, { ...base, name: implementation, priority: 150, vmac });
  expect(await lab.waitForAddress(lab.a, base.vip, true, V2_WAIT, name)).toBe(true);
  await sleep(2500);
  const view = await vmacView(lab.a, name);
  const onParent = await lab.hasAddress(lab.a, base.vip);
  await daemon.stop();
  await sleep(300);
  const packets = await capture.stop();
  const sourceMacs = (kind: 'garp' | 'vrrp') => [...new Set(packets.filter((packet) => packet.kind === kind).map((packet) => packet.sourceMac))];
  return {
    view,
    onParent,
    advertMacs: sourceMacs('vrrp'),
    garpMacs: sourceMacs('garp'),
    parentMac: await macOf(lab.a, run),
    leftAfterStop: await linkExists(lab.a, name),
    parentAfterStop: await sysctls(lab.a, parentSysctlPaths),
  };
}

/** An IPv4 instance with an excluded IPv6 address and use_vmac_addr, with or without use_vmac. */
function vmacAddrConfig(useVmac: boolean): string {
  return [
    'global_defs {',
    '  router_id vmac_addr',
    '  vrrp_garp_master_delay 0',
    '}',
    'vrrp_instance VI {',
    `  interface ${LAB_INTERFACE}`,
    '  virtual_router_id 51',
    '  priority 150',
    '  advert_int 1',
    ...(useVmac ? ['  use_vmac'] : []),
    '  use_vmac_addr',
    '  virtual_ipaddress {',
    `    ${V4.vip}/${V4.vipPrefix}`,
    '  }',
    '  virtual_ipaddress_excluded {',
    `    ${V6_VIP}/64`,
    '  }',
    '}',
    '',
  ].join('\n');
}
const V6_VIP = 'fd00:77::100';

/** Every macvlan on the node, with what `ip -d link`, `ip addr` and the sysctls show of it. */
async function macvlans(node: Node) {
  const links = await run('ip', ['-n', node.ns, '-d', '-o', 'link', 'show', 'type', 'macvlan']);
  const names = [...links.matchAll(/^\d+: ([^@:]+)@/gm)].map((match) => match[1] ?? '');
  return Object.fromEntries(await Promise.all(names.sort().map(async (name) => [name, await vmacView(node, name)] as const)));
}

/** The same configuration run by `implementation` on node A until `vip` is on `dev`: its macvlans, and B's view of the announcements for `vip`. */
async function observeConfig(context: TestContext, implementation: Implementation, config: string, vip: string, dev: string) {
  const lab = await labForTest(context);
  const capture = await startCapture(lab.b, vip, 25);
  const daemon = await startWithConfig(lab, lab.a, implementation, implementation, config);
  expect(await lab.waitForAddress(lab.a, vip, true, V2_WAIT, dev)).toBe(true);
  await sleep(1500);
  const seen = { links: await macvlans(lab.a), vipOnParent: await lab.hasAddress(lab.a, V4.vip) };
  await daemon.stop();
  const announcedFrom = [...new Set((await capture.stop()).filter((packet) => packet.kind === 'garp').map((packet) => packet.sourceMac))];
  return { ...seen, announcedFrom, leftAfterStop: Object.keys(await macvlans(lab.a)) };
}

describe.concurrent('use_vmac, lvsd against keepalived 2.2.7', { retry: 1 }, () => {
  it.for([
    { title: 'use_vmac', vmac: {}, family: 4, advertsFromVmac: true },
    { title: 'use_vmac vmac51 + vmac_xmit_base', vmac: { name: 'vmac51', xmitBase: true }, family: 4, advertsFromVmac: false },
    { title: 'IPv6 use_vmac', vmac: {}, family: 6, advertsFromVmac: true },
    { title: 'IPv6 use_vmac + vmac_xmit_base', vmac: { xmitBase: true }, family: 6, advertsFromVmac: false },
  ] as const)('$title: the same private macvlan, addresses, sysctls and source MACs as keepalived; removed at stop', { timeout: 60_000 }, async ({ vmac, family, advertsFromVmac }, context) => {
    const [lvsd, keepalived] = await Promise.all([observe(context, 'lvsd', vmac, family), observe(context, 'keepalived', vmac, family)]);
    console.info(`IPv${family} vmac ${JSON.stringify(vmac)}: lvsd ${JSON.stringify(lvsd)}\nkeepalived ${JSON.stringify(keepalived)}`);
    const { base, vmac: mac } = FAMILIES[family];
    expect(lvsd.view).toEqual(keepalived.view);
    expect(lvsd.view).toMatchObject({ parent: LAB_INTERFACE, mac, macvlanMode: 'private', addrgenmode: 'none' });
    expect(lvsd.view.addresses.filter((address) => address.startsWith(`inet${family === 6 ? '6' : ''} ${base.vip}/${base.vipPrefix} `))).toHaveLength(1);
    expect(lvsd.view.flags?.split(',')).toContain('UP');
    for (const seen of [lvsd, keepalived]) {
      expect(seen.onParent).toBe(false);
      expect(seen.advertMacs).toEqual([advertsFromVmac ? mac : seen.parentMac]);
      expect(seen.garpMacs).toEqual([mac]);
      expect(seen.leftAfterStop).toBe(false);
    }
    // keepalived 2.2.7 means to restore the parent's arp_ignore/arp_filter after its last vmac, but leaves them at 1; lvsd restores them.
    expect(Object.values(lvsd.parentAfterStop)).toEqual(['0', '0']);
  });

  it.for([true, false])('use_vmac_addr (use_vmac %s): the excluded IPv6 address on a vmac of its own, named, addressed and announced as keepalived does', { timeout: 60_000 }, async (useVmac, context) => {
    const observe = (implementation: Implementation) => observeConfig(context, implementation, vmacAddrConfig(useVmac), V6_VIP, useVmac ? 'vrrp6.51' : 'vrrp.51');
    const [lvsd, keepalived] = await Promise.all([observe('lvsd'), observe('keepalived')]);
    console.info(`use_vmac_addr, use_vmac ${useVmac}: lvsd ${JSON.stringify(lvsd)}\nkeepalived ${JSON.stringify(keepalived)}`);
    expect(lvsd).toEqual(keepalived);
    const v6 = useVmac ? 'vrrp6.51' : 'vrrp.51';
    expect(Object.keys(lvsd.links)).toEqual(useVmac ? ['vrrp.51', 'vrrp6.51'] : ['vrrp.51']);
    expect(lvsd.links[v6]).toMatchObject({ mac: '00:00:5e:00:02:33', macvlanMode: 'private' });
    expect(lvsd.links[v6]?.addresses).toEqual(expect.arrayContaining([`inet6 ${V6_VIP}/64 scope global nodad`]));
    expect(lvsd.vipOnParent).toBe(!useVmac);
    expect(lvsd.announcedFrom).toEqual(['00:00:5e:00:02:33']);
    expect(lvsd.leftAfterStop).toEqual([]);
  });

  it('use_vmac on one VIP of an instance without use_vmac: that VIP alone on vrrp.51, announced from it, as keepalived does', { timeout: 60_000 }, async (context) => {
    const config = vmacAddrConfig(false)
      .replace('  use_vmac_addr\n', '')
      .replace(`    ${V4.vip}/${V4.vipPrefix}\n`, `    ${V4.vip}/${V4.vipPrefix} use_vmac\n    10.77.0.101/24\n`);
    const observe = (implementation: Implementation) => observeConfig(context, implementation, config, V4.vip, 'vrrp.51');
    const [lvsd, keepalived] = await Promise.all([observe('lvsd'), observe('keepalived')]);
    console.info(`VIP use_vmac: lvsd ${JSON.stringify(lvsd)}\nkeepalived ${JSON.stringify(keepalived)}`);
    expect(lvsd).toEqual(keepalived);
    expect(Object.keys(lvsd.links)).toEqual(['vrrp.51']);
    expect(lvsd.links['vrrp.51']).toMatchObject({ mac: VMAC, addresses: [`inet ${V4.vip}/${V4.vipPrefix} scope global vrrp.51`] });
    expect(lvsd.announcedFrom).toEqual([VMAC]);
    expect(lvsd.leftAfterStop).toEqual([]);
  });

  it('rp_filter: all.rp_filter 2 becomes 0 while a vmac exists, default and the interfaces below 2 lifted to 2, and all of it restored at stop, as keepalived does', { timeout: 60_000 }, async (context) => {
    const paths = ['all', 'default', 'lo', LAB_INTERFACE].map((device) => `net/ipv4/conf/${device}/rp_filter`);
    const watch = async (implementation: Implementation) => {
      const lab = await labForTest(context);
      await run('ip', ['netns', 'exec', lab.a.ns, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.rp_filter=2', 'net.ipv4.conf.default.rp_filter=1', 'net.ipv4.conf.lo.rp_filter=2', `net.ipv4.conf.${LAB_INTERFACE}.rp_filter=1`]);
      const daemon = await start(lab, lab.a, implementation, { ...BASE, name: implementation, priority: 150, vmac: {} });
      expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT, 'vrrp.51')).toBe(true);
      const running = await sysctls(lab.a, [...paths, 'net/ipv4/conf/vrrp.51/rp_filter']);
      await daemon.stop();
      return { running, stopped: await sysctls(lab.a, paths) };
    };
    const [lvsd, keepalived] = await Promise.all([watch('lvsd'), watch('keepalived')]);
    expect(lvsd).toEqual(keepalived);
    expect(Object.values(lvsd.running)).toEqual(['0', '2', '2', '2', '0']);
    expect(Object.values(lvsd.stopped)).toEqual(['2', '1', '2', '1']);
  });

  it.for(['lvsd', 'keepalived'] as const)('%s master with use_vmac, the other backup with use_vmac: the backup keeps its vmac up and empty, takes the VIP onto it when the master stops', { timeout: 60_000 }, async (master, context) => {
    const lab = await labForTest(context);
    const vmac = {};
    const first = await start(lab, lab.a, master, { ...BASE, name: master, priority: 150, vmac });
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT, 'vrrp.51')).toBe(true);
    await start(lab, lab.b, OTHER[master], { ...BASE, name: OTHER[master], priority: 100, vmac });
    await sleep(4000);
    expect(await lab.hasAddress(lab.a, V4.vip, 'vrrp.51')).toBe(true);
    const backupView = await vmacView(lab.b, 'vrrp.51');
    expect(backupView).toMatchObject({ mac: VMAC, macvlanMode: 'private', addresses: [] });
    expect(backupView.flags?.split(',')).toContain('UP');

    const capture = await startCapture(lab.a, V4.vip, 20);
    await first.stop();
    expect(await lab.waitForAddress(lab.b, V4.vip, true, 3000, 'vrrp.51')).toBe(true);
    await sleep(500);
    const garps = (await capture.stop()).filter((packet) => packet.kind === 'garp');
    expect(garps.length).toBeGreaterThan(0);
    expect(new Set(garps.map((packet) => packet.sourceMac))).toEqual(new Set([VMAC]));
    expect(await linkExists(lab.a, 'vrrp.51')).toBe(false);
  });

  it('reload: a changed instance keeps its vmac (same link, VIP held); without use_vmac the vmac goes and the VIP moves to the interface; with it again, a new vmac that adverts go on leaving', { timeout: 60_000 }, async (context) => {
    const lab = await labForTest(context);
    const peer = { ...BASE, name: 'lvsd', priority: 150, vmac: {} };
    const child = await lab.startSpeaker(lab.a, 'lvsd', [speakerInstance(peer)]);
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT, 'vrrp.51')).toBe(true);
    await start(lab, lab.b, 'keepalived', { ...BASE, name: 'ka', priority: 100, vmac: {} });
    const indexOf = async () => /^(\d+):/.exec(await run('ip', ['-n', lab.a.ns, '-o', 'link', 'show', 'dev', 'vrrp.51']))?.[1];
    const before = await indexOf();

    lab.reloadSpeaker(child, 'lvsd', [speakerInstance({ ...peer, priority: 160 })]);
    expect(await lab.waitForLog('lvsd', 'reloaded', 5000)).toBe(true);
    expect(await indexOf()).toBe(before);
    expect(await lab.hasAddress(lab.a, V4.vip, 'vrrp.51')).toBe(true);
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'MASTER', effectivePriority: 160 });

    lab.reloadSpeaker(child, 'lvsd', [speakerInstance({ ...peer, vmac: undefined })]);
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT)).toBe(true);
    expect(await linkExists(lab.a, 'vrrp.51')).toBe(false);
    expect(Object.values(await sysctls(lab.a, parentSysctlPaths))).toEqual(['0', '0']);

    // Made again, with a new socket on it: keepalived on B goes on hearing lvsd's adverts and stays backup.
    lab.reloadSpeaker(child, 'lvsd', [speakerInstance(peer)]);
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT, 'vrrp.51')).toBe(true);
    await sleep(4500);
    expect(await lab.hasAddress(lab.b, V4.vip, 'vrrp.51')).toBe(false);
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'MASTER' });
  });

  it.for(['lvsd', 'keepalived'] as const)('%s treats a vmac deleted under it as a fault, makes it again and wins the election back', { timeout: 60_000 }, async (implementation, context) => {
    const lab = await labForTest(context);
    await start(lab, lab.a, implementation, { ...BASE, name: implementation, priority: 150, vmac: {} });
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT, 'vrrp.51')).toBe(true);
    await start(lab, lab.b, OTHER[implementation], { ...BASE, name: OTHER[implementation], priority: 100, vmac: {} });
    await sleep(1000);
    await run('ip', ['-n', lab.a.ns, 'link', 'del', 'vrrp.51']);
    const deletedAt = Date.now();
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT, 'vrrp.51')).toBe(true);
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT, 'vrrp.51')).toBe(true);
    console.info(`${implementation}: VIP back on a new vmac ${Date.now() - deletedAt} ms after the delete`);
    if (implementation === 'lvsd') {
      const log = lab.log('lvsd');
      const gone = log.indexOf('VMAC interface went away');
      const steps = ['"to":"FAULT"', '"from":"INIT","to":"BACKUP"', '"to":"MASTER"'].map((step) => log.indexOf(step, gone));
      expect(gone).toBeGreaterThan(0);
      expect(steps.every((at, i) => at > (steps[i - 1] ?? gone))).toBe(true);
    }
    expect(await vmacView(lab.a, 'vrrp.51')).toMatchObject({ mac: VMAC, macvlanMode: 'private', addrgenmode: 'none' });
    expect(await lab.waitForAddress(lab.b, V4.vip, false, V2_WAIT, 'vrrp.51')).toBe(true);
  });

  it('a vmac left by a crashed lvsd is removed (its VIP with it) and made afresh; an interface of that name that is not such a vmac is never touched', { timeout: 60_000 }, async (context) => {
    const lab = await labForTest(context);
    const peer = { ...BASE, name: 'lvsd', priority: 150, vmac: {} };
    const crashed = await start(lab, lab.a, 'lvsd', peer);
    expect(await lab.waitForAddress(lab.a, V4.vip, true, V2_WAIT, 'vrrp.51')).toBe(true);
    await crashed.kill();
    expect(await lab.hasAddress(lab.a, V4.vip, 'vrrp.51')).toBe(true);

    // keepalived on B is master now, so the restarted lvsd has no VIP to hold.
    await start(lab, lab.b, 'keepalived', { ...BASE, name: 'ka', priority: 200, vmac: {} });
    expect(await lab.waitForAddress(lab.b, V4.vip, true, V2_WAIT, 'vrrp.51')).toBe(true);
    await start(lab, lab.a, 'lvsd', peer);
    expect(lab.log('lvsd')).toContain('removed VMAC interface left behind by an earlier run');
    expect(await linkExists(lab.a, 'vrrp.51')).toBe(true);
    expect(await lab.hasAddress(lab.a, V4.vip, 'vrrp.51')).toBe(false);

    await run('ip', ['-n', lab.a.ns, 'link', 'add', 'vrrp.52', 'link', LAB_INTERFACE, 'type', 'macvlan', 'mode', 'bridge']);
    await expect(start(lab, lab.a, 'lvsd', { ...peer, name: 'lvsd52', vrid: 52 })).rejects.toThrow();
    expect(lab.log('lvsd52')).toContain('interface vrrp.52 exists and is not a private macvlan on vr0 with MAC 00:00:5e:00:01:34');
    expect(await linkExists(lab.a, 'vrrp.52')).toBe(true);
  });
});
