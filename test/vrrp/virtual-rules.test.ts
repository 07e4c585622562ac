import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import { vrrpSpecsFromConfig } from '../../src/vrrp/from-config.ts';
import { parseVirtualRule } from '../../src/vrrp/virtual-rules.ts';
import { labForTest, LAB_INTERFACE, run, sleep, type Node } from './lab.ts';
import { startBoth, type Router } from './same-config.ts';

const noDefault = () => {
  throw new Error('a preference was given');
};

describe('virtual_rules lines, read as keepalived 2.2.7 reads them', () => {
  it('takes from, to, table names and numbers, preference, fwmark/mask, tos, iif, oif, not and the drop actions', () => {
    const words = 'from 10.1.0.0/16 to 192.0.2.7 lookup main preference 0x100 fwmark 0x10/0xff tos 8 iif eth1 oif eth2 not'.split(' ');
    expect(parseVirtualRule(words, noDefault)).toEqual({
      ok: true,
      rule: {
        family: 4,
        from: { address: '10.1.0.0', prefixLength: 16 },
        to: { address: '192.0.2.7', prefixLength: 32 },
        priority: 256,
        action: { type: 'table', table: 254 },
        invert: true,
        tos: 8,
        fwmark: { mark: 16, mask: 255 },
        iif: 'eth1',
        oif: 'eth2',
        track: true,
      },
    });
    expect(parseVirtualRule(['to', '2001:db8::/32', 'type', 'prohibit', 'priority', '5', 'no_track'], noDefault)).toMatchObject({
      ok: true,
      rule: { family: 6, action: { type: 'prohibit' }, track: false },
    });
    expect(parseVirtualRule(['from', 'all', 'table', '100', 'priority', '1'], noDefault)).toMatchObject({ ok: true, rule: { family: 4, from: undefined } });
    expect(parseVirtualRule(['from', '10.0.0.0/33', 'table', '100', 'priority', '1'], noDefault)).toEqual({ ok: false, why: 'invalid rule from address 10.0.0.0/33' });
  });

  it('refuses what keepalived refuses, and names what lvsd does not program', () => {
    const why = (line: string) => {
      const parsed = parseVirtualRule(line.split(' '), () => 1);
      return parsed.ok ? 'accepted' : parsed.why;
    };
    expect(why('from 10.0.0.1')).toBe('no action specified for rule');
    expect(why('from 10.0.0.1 to 2001:db8::1 table 5')).toBe('rule specification has mixed IPv4 and IPv6');
    expect(why('from 10.0.0.1 table 5 blackhole')).toBe('more than one action');
    expect(why('from 10.0.0.1 table 0')).toBe('table 0 is not valid');
    expect(why('from 10.0.0.1 goto 100')).toBe('goto target 100 specified without preference');
    expect(why('from 10.0.0.1 goto 100 priority 100')).toBe('preference 100 >= goto target 100');
    // A goto target is decimal (read_unsigned_strvec), where a preference, tos and fwmark take 0x and octal too.
    expect(why('from 10.0.0.1 goto 0x10 priority 1')).toBe('invalid goto target 0x10 (keepalived 2.2.7 reads it in decimal only)');
    expect(why('from 10.0.0.1 goto -5 priority 1')).toBe('invalid goto target -5 (keepalived 2.2.7 reads it in decimal only)');
    expect(why('from 10.0.0.1 goto 4294967296 priority 1')).toBe('invalid goto target 4294967296 (keepalived 2.2.7 reads it in decimal only)');
    expect(why('from 10.0.0.1 table 5 sport 80')).toBe('sport is not supported');
    expect(why('inet6 from 10.0.0.1 table 5')).toBe('rule specification has mixed IPv4 and IPv6');
  });

  it('reads a goto target in decimal, leading zeros and a plus sign too, and leaves out a line with another as keepalived -d shows', () => {
    // keepalived 2.2.7 --vrrp --dump-conf of these lines: goto 10, goto 20, the 0x10 lines left out
    // ("invalid number '0x10'", "Invalid target goto specified"), and the last rule numbered 16384.
    const text = `vrrp_instance V {\n  interface eth0\n  virtual_router_id 9\n  virtual_ipaddress {\n    192.0.2.9/24\n  }\n  virtual_rules {\n    from 10.1.0.0/16 goto 010 priority 5\n    from 10.2.0.0/16 goto 0x10 priority 6\n    from 10.3.0.0/16 goto +20 priority 7\n    to 10.7.0.0/16 goto 0x10\n    from 10.8.0.0/16 lookup 9\n  }\n}\n`;
    const parsed = parseConfigText(text, 'k.conf', () => '', () => [], { hostname: 'lb1' });
    if (!parsed.ok) throw new Error('parse failed');
    const specs = vrrpSpecsFromConfig(parsed.config);
    expect(specs.instances[0]!.virtualRules.map((rule) => [rule.priority, rule.action])).toEqual([
      [5, { type: 'goto', target: 10 }],
      [7, { type: 'goto', target: 20 }],
      [16384, { type: 'table', table: 9 }],
    ]);
    expect(specs.warnings).toEqual([
      'k.conf:9: virtual_rules "from 10.2.0.0/16 goto 0x10 priority 6": invalid goto target 0x10 (keepalived 2.2.7 reads it in decimal only); ignored',
      'k.conf:11: virtual_rules "to 10.7.0.0/16 goto 0x10": invalid goto target 0x10 (keepalived 2.2.7 reads it in decimal only); ignored',
      'k.conf:12: virtual_rules "from 10.8.0.0/16 lookup 9" has no preference - setting it to 16384, as keepalived does; this is probably not what you want',
    ]);
  });

  it('numbers rules without a preference from 16384 down, per family, with a warning at their line', () => {
    const text = `vrrp_instance V {\n  interface eth0\n  virtual_router_id 9\n  virtual_ipaddress {\n    192.0.2.9/24\n  }\n  virtual_rules {\n    from 10.0.0.1 table 100\n    to 2001:db8::1 table 100\n    from 10.0.0.2 table 100\n    from 10.0.0.3 table 100 priority 7\n    from 10.0.0.4 table 100 dport 80\n    inet6 to 2001:db8::1 table 100 priority 9\n  }\n}\n`;
    const parsed = parseConfigText(text, 'k.conf', () => '', () => [], { hostname: 'lb1' });
    if (!parsed.ok) throw new Error('parse failed');
    const specs = vrrpSpecsFromConfig(parsed.config);
    expect(specs.instances[0]!.virtualRules.map((rule) => [rule.family, rule.priority])).toEqual([[4, 16384], [6, 16384], [4, 16383], [4, 7], [6, 9]]);
    expect(specs.warnings).toEqual([
      'k.conf:8: virtual_rules "from 10.0.0.1 table 100" has no preference - setting it to 16384, as keepalived does; this is probably not what you want',
      'k.conf:9: virtual_rules "to 2001:db8::1 table 100" has no preference - setting it to 16384, as keepalived does; this is probably not what you want',
      'k.conf:10: virtual_rules "from 10.0.0.2 table 100" has no preference - setting it to 16383, as keepalived does; this is probably not what you want',
      'k.conf:12: virtual_rules "from 10.0.0.4 table 100 dport 80": dport is not supported; ignored',
      'k.conf:13: virtual_rules "inet6 to 2001:db8::1 table 100 priority 9": keepalived 2.2.7 skips the word after inet6 (and then refuses or misreads the line); lvsd reads it',
    ]);
  });

  it('counts on from the static_rules without a preference written before the instance, per family, as keepalived 2.2.7 numbers both blocks', () => {
    const instance = (name: string, vrid: number, rule: string) => `vrrp_instance ${name} {\n  interface eth0\n  virtual_router_id ${vrid}\n  virtual_ipaddress {\n    192.0.2.${vrid}/24\n  }\n  virtual_rules {\n    ${rule}\n  }\n}\n`;
    const text = `static_rules {\n  from 10.1.0.1 table 100\n  to 2001:db8::2 table 100\n  from 10.1.0.3 table 100 priority 5\n}\n${instance('V', 9, 'from 10.0.0.1 table 100')}`
      + `static_rules {\n  from 10.1.0.4 table 100\n}\n${instance('W', 10, 'to 2001:db8::5 table 100')}${instance('X', 11, 'from 10.0.0.6 table 100')}`;
    const parsed = parseConfigText(text, 'k.conf', () => '', () => [], { hostname: 'lb1' });
    if (!parsed.ok) throw new Error('parse failed');
    expect(vrrpSpecsFromConfig(parsed.config).instances.map((spec) => spec.virtualRules.map((rule) => rule.priority))).toEqual([[16383], [16383], [16381]]);
  });
});

/** An instance with virtual_rules, put in FAULT by writing 1 to its `gate` track_file. */
function config({ vrid, vip, dir }: Router): string {
  return `global_defs {
  router_id r${vrid}
  vrrp_garp_master_delay 0
}
track_file gate {
  file ${dir}/gate
  weight 0
  init_file 0 overwrite
}
vrrp_instance VI {
  interface ${LAB_INTERFACE}
  virtual_router_id ${vrid}
  priority 100
  advert_int 1
  track_file {
    gate
  }
  virtual_ipaddress {
    ${vip}/24 dev ${LAB_INTERFACE}
  }
  virtual_rules {
    from 10.77.5.0/24 table 100 priority 100
    to 10.77.6.1 lookup main priority 101 fwmark 0x10/0xff
    from all iif ${LAB_INTERFACE} blackhole priority 102
    not from 10.77.7.7 tos 0x10 table 200 priority 103 no_track
    from 10.77.8.0/24 goto 110 priority 104
    to 2001:db8::/64 oif ${LAB_INTERFACE} prohibit preference 105
  }
}
`;
}

/** `ip rule` for both families, without the kernel's own rules (preferences 0, 32766, 32767). */
async function rules(node: Node): Promise<string[]> {
  const lines = [...(await run('ip', ['-n', node.ns, '-4', 'rule', 'show'])).split('\n'), ...(await run('ip', ['-n', node.ns, '-6', 'rule', 'show'])).split('\n')];
  return lines.map((line) => line.trim()).filter((line) => line !== '' && !/^(0|32766|32767):/.test(line));
}

describe('virtual_rules in network namespaces, against keepalived 2.2.7', () => {
  it('are in `ip rule` while master, as keepalived puts them, and leave with mastership', async (context) => {
    const lab = await labForTest(context);
    const { keepalived, lvsd, warnings } = await startBoth(lab, config);
    expect(warnings).toEqual([]);
    for (const router of [keepalived, lvsd]) expect(await lab.waitForAddress(router.node, router.vip, true, 9000)).toBe(true);
    await sleep(300);
    const keepalivedRules = await rules(keepalived.node);
    expect(keepalivedRules).toHaveLength(6);
    expect(await rules(lvsd.node)).toEqual(keepalivedRules);
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'MASTER', effectivePriority: 100 });

    for (const router of [keepalived, lvsd]) writeFileSync(join(router.dir, 'gate'), '1\n');
    for (const router of [keepalived, lvsd]) expect(await lab.waitForAddress(router.node, router.vip, false, 3000)).toBe(true);
    await sleep(300);
    expect(await rules(keepalived.node)).toEqual([]);
    expect(await rules(lvsd.node)).toEqual([]);
    expect((await lab.speakerStatus('lvsd'))[0]?.state).toBe('FAULT');
  }, 60_000);
});
