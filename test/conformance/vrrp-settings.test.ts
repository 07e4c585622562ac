import { describe, expect, it } from 'vitest';
import { parseConfigText, type KeepalivedConfig } from '../../src/config/index.ts';
import { vrrpSpecsFromConfig } from '../../src/vrrp/from-config.ts';
import { fixed, generated, keepalivedInstances, lvsdInstances, samples, VIRTUAL_ROUTES, VIRTUAL_RULES, withKnownDifferences, type Settings } from './vrrp-settings.ts';

// The two sides of vrrp-settings.vm.test.ts, on this host. `keepalived -d` dumps only after its
// VRRP process has started (gratuitous ARP sockets, the VRRP dispatcher), which the kernel VM test
// does; here keepalived's side reads the dump of the fixed case as keepalived 2.2.7 writes it,
// line by line from its format strings at startup (no state yet): vrrp_data.c dump_vrrp and
// dump_sync_group, vrrp_iproute.c format_iproute and dump_iproute (add/append/prepend first,
// five spaces in), vrrp_iprule.c format_iprule (a FRA_PROTOCOL build, as Debian's, writes
// `protocol 18` for a tracked rule).

interface DumpedInstance {
  name: string;
  vrid: number;
  interfaceName: string;
  sourceAddress: string;
  vip: string;
  syncGroup?: string;
  /** The Virtual Routes and Virtual Rules lists, between the sockets and the tracking. */
  routesAndRules: string[];
  notifyPriorityChanges: boolean;
}

/** dump_vrrp's lines for an instance with keepalived's defaults but these. */
function dumpedInstance(instance: DumpedInstance): string[] {
  return [
    ` VRRP Instance = ${instance.name}`,
    '   VRRP Version = 2',
    ...(instance.syncGroup === undefined ? [] : [`   Sync group = ${instance.syncGroup}`]),
    '   Flags: none',
    '   Wantstate = BACKUP',
    '   Number of config faults = 0',
    `   Interface = ${instance.interfaceName}`,
    `   Using src_ip = ${instance.sourceAddress}`,
    '   Multicast address 224.0.0.18',
    '   Gratuitous ARP delay = 5',
    '   Gratuitous ARP repeat = 5',
    '   Gratuitous ARP refresh = 0',
    '   Gratuitous ARP refresh repeat = 1',
    '   Gratuitous ARP lower priority delay = 5',
    '   Gratuitous ARP lower priority repeat = 5',
    '   Down timer adverts = 3',
    '   Send advert after receive lower priority advert = true',
    '   Send advert after receive higher priority advert = false',
    `   Virtual Router ID = ${instance.vrid}`,
    '   Priority = 100',
    '   Advert interval = 1 sec',
    '   Accept = enabled',
    '   Preempt = enabled',
    '   Promote_secondaries = disabled',
    '   Authentication type = none',
    '   Virtual IP (1):',
    `     ${instance.vip} dev ${instance.interfaceName} scope global`,
    '   No sockets allocated',
    ...instance.routesAndRules,
    '   Using smtp notification = no',
    '   Notify deleted = Fault',
    `   Notify priority changes = ${instance.notifyPriorityChanges}`,
  ];
}

const DUMP_OF_FIXED_CASE = [
  '------< Global definitions >------',
  ' VRRP notify priority changes = true',
  '------< VRRP Topology >------',
  ...dumpedInstance({
    name: 'VI_A', vrid: 40, interfaceName: 'eth0', sourceAddress: '192.168.200.10', vip: '192.168.140.1/24', syncGroup: 'SG', notifyPriorityChanges: false,
    routesAndRules: [
      '   Virtual Routes :',
      '     prepend 10.20.0.0/16 via inet 10.0.0.1 dev eth1 proto 18',
      '     prepend 192.0.2.0/24 dev eth0 table 100 proto 18 metric 5',
      '     prepend 198.51.100.7 src 10.0.0.10 via inet 10.0.0.1 table 101 proto 18 no_track',
      '     prepend 0.0.0.0/0 via inet 10.0.0.1 proto 18 metric 300 no_track',
      '     prepend 2001:db8:5::/48 via inet6 2001:db8::1 dev eth1 proto 18 metric 7',
      '   Virtual Rules :',
      '     from 10.0.0.0/8 priority 100 tos 0x0 protocol 18 lookup 100',
      '     from all to 198.51.100.0/24 priority 200 tos 0x10 protocol 18 lookup 254',
      '     from 192.0.2.0/24 to 203.0.113.9 priority 300 tos 0x0 fwmark 0x10/0xff iif eth0 protocol 18 lookup 101',
      '     from all priority 400 tos 0x0 fwmark 0x7 oif eth1 lookup 102 no_track',
      '     not from 10.1.0.0/16 priority 500 tos 0x0 protocol 18 type unreachable',
      '     from 10.2.0.0/16 priority 550 tos 0x0 protocol 18 type blackhole',
      '     from 0.0.0.0/0 priority 600 tos 0x0 protocol 18 goto 700',
      '     from all to 2001:db8::/32 priority 650 tos 0x0 iif lo protocol 18 type prohibit',
      '     from ::/0 priority 660 tos 0x0 fwmark 0x20 protocol 18 lookup 103',
      '     from all to 2001:db8:1::5 priority 670 tos 0x0 protocol 18 nop',
      '     from 10.3.0.0/16 priority 16384 tos 0x0 protocol 18 lookup 104',
    ],
  }),
  ...dumpedInstance({
    name: 'VI_B', vrid: 41, interfaceName: 'eth0', sourceAddress: '192.168.200.10', vip: '192.168.141.1/24', syncGroup: 'SG', notifyPriorityChanges: true,
    routesAndRules: [
      '   Virtual Rules :',
      '     from all to 192.0.2.77 priority 16383 tos 0x0 protocol 18 lookup 105',
      '     from all to 2001:db8::77 priority 16384 tos 0x0 protocol 18 lookup 105',
    ],
  }),
  ...dumpedInstance({ name: 'VI_C', vrid: 42, interfaceName: 'eth1', sourceAddress: '10.0.0.10', vip: '192.168.142.1/24', notifyPriorityChanges: true, routesAndRules: [] }),
  '------< VRRP Sync groups >------',
  ' VRRP Sync Group = SG, BACKUP',
  '   Num member fault 0, num member init 0',
  '   VRRP member instances :',
  '     VI_A',
  '     VI_B',
  '   Using smtp notification = no',
  '   Notify priority changes = no',
  '------< Interfaces >------',
];

const NEW_FIELDS = ['virtualRoutes', 'virtualRules', 'notifyPriorityChanges'] as const;

function newFields(instances: Record<string, Settings>): Record<string, Partial<Settings>> {
  return Object.fromEntries(Object.entries(instances).map(([name, settings]) => [name, Object.fromEntries(NEW_FIELDS.map((field) => [field, settings[field]]))]));
}

function parsedWithWarnings(text: string): { config: KeepalivedConfig; warnings: string[] } {
  const result = parseConfigText(text, '/etc/keepalived/keepalived.conf', () => '', () => [], { hostname: 'director' });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  const parseWarnings = result.warnings.map(({ at, message }) => `${at.line}: ${message}`);
  return { config: result.config, warnings: [...parseWarnings, ...vrrpSpecsFromConfig(result.config).warnings] };
}

function parsed(text: string): KeepalivedConfig {
  return parsedWithWarnings(text).config;
}

describe("the VRRP settings compared with keepalived's dump", () => {
  it('read virtual routes, virtual rules and notify_priority_changes from the dump in one spelling, the one lvsd resolves the same configuration to', () => {
    const dumped = keepalivedInstances(DUMP_OF_FIXED_CASE);
    expect(newFields(dumped)).toEqual({
      VI_A: {
        // Without keepalived's `prepend`, which lvsd has no counterpart for; a route without dev is not tracked.
        virtualRoutes: [
          '10.20.0.0/16 via inet 10.0.0.1 dev eth1 proto 18',
          '192.0.2.0/24 dev eth0 table 100 proto 18 metric 5',
          '198.51.100.7 src 10.0.0.10 via inet 10.0.0.1 table 101 proto 18 no_track',
          '0.0.0.0/0 via inet 10.0.0.1 proto 18 metric 300 no_track',
          '2001:db8:5::/48 via inet6 2001:db8::1 dev eth1 proto 18 metric 7',
        ].join(', '),
        // 0.0.0.0/0 and ::/0 as `all`, and every IPv6 rule led by inet6.
        virtualRules: [
          'from 10.0.0.0/8 priority 100 tos 0x0 protocol 18 lookup 100',
          'from all to 198.51.100.0/24 priority 200 tos 0x10 protocol 18 lookup 254',
          'from 192.0.2.0/24 to 203.0.113.9 priority 300 tos 0x0 fwmark 0x10/0xff iif eth0 protocol 18 lookup 101',
          'from all priority 400 tos 0x0 fwmark 0x7 oif eth1 lookup 102 no_track',
          'not from 10.1.0.0/16 priority 500 tos 0x0 protocol 18 type unreachable',
          'from 10.2.0.0/16 priority 550 tos 0x0 protocol 18 type blackhole',
          'from all priority 600 tos 0x0 protocol 18 goto 700',
          'inet6 from all to 2001:db8::/32 priority 650 tos 0x0 iif lo protocol 18 type prohibit',
          'inet6 from all priority 660 tos 0x0 fwmark 0x20 protocol 18 lookup 103',
          'inet6 from all to 2001:db8:1::5 priority 670 tos 0x0 protocol 18 nop',
          'from 10.3.0.0/16 priority 16384 tos 0x0 protocol 18 lookup 104',
        ].join(', '),
        notifyPriorityChanges: 'false',
      },
      VI_B: {
        virtualRoutes: '',
        virtualRules: 'from all to 192.0.2.77 priority 16383 tos 0x0 protocol 18 lookup 105, inet6 from all to 2001:db8::77 priority 16384 tos 0x0 protocol 18 lookup 105',
        notifyPriorityChanges: 'true',
      },
      VI_C: { virtualRoutes: '', virtualRules: '', notifyPriorityChanges: 'true' },
    });
    expect(newFields(lvsdInstances(parsed(fixed[0]!.text)))).toEqual(newFields(dumped));
  });

  it('take notify_priority_changes in upper case as keepalived 2.2.7 -d shows it: ignored, the sync group\'s or global_defs\' value instead', () => {
    // keepalived --vrrp --dump-conf of fixed[1] (in a network namespace with eth0 and eth1): "Notify priority changes = ..." of each instance.
    const dumped = { VI_A: 'true', VI_B: 'true', VI_C: 'false', VI_D: 'true' };
    const ours = lvsdInstances(parsed(fixed[1]!.text));
    expect(Object.fromEntries(Object.entries(ours).map(([name, settings]) => [name, settings.notifyPriorityChanges]))).toEqual(dumped);
  });

  it('come from configurations lvsd reads whole: every route and rule they write is programmed, none left out with a warning', () => {
    for (const { name, text } of [...fixed, ...generated]) {
      const config = parsed(text);
      const { instances, warnings } = vrrpSpecsFromConfig(config);
      const written = (keyword: string) => text.split(` ${keyword} {\n`).slice(1).reduce((count, block) => count + block.split('\n }\n')[0]!.split('\n').length, 0);
      expect(instances.reduce((count, spec) => count + spec.virtualRoutes.length, 0), name).toBe(written('virtual_routes'));
      expect(instances.reduce((count, spec) => count + spec.virtualRules.length, 0), name).toBe(written('virtual_rules'));
      expect(warnings.filter((warning) => /virtual_r(?:oute|ule)s/.test(warning) && !warning.includes('has no preference')), name).toEqual([]);
    }
  });

  it('are generated with every route and rule form and each way to set notify_priority_changes', () => {
    const corpus = generated.map(({ text }) => text).join('');
    const forms = [
      ...VIRTUAL_ROUTES.map((route) => `  ${route}\n`),
      ...VIRTUAL_RULES.map((rule) => `  ${rule}\n`),
      ' notify_priority_changes\n', ' notify_priority_changes false\n', ' notify_priority_changes on\n',
      ' vrrp_notify_priority_changes\n', ' vrrp_notify_priority_changes off\n',
    ];
    expect(forms.filter((form) => !corpus.includes(form))).toEqual([]);
  });

  it.skipIf(samples.length === 0)('record what lvsd resolves otherwise in one Debian sample, each difference warned of at its line', () => {
    const differing = samples.filter(({ differences }) => differences !== undefined);
    expect(differing.map(({ name }) => name)).toEqual(['Debian sample keepalived.conf.vrrp.routes']);
    for (const { name, text, differences = [] } of differing) {
      const ours = lvsdInstances(parsed(text));
      for (const { instance, setting, keepalived, lvsd } of differences) {
        expect(ours[instance]?.[setting], name).toBe(lvsd);
        expect(lvsd, name).not.toBe(keepalived);
      }
      // Nothing else is replaced: keepalived's other settings stay what lvsd must match.
      expect(withKnownDifferences(ours, differences)).toEqual(ours);
    }
    const [routes] = differing.map(({ text }) => parsedWithWarnings(text).warnings);
    expect(routes!.filter((warning) => warning.includes('virtual_routes line'))).toEqual([
      expect.stringMatching(/:30 "192\.168\.113\.0\/24 via 192\.168\.100\.252 or 192\.168\.100\.253" is not supported \(unknown word or\); ignored$/),
      expect.stringMatching(/:31 "blackhole 192\.168\.113\.1\/32" is not supported \(unknown word blackhole\); ignored$/),
    ]);
  });

  it.skipIf(samples.length === 0)("number the virtual rule of keepalived.conf.vrrp.rules after its static rule, as keepalived's dump does, though lvsd programs no static rule", () => {
    const sample = samples.find(({ name }) => name === 'Debian sample keepalived.conf.vrrp.rules')!;
    expect(lvsdInstances(parsed(sample.text)).VI_1?.virtualRules).toBe('from 192.168.200.0/24 priority 16383 tos 0x0 protocol 18 lookup 2');
    expect(parsedWithWarnings(sample.text).warnings.filter((warning) => warning.includes('static_rules'))).toEqual([
      expect.stringMatching(/^9: 'static_rules' is not supported by lvsd, block ignored: /),
    ]);
  });
});
