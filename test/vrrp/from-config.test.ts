import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import { vrrpSpecsFromConfig } from '../../src/vrrp/from-config.ts';

/** One instance V on eth0 with `lines` added, and global_defs holding `globals`. */
function instance(lines: string, globals = ''): string {
  return `global_defs {\n${globals}}\nvrrp_instance V {\n  interface eth0\n  virtual_router_id 9\n  priority 100\n${lines}  virtual_ipaddress {\n    192.0.2.9/24\n  }\n}\n`;
}

function parseInstance(text: string) {
  const result = parseConfigText(text, 'k.conf', () => '', () => [], { hostname: 'lb1' });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return { spec: vrrpSpecsFromConfig(result.config).instances[0]!, model: result.config.vrrpInstances[0]!, warnings: result.warnings.map((w) => w.message) };
}

const CONF = `
global_defs {
  router_id lb1
  vrrp_garp_interval 0.05
}
vrrp_script chk_nginx {
  script "/usr/bin/pgrep -x nginx"
  interval 2
  timeout 1
  weight -20
  fall 2
  rise 3
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_6
  }
  sync_group_tracking_weight
}
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  nopreempt
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.2
  }
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    192.0.2.100/24 dev eth0 label eth0:vip
  }
  virtual_ipaddress_excluded {
    198.51.100.7
    2001:db8::100/64
  }
  virtual_routes {
    src 192.0.2.100 to 203.0.113.0/24 via 192.0.2.254 dev eth0 metric 5
    blackhole 10.0.0.0/8
  }
  track_script {
    chk_nginx
  }
  track_interface {
    eth1 weight -10
  }
  notify_master "/etc/lvsd/master.sh up"
  notify "/etc/lvsd/notify.sh"
}
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 52
  advert_int 0.1
  virtual_ipaddress {
    2001:db8::6/64
  }
}
`;

describe('vrrp specs from keepalived.conf', () => {
  const parsed = parseConfigText(CONF, '/etc/keepalived/keepalived.conf', () => '', () => [], { hostname: 'lb1' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const specs = vrrpSpecsFromConfig(parsed.config);
  const [v4, v6] = specs.instances;

  it('carries the instance settings keepalived would use', () => {
    expect(v4).toMatchObject({
      name: 'VI_1',
      interface: 'eth0',
      vrid: 51,
      version: 2,
      family: 4,
      priority: 150,
      advertIntervalMs: 1000,
      // keepalived clears nopreempt when the initial state is MASTER; so does the parser.
      preempt: true,
      sourceAddress: '192.0.2.1',
      unicastPeers: ['192.0.2.2'],
      authentication: { type: 'pass', password: 's3cret' },
      garp: { intervalMs: 50, masterRepeat: 5, masterDelayMs: 5000 },
      notify: { master: '/etc/lvsd/master.sh up', any: '/etc/lvsd/notify.sh' },
    });
    expect(v4?.virtualAddresses).toEqual([
      { address: '192.0.2.100', prefixLength: 24, dev: 'eth0', label: 'eth0:vip', scope: 'global' },
    ]);
    expect(v4?.excludedAddresses).toEqual([
      { address: '198.51.100.7', prefixLength: 32, dev: undefined, label: undefined, scope: 'global' },
      { address: '2001:db8::100', prefixLength: 64, dev: undefined, label: undefined, scope: 'global' },
    ]);
    expect(v4?.trackScripts).toEqual([
      {
        weight: -20,
        reverse: false,
        script: { name: 'chk_nginx', command: '/usr/bin/pgrep -x nginx', intervalMs: 2000, timeoutMs: 1000, weight: -20, fall: 2, rise: 3, initFail: false, user: undefined },
      },
    ]);
    expect(v4?.trackInterfaces).toEqual([{ name: 'eth1', weight: -10, reverse: false }]);
  });

  it('reads auth_type AH with its auth_pass (8 characters at most) and warns no more', () => {
    const { spec, warnings } = parseInstance(instance('  authentication {\n    auth_type AH\n    auth_pass longsecret\n  }\n'));
    expect(spec.authentication).toEqual({ type: 'ah', password: 'longsecr' });
    expect(warnings.filter((warning) => warning.includes('AH'))).toEqual([]);
  });

  // lvsd always sends an advert before yielding (machine.ts); the setting is still read for `lvsd -d`.
  it('reads lower_prio_no_advert and higher_prio_send_advert as keepalived 2.2.7 does: per instance, else global_defs, and strict_mode overrides both', () => {
    const read = (text: string) => {
      const { spec, model, warnings } = parseInstance(text);
      return { lower: spec.lowerPrioNoAdvert, higher: model.higherPrioSendAdvert, warnings };
    };
    expect(read(instance(''))).toMatchObject({ lower: false, higher: false });
    expect(read(instance('  lower_prio_no_advert\n  higher_prio_send_advert\n'))).toMatchObject({ lower: true, higher: true });
    expect(read(instance('  lower_prio_no_advert false\n', '  vrrp_lower_prio_no_advert\n  vrrp_higher_prio_send_advert\n'))).toMatchObject({ lower: false, higher: true });
    expect(read(instance('  strict_mode\n'))).toMatchObject({ lower: true, higher: false });
    const strict = read(instance('  strict_mode\n  lower_prio_no_advert off\n  higher_prio_send_advert on\n'));
    expect(strict).toMatchObject({ lower: true, higher: false });
    expect(strict.warnings).toEqual(expect.arrayContaining(['(V) Strict mode requires no lower priority advert. resetting', '(V) strict mode requires higher_prio_send_advert to be clear. resetting']));
  });

  it('reads the garp refresh and lower priority settings, down_timer_adverts, unicast_ttl and notify_priority_changes as keepalived 2.2.7 does', () => {
    const defaults = parseInstance(instance('')).spec;
    expect(defaults).toMatchObject({ unicastTtl: undefined, downTimerAdverts: 3, notify: { priorityChanges: false } });
    // keepalived's lower priority defaults are the global garp_master delay and repeat, not the instance's.
    expect(defaults.garp).toMatchObject({ refreshMs: 0, refreshRepeat: 1, lowerPrioRepeat: 5, lowerPrioDelayMs: 5000 });
    const globals = '  vrrp_garp_master_delay 2\n  vrrp_garp_master_repeat 3\n  vrrp_garp_master_refresh 30\n  vrrp_garp_master_refresh_repeat 2\n  vrrp_down_timer_adverts 4\n  vrrp_notify_priority_changes\n';
    expect(parseInstance(instance('  garp_master_repeat 9\n', globals)).spec).toMatchObject({
      garp: { masterRepeat: 9, refreshMs: 30_000, refreshRepeat: 2, lowerPrioRepeat: 3, lowerPrioDelayMs: 2000 },
      downTimerAdverts: 4,
      notify: { priorityChanges: true },
    });
    const own = parseInstance(
      instance(
        '  garp_master_refresh 10\n  garp_master_refresh_repeat 0\n  garp_lower_prio_delay 7\n  garp_lower_prio_repeat 0\n  down_timer_adverts 100\n  notify_priority_changes off\n  unicast_src_ip 192.0.2.1\n  unicast_peer {\n    192.0.2.2\n  }\n  unicast_ttl 5\n',
        '  vrrp_notify_priority_changes\n',
      ),
    );
    expect(own.spec).toMatchObject({ garp: { refreshMs: 10_000, refreshRepeat: 1, lowerPrioRepeat: 0, lowerPrioDelayMs: 7000 }, downTimerAdverts: 100, unicastTtl: 5, notify: { priorityChanges: false } });
    expect(own.warnings).toContain('garp_master_refresh_repeat must be greater than 0, setting to 1');
    const noPeers = parseInstance(instance('  unicast_ttl 5\n'));
    // keepalived 2.2.7 would send its multicast adverts with TTL 0 (none off the host); lvsd keeps 255.
    expect(noPeers.spec.unicastTtl).toBeUndefined();
    expect(noPeers.warnings.some((w) => w.startsWith('(V): Cannot use unicast_ttl without unicast peers - ignoring it'))).toBe(true);
    const strict = parseInstance(instance('  strict_mode\n  down_timer_adverts 5\n  garp_lower_prio_repeat 2\n'));
    expect(strict.spec).toMatchObject({ downTimerAdverts: 3, garp: { lowerPrioRepeat: 0, lowerPrioDelayMs: 0 } });
    expect(strict.warnings).toEqual(expect.arrayContaining(['(V) down_timer_adverts is incompatible with strict mode - resetting', '(V) Strict mode requires no repeat garps. - resetting']));
    expect(parseConfigText(instance('  down_timer_adverts 101\n'), 'k.conf', () => '', () => [], { hostname: 'lb1' }).ok).toBe(false);
  });

  it('checks the source of unicast adverts as keepalived 2.2.7 does: with check_unicast_src, vrrp_check_unicast_src, or a peer with min_ttl/max_ttl', () => {
    const peers = (options = '') => `  unicast_src_ip 192.0.2.1\n  unicast_peer {\n    192.0.2.2${options}\n  }\n`;
    expect(parseInstance(instance(peers())).spec.checkUnicastSource).toBe(false);
    expect(parseInstance(instance(`${peers()}  check_unicast_src\n`)).spec.checkUnicastSource).toBe(true);
    expect(parseInstance(instance(peers(), '  vrrp_check_unicast_src\n')).spec.checkUnicastSource).toBe(true);
    const ttl = parseConfigText(instance(peers(' min_ttl 250')), 'k.conf', () => '', () => [], { hostname: 'lb1' });
    if (!ttl.ok) throw new Error('min_ttl refused');
    const specs = vrrpSpecsFromConfig(ttl.config);
    expect(specs.instances[0]).toMatchObject({ checkUnicastSource: true, peerTtlRanges: [{ address: '192.0.2.2', minTtl: 250, maxTtl: 255 }] });
    expect(specs.warnings).toEqual([]);
    // A unicast keyword without peers means multicast, with keepalived's deprecation warning.
    const alone = parseInstance(instance('  check_unicast_src\n'));
    expect(alone.spec.unicastPeers).toEqual([]);
    expect(alone.warnings).toContain('(V) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.');
  });

  it('unicast_fault_no_peer as keepalived 2.2.7 reads it: FAULT for good without peers (it alone counts as a unicast keyword), nothing with peers', () => {
    const alone = parseInstance(instance('  unicast_fault_no_peer\n'));
    expect(alone.spec.configFaults).toEqual(['unicast_fault_no_peer: unicast without any unicast_peer']);
    expect(alone.warnings).toEqual(['(V) Cannot use unicast without any peers - going to fault state']);
    const emptyBlock = parseInstance(instance('  unicast_peer {\n  }\n  unicast_fault_no_peer\n'));
    expect(emptyBlock.spec.configFaults).toHaveLength(1);
    const withPeer = parseInstance(instance('  unicast_fault_no_peer\n  unicast_peer {\n    192.0.2.2\n  }\n'));
    expect(withPeer.spec).toMatchObject({ configFaults: [], unicastPeers: ['192.0.2.2'] });
    expect(withPeer.warnings).toEqual([]);
    // Without it, a unicast keyword and no peers is keepalived's deprecated multicast.
    const multicast = parseInstance(instance('  unicast_peer {\n  }\n'));
    expect(multicast.spec).toMatchObject({ configFaults: [], unicastPeers: [] });
    expect(multicast.warnings).toEqual(['(V) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.']);
  });

  it('use_vmac: vrrp.VRID with the RFC MAC by default; a name and a MAC (five octets take the VRID as the sixth) as keepalived reads them', () => {
    expect(parseInstance(instance('  use_vmac\n')).spec.vmac).toEqual({ name: 'vrrp.9', mac: '00:00:5e:00:01:09', xmitBase: false });
    expect(parseInstance(instance('  use_vmac 2:0:0:0:a\n  vmac_xmit_base\n')).spec.vmac).toEqual({ name: 'vrrp.9', mac: '02:00:00:00:0a:09', xmitBase: true });
    expect(parseInstance(instance('  use_vmac 02:00:00:00:0a:0b vm9\n')).spec.vmac).toEqual({ name: 'vm9', mac: '02:00:00:00:0a:0b', xmitBase: false });
    const refused = parseInstance(instance('  use_vmac 00:00:5e:00:01:09 a/b\n'));
    expect(refused.spec.vmac).toEqual({ name: 'vrrp.9', mac: '00:00:5e:00:01:09', xmitBase: false });
    expect(refused.warnings).toEqual(expect.arrayContaining(['VMAC MAC address not allowed to be RFC5798 address (00:00:5e:00:01:09) - ignoring', "VMAC interface name 'a/b' too long or invalid characters - ignoring"]));
    expect(parseInstance(instance('  use_vmac 03:00:00:00:00:01\n')).warnings).toContain('VMAC MAC address is multicast 03:00:00:00:00:01 - ignoring');
    const strict = parseInstance(instance('  strict_mode\n  use_vmac 02:00:00:00:0a:0b\n  vmac_xmit_base\n'));
    expect(strict.spec.vmac).toEqual({ name: 'vrrp.9', mac: '00:00:5e:00:01:09', xmitBase: false });
    expect(strict.warnings).toEqual(expect.arrayContaining(['(V) xmit_base is incompatible with strict mode - resetting', '(V): cannot specify MAC address with strict mode - clearing']));
    expect(parseInstance(instance('')).spec.vmac).toBeUndefined();
  });

  it('names vmacs as keepalived does: PREFIX.VRID, then PREFIX1.VRID (IPv6: PREFIX6.VRID) when an instance has it; a configured name once', () => {
    const block = (name: string, vrid: number, vip: string, vmac: string) =>
      `vrrp_instance ${name} {\n  interface ${name === 'B' ? 'eth1' : 'eth0'}\n  virtual_router_id ${vrid}\n  ${vmac}\n  virtual_ipaddress {\n    ${vip}\n  }\n}\n`;
    const names = (globals: string, blocks: string[]) => {
      const result = parseConfigText(`global_defs {\n${globals}}\n${blocks.join('')}`, 'k.conf', () => '', () => [], { hostname: 'lb1' });
      if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
      const specs = vrrpSpecsFromConfig(result.config);
      return { names: specs.instances.map((spec) => spec.vmac?.name), warnings: specs.warnings };
    };
    const blocks = [
      block('A', 7, '192.0.2.7', 'use_vmac'),
      block('B', 7, '198.51.100.7', 'use_vmac'),
      block('C', 7, '2001:db8::7', 'use_vmac'),
      block('D', 8, '192.0.2.8', 'use_vmac vrrp.7'),
      block('E', 9, '192.0.2.9', 'use_vmac vrrp.7'),
    ];
    const plain = names('', blocks);
    expect(plain.names).toEqual(['vrrp1.7', 'vrrp2.7', 'vrrp6.7', 'vrrp.7', 'vrrp.9']);
    expect(plain.warnings).toEqual([expect.stringMatching(/^k.conf:\d+: \(E\) VRRP instance D is already using vrrp.7 - ignoring name$/)]);
    expect(names('  vmac_prefix averyverylongprefix\n', [block('A', 200, '192.0.2.7', 'use_vmac')]).names).toEqual(['averyverylo.200']);
    const withAddresses = parseConfigText(
      `global_defs {\n  vmac_addr_prefix va\n}\n${block('A', 7, '192.0.2.7\n    192.0.2.8 dev eth2', 'use_vmac\n  use_vmac_addr\n  virtual_ipaddress_excluded {\n    2001:db8::7\n  }')}`,
      'k.conf', () => '', () => [], { hostname: 'lb1' },
    );
    if (!withAddresses.ok) throw new Error('rejected');
    expect(vrrpSpecsFromConfig(withAddresses.config).instances[0]).toMatchObject({
      vmac: { name: 'vrrp.7' },
      addressVmacs: [
        { name: 'va.7', mac: '00:00:5e:00:01:07', parent: 'eth2', family: 4 },
        { name: 'va6.7', mac: '00:00:5e:00:02:07', parent: 'eth0', family: 6 },
      ],
    });
  });

  it('takes notify_priority_changes from the sync group when the instance does not say', () => {
    const text = `${instance('')}vrrp_sync_group G {\n  group {\n    V\n  }\n  notify_priority_changes\n}\n`;
    expect(parseInstance(text).spec.notify.priorityChanges).toBe(true);
  });

  it("weighs track_script, track_interface and track_file with keepalived 2.2.7's defaults, reverse and ranges", () => {
    const text = `vrrp_script chk {\n  script /bin/true\n  weight 20 reverse\n}\ntrack_file tf {\n  file /run/tf\n  weight -3 reverse\n  init_file 5 overwrite\n}\ntrack_file plain {\n  file /run/plain\n}\n${instance(
      '  track_script {\n    chk\n  }\n  track_interface {\n    eth1 weight 254 reverse\n    eth2 reverse\n    eth3 weight 5 noreverse\n  }\n  track_file {\n    tf\n    plain weight 0 reverse\n  }\n',
    )}`;
    const { spec, warnings } = parseInstance(text);
    expect(spec.trackScripts.map(({ weight, reverse }) => ({ weight, reverse }))).toEqual([{ weight: 20, reverse: true }]);
    // eth2: keepalived takes reverse only after a weight and drops the entry; eth3: track_interface knows no noreverse.
    expect(spec.trackInterfaces).toEqual([{ name: 'eth1', weight: 253, reverse: true }]);
    expect(warnings).toEqual(expect.arrayContaining([
      'track_interface eth1: weight cannot be +/-254, using 253',
      "track_interface eth2: unknown option 'reverse' - ignoring",
      "track_interface eth3: unknown weight option 'noreverse' - ignoring",
    ]));
    expect(spec.trackFiles).toEqual([
      { name: 'tf', path: '/run/tf', weight: -3, reverse: true, initFile: { value: 5, overwrite: true } },
      { name: 'plain', path: '/run/plain', weight: 0, reverse: true, initFile: undefined },
    ]);
    expect(warnings.filter((w) => /not supported/.test(w))).toEqual([]);
  });

  it("refuses a track_file weight outside keepalived 2.2.7's -254..254", () => {
    const result = parseConfigText('track_file tf {\n  file /run/tf\n  weight 300\n}\n', 'k.conf', () => '', () => [], { hostname: 'lb1' });
    expect(result.ok).toBe(false);
  });

  it("takes the weights from an address owner's own tracking as keepalived 2.2.7 does", () => {
    const text = `vrrp_script chk {\n  script /bin/true\n  weight 5\n}\ntrack_file one {\n  file /run/one\n}\ntrack_file five {\n  file /run/five\n  weight 5\n}\n${instance(
      '  priority 255\n  track_file {\n    one\n    five\n  }\n  track_script {\n    chk\n  }\n  track_interface {\n    eth1 weight 10\n    eth2\n  }\n',
    )}`;
    const result = parseConfigText(text, 'k.conf', () => '', () => [], { hostname: 'lb1' });
    if (!result.ok) throw new Error('parse failed');
    const specs = vrrpSpecsFromConfig(result.config);
    const spec = specs.instances[0]!;
    expect(spec.trackFiles.map(({ name, weight }) => ({ name, weight }))).toEqual([{ name: 'one', weight: 0 }]);
    expect(spec.trackScripts).toEqual([]);
    expect(spec.trackInterfaces).toEqual([{ name: 'eth2', weight: 0, reverse: false }]);
    expect(specs.warnings.map((w) => w.replace(/^.*vrrp_instance V: /, ''))).toEqual([
      'ignoring tracked script chk with weight 5 due to address owner (priority 255)',
      'ignoring tracked interface eth1 due to address owner (priority 255)',
      'ignoring the weight of tracked file one due to address owner (priority 255); specify weight 0',
      'ignoring tracked file five with weight 5 due to address owner (priority 255)',
    ]);
  });

  it('takes the weights from a sync group member\'s own tracking unless the group has sync_group_tracking_weight, and keeps the group\'s', () => {
    const text = (groupLines: string) => `vrrp_script chk {\n  script /bin/true\n  weight -20\n}\nvrrp_script grp {\n  script /bin/true\n}\nvrrp_sync_group G {\n  group {\n    V\n  }\n  track_script {\n    grp weight 7\n  }\n${groupLines}}\n${instance(
      '  track_script {\n    chk\n  }\n  track_interface {\n    eth1 weight -10\n  }\n',
    )}`;
    const read = (groupLines: string) => {
      const result = parseConfigText(text(groupLines), 'k.conf', () => '', () => [], { hostname: 'lb1' });
      if (!result.ok) throw new Error('parse failed');
      const specs = vrrpSpecsFromConfig(result.config);
      const spec = specs.instances[0]!;
      return { scripts: spec.trackScripts.map((t) => [t.script.name, t.weight]), interfaces: spec.trackInterfaces.map((t) => [t.name, t.weight]), warnings: specs.warnings.length };
    };
    expect(read('')).toEqual({ scripts: [['grp', 7]], interfaces: [['eth1', 0]], warnings: 2 });
    expect(read('  sync_group_tracking_weight\n')).toEqual({ scripts: [['chk', -20], ['grp', 7]], interfaces: [['eth1', -10]], warnings: 0 });
  });

  it('parses virtual_routes and names the ones it cannot program', () => {
    expect(v4?.virtualRoutes).toEqual([
      { destination: '203.0.113.0', prefixLength: 24, gateway: '192.0.2.254', dev: 'eth0', source: '192.0.2.100', table: undefined, metric: 5, track: true },
    ]);
    expect(specs.warnings.some((w) => w.includes('blackhole'))).toBe(true);
  });


  it('watches a virtual route with dev or oif, not one with no_track, nor one without an interface, which keepalived 2.2.7 warns of', () => {
    const { spec, warnings } = parseInstance(instance('  virtual_routes {\n    10.1.0.0/16 dev eth0\n    10.2.0.0/16 oif eth1\n    10.3.0.0/16 dev eth0 no_track\n    10.4.0.0/16 via 192.0.2.1\n    10.5.0.0/16 via 192.0.2.1 no_track\n  }\n'));
    expect(spec.virtualRoutes.map((route) => [route.destination, route.track])).toEqual([['10.1.0.0', true], ['10.2.0.0', true], ['10.3.0.0', false], ['10.4.0.0', false], ['10.5.0.0', false]]);
    expect(warnings).toEqual(["(V) cannot track route '10.4.0.0/16 via 192.0.2.1' with no interface specified, not tracking"]);
  });
  it('makes IPv6 instances v3 with sub-second intervals, and keeps sync groups', () => {
    expect(v6).toMatchObject({ family: 6, version: 3, advertIntervalMs: 100, preempt: true });
    expect(specs.syncGroups).toEqual([{ name: 'G1', members: ['VI_1', 'VI_6'] }]);
  });
});
