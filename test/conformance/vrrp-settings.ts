// What `keepalived -d` dumps of each VRRP instance, and the same settings as lvsd resolves them
// (its parsed configuration and the speaker's specs), for vrrp-settings.vm.test.ts. The corpus:
// Debian's samples, a fixed case and generated configurations.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { KeepalivedConfig, VrrpInstance } from '../../src/config/index.ts';
import { vrrpSpecsFromConfig } from '../../src/vrrp/from-config.ts';
import { canonicalAddress, familyOf } from '../../src/vrrp/ip.ts';
import type { VirtualAddress, VirtualRoute, VirtualRule, VrrpInstanceSpec } from '../../src/vrrp/types.ts';
import { placedOnVmac } from '../../src/vrrp/vmac.ts';
import { dumpSection } from './keepalived-dump.ts';

export type Settings = Record<string, string>;

/** One instance's dump: `name = value` fields, every line, and the lists under `Header :` lines. */
interface DumpedInstance {
  fields: Record<string, string>;
  lines: string[];
  lists: Record<string, string[]>;
}

const LIST_HEADER = /^ {3}(Flags|Tracked interfaces|Tracked scripts|Tracked files|Tracked processes|Unicast Peer|Virtual IP(?: \(\d+\))?|Virtual IP Excluded|Virtual Routes|Virtual Rules)\s*:$/;

function dumpedInstances(lines: readonly string[]): Record<string, DumpedInstance> {
  const section = dumpSection(lines, 'VRRP Topology');
  if (!section) throw new Error(`keepalived dumped no VRRP configuration:\n${lines.slice(-40).join('\n')}`);
  const instances: Record<string, DumpedInstance> = {};
  let current: DumpedInstance | undefined;
  let list: string[] | undefined;
  for (const line of section) {
    const name = /^ VRRP Instance = (\S+)/.exec(line);
    if (name) {
      instances[name[1]!] = current = { fields: {}, lines: [], lists: {} };
      list = undefined;
      continue;
    }
    if (!current) continue;
    if (list && line.startsWith('     ')) {
      list.push(line.trim());
      continue;
    }
    list = undefined;
    const header = LIST_HEADER.exec(line);
    if (header) {
      list = current.lists[header[1]!.replace(/ \(\d+\)$/, '')] = [];
      continue;
    }
    const field = /^ {3}([^=]+?) = (.*)$/.exec(line);
    if (field && !(field[1]! in current.fields)) current.fields[field[1]!] = field[2]!;
    if (line.startsWith('   ')) current.lines.push(line.trim());
  }
  return instances;
}

/** keepalived's "------< VRRP Topology >------" section, by instance name, as settings to compare. */
export function keepalivedInstances(lines: readonly string[]): Record<string, Settings> {
  return Object.fromEntries(
    Object.entries(dumpedInstances(lines)).map(([instance, { fields, lines: bare, lists }]) => {
      const [amount, unit] = (fields['Advert interval'] ?? '').split(' ');
      const vmac = bare.map((line) => /^Use VMAC, i\/f name (\S+), is_up = \w+, xmit_base = (\w+)$/.exec(line)).find(Boolean);
      const onVmac = /^\S+, vmac on ([^\s,]+)/.exec(fields.Interface ?? '');
      const unicast = (lists.Flags ?? []).includes('Using unicast');
      const extraGarp = Object.entries(fields).find(([key]) => key.startsWith('Gratuitous ARP for each secondary'));
      const checkUnicastSrc = bare.map((line) => /^Check unicast src : (\w+)$/.exec(line)?.[1]).find(Boolean);
      return [instance, {
        version: fields['VRRP Version']!,
        interface: onVmac ? onVmac[1]! : fields.Interface!,
        vrid: fields['Virtual Router ID']!,
        priority: fields.Priority!,
        advertMs: String(unit === 'sec' ? Number(amount) * 1000 : Number(amount)),
        preempt: fields.Preempt!,
        preemptDelayMs: fields.Preempt === 'disabled' ? '-' : String(Number(fields['Preempt delay']?.split(' ')[0] ?? 0) * 1000),
        garp: `${fields['Gratuitous ARP delay']} s, ${fields['Gratuitous ARP repeat']}; refresh ${fields['Gratuitous ARP refresh']} s, ${fields['Gratuitous ARP refresh repeat']}`,
        garpLowerPriority: `${fields['Gratuitous ARP lower priority delay']} s, ${fields['Gratuitous ARP lower priority repeat']}`,
        garpExtraInterfaces: extraGarp ? `${extraGarp[1]} s on ${extraGarp[0].endsWith('i/f') ? 'any interface' : 'vmacs'}` : '-',
        downTimerAdverts: fields['Down timer adverts']!,
        advertsOnPriority: `lower: ${fields['Send advert after receive lower priority advert']}, higher: ${fields['Send advert after receive higher priority advert']}`,
        accept: fields.Accept!,
        // VRRPv3 has no authentication, and keepalived does not print the line for it.
        authentication: fields['Authentication type'] ?? 'none',
        vips: (lists['Virtual IP'] ?? []).join(', '),
        vmac: vmac ? `${vmac[1]}, xmit_base ${vmac[2]}` : 'none',
        vmacForAddresses: String(bare.includes('Use VMAC for VIPs on other interfaces')),
        sourceFromConfig: /^(\S+) \(from configuration\)$/.exec(fields['Using src_ip'] ?? '')?.[1] ?? '-',
        adverts: unicast ? 'unicast' : (lists.Flags ?? []).includes('Unicast config option specified but using multicast') ? 'multicast (unicast keyword)' : 'multicast',
        faultWithoutPeers: String((lists.Flags ?? []).includes('If unicast go to fault state if no peers')),
        configFaults: fields['Number of config faults']!,
        multicastGroup: bare.map((line) => /^Multicast address (\S+)/.exec(line)?.[1]).find(Boolean) ?? '-',
        unicast: unicast ? `ttl ${fields['Unicast TTL']}, check source ${checkUnicastSrc}, peers ${(lists['Unicast Peer'] ?? []).join(', ')}, old checksum ${fields['Unicast checksum compatibility']}` : '-',
        skipCheckAdvAddr: String(bare.includes('Skip checking advert IP addresses')),
        promoteSecondaries: fields.Promote_secondaries!,
        kernelRxBufSize: fields['Kernel rx buffer size'] ?? '0',
        tracking: tracking(lists['Tracked interfaces'], lists['Tracked scripts'], lists['Tracked files'], lists['Tracked processes']),
        virtualRoutes: (lists['Virtual Routes'] ?? []).map(comparableRoute).join(', '),
        virtualRules: (lists['Virtual Rules'] ?? []).map(comparableRule).join(', '),
        notifyPriorityChanges: fields['Notify priority changes']!,
      }];
    }),
  );
}

function tracking(...lists: (readonly string[] | undefined)[]): string {
  return lists.map((list) => [...(list ?? [])].sort().join(', ')).join('; ');
}

const OLD_CHECKSUM = { detect: 'no', never: 'never', always: 'config' } as const;

/** The same settings of every instance of `config`, as lvsd resolves them. */
export function lvsdInstances(config: KeepalivedConfig): Record<string, Settings> {
  const specs = new Map(vrrpSpecsFromConfig(config).instances.map((spec) => [spec.name, spec]));
  return Object.fromEntries(config.vrrpInstances.map((v) => [v.name, lvsdInstance(v, specs.get(v.name)!)]));
}

function lvsdInstance(v: VrrpInstance, spec: VrrpInstanceSpec): Settings {
  const weighted = (name: string, weight: number, reverse: boolean, comma = '') => `${name}${comma} weight ${weight}${reverse ? ' reverse' : ''}`;
  const unicast = v.unicastPeers.length > 0;
  // A peer's min_ttl or max_ttl sets the instance's check_unicast_src (global vrrp_check_unicast_src does not show).
  const checkUnicastSrc = v.checkUnicastSrc || v.unicastPeers.some((peer) => peer.minTtl !== undefined || peer.maxTtl !== undefined);
  const unicastKeyword = v.unicastSrcIp !== undefined || v.checkUnicastSrc || v.unicastFaultNoPeer || v.oldUnicastChecksum !== 'detect';
  return {
    version: String(v.version),
    interface: spec.interface,
    vrid: String(v.virtualRouterId),
    priority: String(v.priority),
    advertMs: String(v.advertIntMs),
    preempt: v.nopreempt ? 'disabled' : 'enabled',
    // Without preemption there is nothing to delay, and keepalived does not show the delay.
    preemptDelayMs: v.nopreempt ? '-' : String(v.preemptDelayMs),
    garp: `${v.garpMasterDelayMs / 1000} s, ${v.garpMasterRepeat}; refresh ${v.garpMasterRefreshMs / 1000} s, ${v.garpMasterRefreshRepeat}`,
    garpLowerPriority: `${v.garpLowerPrioDelayMs / 1000} s, ${v.garpLowerPrioRepeat}`,
    garpExtraInterfaces: spec.garp.extraInterfacesMs > 0 ? `${spec.garp.extraInterfacesMs / 1000} s on ${spec.garp.extraInterfacesAll ? 'any interface' : 'vmacs'}` : '-',
    downTimerAdverts: String(v.downTimerAdverts),
    // The configured values: lvsd's speaker always answers a higher priority, which the README explains.
    advertsOnPriority: `lower: ${!v.lowerPrioNoAdvert}, higher: ${v.higherPrioSendAdvert}`,
    accept: v.accept ? 'enabled' : 'disabled',
    authentication: v.authentication?.type === 'PASS' ? 'SIMPLE_PASSWORD' : v.authentication?.type === 'AH' ? 'IPSEC_AH' : 'none',
    vips: spec.virtualAddresses.map((vip) => dumpedVip(spec, vip)).join(', '),
    vmac: spec.vmac ? `${spec.vmac.name}, xmit_base ${spec.vmac.xmitBase}` : 'none',
    vmacForAddresses: String(v.useVmacAddr),
    sourceFromConfig: spec.sourceAddress ?? '-',
    adverts: unicast ? 'unicast' : unicastKeyword ? 'multicast (unicast keyword)' : 'multicast',
    faultWithoutPeers: String(v.unicastFaultNoPeer),
    configFaults: String(spec.configFaults.length),
    multicastGroup: unicast ? '-' : spec.multicastGroup,
    unicast: unicast
      ? `ttl ${v.unicastTtl ?? 255}, check source ${checkUnicastSrc ? 'yes' : 'no'}, peers ${v.unicastPeers.map((peer) => `${peer.address} min_ttl ${peer.minTtl ?? 0} max_ttl ${peer.maxTtl ?? 255}`).join(', ')}, old checksum ${OLD_CHECKSUM[v.oldUnicastChecksum]}`
      : '-',
    skipCheckAdvAddr: String(v.skipCheckAdvAddr),
    promoteSecondaries: spec.promoteSecondaries ? 'enabled' : 'disabled',
    kernelRxBufSize: String(v.kernelRxBufSize),
    tracking: tracking(
      spec.trackInterfaces.map((tracked) => weighted(tracked.name, tracked.weight, tracked.reverse)),
      spec.trackScripts.map((tracked) => weighted(tracked.script.name, tracked.weight, tracked.reverse)),
      spec.trackFiles.map((tracked) => weighted(tracked.name, tracked.weight, tracked.reverse, ',')),
      spec.trackProcesses.map((tracked) => weighted(tracked.name, tracked.weight, tracked.reverse, ',')),
    ),
    virtualRoutes: spec.virtualRoutes.map(dumpedRoute).join(', '),
    virtualRules: spec.virtualRules.map(dumpedRule).map(comparableRule).join(', '),
    notifyPriorityChanges: String(spec.notify.priorityChanges),
  };
}

/** keepalived tags what it adds with its own routing protocol number, RTPROT_KEEPALIVED; so does lvsd. */
const RTPROT_KEEPALIVED = 18;
const RT_TABLE_MAIN = 254;

/** An address with its prefix length left out when it is a host's, as keepalived's ipaddresstos writes it. */
function dumpedPrefix(address: string, prefixLength: number): string {
  return `${canonicalAddress(address)}${prefixLength === (familyOf(address) === 4 ? 32 : 128) ? '' : `/${prefixLength}`}`;
}

/**
 * A virtual route as keepalived's format_iproute (vrrp_iproute.c) writes the words lvsd takes:
 * destination, `src` (the preferred source), `via`, `dev`, `table` other than main, the protocol,
 * `metric` and `no_track` (written, or set, on a route without `dev`), in that order.
 * comparableRoute says what of keepalived's line is left out.
 */
function dumpedRoute(route: VirtualRoute): string {
  return [
    dumpedPrefix(route.destination, route.prefixLength),
    route.source !== undefined && `src ${canonicalAddress(route.source)}`,
    route.gateway !== undefined && `via inet${familyOf(route.gateway) === 6 ? '6' : ''} ${canonicalAddress(route.gateway)}`,
    route.dev !== undefined && `dev ${route.dev}`,
    route.table !== undefined && route.table !== RT_TABLE_MAIN && `table ${route.table}`,
    `proto ${RTPROT_KEEPALIVED}`,
    route.metric !== undefined && `metric ${route.metric}`,
    !route.track && 'no_track',
  ].filter(Boolean).join(' ');
}

/**
 * keepalived's route line without the leading add/append/prepend, which lvsd has no counterpart
 * for and is therefore not compared: how keepalived adds it (lvsd adds as keepalived does without
 * one, as `ip route prepend`).
 */
function comparableRoute(line: string): string {
  return line.replace(/^(?:add|append|prepend) /, '');
}

/**
 * A virtual rule as keepalived's format_iprule (vrrp_iprule.c) writes it: `from all` without a
 * source, `inet6` first only when no address shows the family, the preference and tos always,
 * a fwmark's mask unless it is all ones, `protocol 18` for a tracked rule and `no_track` at the end
 * for one that is not.
 */
function dumpedRule(rule: VirtualRule): string {
  const hex = (value: number) => `0x${value.toString(16)}`;
  const { action, fwmark } = rule;
  return [
    rule.from === undefined && rule.to === undefined && rule.family === 6 && 'inet6',
    rule.invert && 'not',
    `from ${rule.from ? dumpedPrefix(rule.from.address, rule.from.prefixLength) : 'all'}`,
    rule.to && `to ${dumpedPrefix(rule.to.address, rule.to.prefixLength)}`,
    `priority ${rule.priority}`,
    `tos ${hex(rule.tos ?? 0)}`,
    fwmark && `fwmark ${hex(fwmark.mark)}${fwmark.mask === undefined || fwmark.mask === 0xffffffff ? '' : `/${hex(fwmark.mask)}`}`,
    rule.iif !== undefined && `iif ${rule.iif}`,
    rule.oif !== undefined && `oif ${rule.oif}`,
    rule.track && `protocol ${RTPROT_KEEPALIVED}`,
    action.type === 'table' ? `lookup ${action.table}` : action.type === 'goto' ? `goto ${action.target}` : action.type === 'nop' ? 'nop' : `type ${action.type}`,
    !rule.track && 'no_track',
  ].filter(Boolean).join(' ');
}

/**
 * One rule line in one spelling. keepalived keeps `from all` (and `to all`, `default`, `any`) as a
 * zero-length prefix and writes it as 0.0.0.0/0 or ::/0, where lvsd keeps no address; both match
 * every address. It writes the family only when no address shows it: here it always leads an IPv6 rule.
 */
function comparableRule(line: string): string {
  const inet6 = line.startsWith('inet6 ') || /\b(?:from|to) [^ ]*:/.test(line);
  const rule = line.replace(/^inet6 /, '').replace(/\bfrom (?:0\.0\.0\.0|::)\/0 /, 'from all ').replace(/ to (?:0\.0\.0\.0|::)\/0 /, ' ');
  return `${inet6 ? 'inet6 ' : ''}${rule}`;
}

/** As keepalived prints a VIP: a host prefix left out, a vmac named with its parent. */
function dumpedVip(spec: VrrpInstanceSpec, vip: VirtualAddress): string {
  const host = vip.address.includes(':') ? 128 : 32;
  const dev = vip.dev ?? spec.interface;
  const vmac = placedOnVmac(spec, vip) ? spec.vmac?.name : vip.addressVmac;
  return `${vip.address}${vip.prefixLength === host ? '' : `/${vip.prefixLength}`} dev ${vmac ? `${vmac}@${dev}` : dev} scope global${vip.label ? ` label ${vip.label}` : ''}`;
}

/**
 * A setting of one instance that lvsd resolves otherwise than keepalived, for a reason the README
 * gives and lvsd warns of at the line: keepalived's value as its dump shows it, and lvsd's.
 */
export interface KnownDifference {
  readonly why: string;
  readonly instance: string;
  readonly setting: string;
  readonly keepalived: string;
  readonly lvsd: string;
}

/** A configuration of the corpus, with the settings in which lvsd is known to differ from keepalived. */
export interface VrrpSettingsCase {
  readonly name: string;
  readonly text: string;
  readonly differences?: readonly KnownDifference[];
}

/** keepalived's instances with lvsd's value for each known difference: what lvsd must resolve. */
export function withKnownDifferences(keepalived: Record<string, Settings>, differences: readonly KnownDifference[] = []): Record<string, Settings> {
  const expected = Object.fromEntries(Object.entries(keepalived).map(([name, settings]) => [name, { ...settings }]));
  for (const { instance, setting, lvsd } of differences) expected[instance]![setting] = lvsd;
  return expected;
}

const SAMPLES = '/usr/share/doc/keepalived/samples';

/** keepalived.conf.vrrp.routes' virtual routes as keepalived 2.2.7 dumps them (in the comparable spelling). */
const SAMPLE_ROUTES = [
  '192.168.109.0/24 src 192.168.100.1 via inet 192.168.200.254 dev eth1 proto 18',
  '192.168.110.0/24 via inet 192.168.200.254 dev eth1 proto 18',
  '192.168.111.0/24 dev eth2 proto 18',
  '192.168.112.0/24 via inet 192.168.100.254 proto 18 no_track',
  '192.168.113.0/24 proto 18 nexthop via inet 192.168.100.252 nexthop via inet 192.168.100.253 no_track',
  'blackhole 192.168.113.1 proto 18 no_track',
  '0.0.0.0/0 via inet 192.168.0.1 table 100 proto 18 no_track',
];
const SAMPLE_UNSUPPORTED_ROUTES = new Set([
  '192.168.113.0/24 proto 18 nexthop via inet 192.168.100.252 nexthop via inet 192.168.100.253 no_track',
  'blackhole 192.168.113.1 proto 18 no_track',
]);

/** The Debian sample whose instance lvsd resolves otherwise, for what it does not support. */
const SAMPLE_DIFFERENCES: Record<string, readonly KnownDifference[]> = {
  'keepalived.conf.vrrp.routes': [{
    why: 'lvsd programs neither a multipath route (`via A or B`, nexthops) nor a route of another type than unicast (`blackhole`): '
      + 'it warns at each line and leaves it out, and programs the other five',
    instance: 'VI_1',
    setting: 'virtualRoutes',
    keepalived: SAMPLE_ROUTES.join(', '),
    lvsd: SAMPLE_ROUTES.filter((route) => !SAMPLE_UNSUPPORTED_ROUTES.has(route)).join(', '),
  }],
};

export const samples: VrrpSettingsCase[] = existsSync(SAMPLES)
  ? readdirSync(SAMPLES)
      .filter((file) => file.startsWith('keepalived.conf.vrrp'))
      .map((file) => ({ name: `Debian sample ${file}`, text: readFileSync(join(SAMPLES, file), 'utf8'), differences: SAMPLE_DIFFERENCES[file] }))
  : [];

const maybe = (line: fc.Arbitrary<string>) => fc.option(line, { nil: '' });
/** Present half the time, so that instances also come without them. */
const sometimes = (line: fc.Arbitrary<string>) => fc.option(line, { nil: '', freq: 2 });
const setting = (keyword: string, values: readonly string[], indent = ' ') => maybe(fc.constantFrom(...values).map((value) => `${indent}${keyword} ${value}\n`));
const sometimesSetting = (keyword: string, values: readonly string[]) => sometimes(fc.constantFrom(...values).map((value) => ` ${keyword} ${value}\n`));
const blockText = (keyword: string, entries: readonly string[]) => ` ${keyword} {\n${entries.map((entry) => `  ${entry}\n`).join('')} }\n`;
const block = (keyword: string, entries: fc.Arbitrary<string[]>) => entries.map((lines) => (lines.length === 0 ? '' : blockText(keyword, lines)));

/** use_vmac in its forms, the vmac of a VIP elsewhere, tracking, AH and the unicast keywords. */
const vmacAndTracking = fc.tuple(
  sometimes(fc.constantFrom(' use_vmac\n', ' use_vmac vm%d\n', ' use_vmac\n vmac_xmit_base\n')),
  sometimes(fc.constant(' use_vmac_addr\n')),
  block('track_interface', fc.subarray(['eth2', 'eth3 weight 10 reverse'])),
  block('track_script', fc.subarray(['chk_a', 'chk_b weight 7'])),
  block('track_file', fc.subarray(['tf', 'tf_b weight -2 reverse'])),
  sometimes(fc.constant(' authentication {\n  auth_type AH\n  auth_pass secret12\n }\n')),
);

const unicastKeywords = fc.tuple(
  sometimes(fc.constant(' unicast_src_ip 10.0.0.10\n')),
  sometimes(block('unicast_peer', fc.subarray(['10.0.0.11', '10.0.0.12 min_ttl 5 max_ttl 200']))),
  sometimesSetting('unicast_ttl', ['1', '9']),
  sometimes(fc.constant(' check_unicast_src\n')),
  sometimes(fc.constant(' unicast_fault_no_peer\n')),
  sometimes(fc.constantFrom(' old_unicast_checksum\n', ' old_unicast_checksum never\n')),
  sometimesSetting('mcast_dst_ip', ['224.0.0.100']),
  sometimesSetting('kernel_rx_buf_size', ['30000']),
  sometimes(fc.constant(' promote_secondaries\n')),
  sometimes(fc.constant(' skip_check_adv_addr\n')),
  sometimesSetting('garp_extra_if', ['5', 'all 7']),
);

const instance = (index: number, seed: number) =>
  fc.tuple(
    setting('state', ['MASTER', 'BACKUP']),
    setting('priority', ['1', '50', '100', '254', '255']),
    setting('advert_int', ['1', '2', '0.5', '0.25', '1.5']),
    setting('version', ['2', '3']),
    maybe(fc.constant(' nopreempt\n')),
    setting('preempt_delay', ['0', '5', '30.5']),
    setting('garp_master_delay', ['0', '2', '7']),
    setting('garp_master_repeat', ['1', '4']),
    setting('garp_master_refresh', ['0', '15']),
    setting('garp_master_refresh_repeat', ['1', '3']),
    setting('garp_lower_prio_delay', ['0', '3']),
    setting('garp_lower_prio_repeat', ['0', '2']),
    setting('down_timer_adverts', ['1', '5', '100']),
    maybe(fc.constant(' lower_prio_no_advert\n')),
    maybe(fc.constant(' higher_prio_send_advert\n')),
    maybe(fc.constantFrom(' accept\n', ' no_accept\n')),
    maybe(fc.constant(' authentication {\n  auth_type PASS\n  auth_pass secret12\n }\n')),
    vmacAndTracking.map((lines) => lines.join('')),
    unicastKeywords.map((lines) => lines.join('')),
    fc.boolean(),
  ).map(([...parts]) => {
    const elsewhere = parts.at(-1) === true ? `  192.168.150.${seed}/32 dev eth2\n` : '';
    const lines = parts.slice(0, -1).join('').replace('vm%d', `vm${index}`);
    return `vrrp_instance VI_${index} {\n interface eth${index % 2}\n virtual_router_id ${10 + index}\n${lines}` +
      ` virtual_ipaddress {\n  192.168.${100 + index}.${seed}/24\n${elsewhere} }\n}\n`;
  });

const globals = fc
  .tuple(
    setting('vrrp_version', ['2', '3']),
    setting('vrrp_garp_master_delay', ['0', '1', '10']),
    setting('vrrp_garp_master_repeat', ['1', '3']),
    setting('vrrp_garp_master_refresh', ['0', '60']),
    setting('vrrp_garp_master_refresh_repeat', ['1', '4']),
    setting('vrrp_garp_lower_prio_delay', ['0', '4']),
    setting('vrrp_garp_lower_prio_repeat', ['1', '6']),
    setting('vrrp_down_timer_adverts', ['2', '7']),
    maybe(fc.constant(' vrrp_lower_prio_no_advert\n')),
    maybe(fc.constant(' vrrp_higher_prio_send_advert\n')),
    sometimesSetting('vrrp_mcast_group4', ['224.0.0.99']),
    sometimesSetting('vrrp_garp_extra_if', ['11', 'all 13']),
    sometimes(fc.constant(' vrrp_skip_check_adv_addr\n')),
  )
  .map((lines) => (lines.join('') ? `global_defs {\n${lines.join('')}}\n` : ''));

/**
 * virtual_routes lines in the forms lvsd programs (src/vrrp/from-config.ts virtualRoute): a gateway,
 * a device, a table by number (in hex too), a metric (`preference` too), a preferred source, `to`,
 * `default`, the table before the destination, IPv6. Their devices are the instances' own
 * interfaces: keepalived also watches the device of a route or rule, and one that track_interface
 * names (eth2, eth3) would lose its weight to that watch (vrrp.c add_vrrp_to_interface).
 */
export const VIRTUAL_ROUTES = [
  '10.20.0.0/16 via 10.0.0.1 dev eth1',
  'table 100 192.0.2.0/24 dev eth0 metric 5',
  'to 198.51.100.7 src 10.0.0.10 via 10.0.0.1 table 0x65',
  'default via 10.0.0.1 metric 300',
  '2001:db8:5::/48 via 2001:db8::1 dev eth1 preference 7',
];

/**
 * virtual_rules lines with every word lvsd programs (src/vrrp/virtual-rules.ts): from, to (all,
 * prefixes, hosts, IPv6), table/lookup by number and name, priority/preference/order, tos, fwmark
 * with and without a mask, iif (and dev), oif, not, goto, nop, the drop types bare and after
 * `type`, no_track, a trailing inet6, and no preference at all (numbered from 16384 down). inet6
 * comes last: keepalived 2.2.7 skips the word after it.
 */
export const VIRTUAL_RULES = [
  'from 10.0.0.0/8 table 100 priority 100',
  'to 198.51.100.0/24 lookup main preference 200 tos 0x10',
  'from 192.0.2.0/24 to 203.0.113.9 fwmark 0x10/0xff iif eth0 table 101 order 300',
  'fwmark 7 oif eth1 lookup 102 priority 400 no_track',
  'not from 10.1.0.0/16 type unreachable priority 500',
  'from 10.2.0.0/16 blackhole priority 550',
  'from all goto 700 priority 600',
  'to 2001:db8::/32 prohibit priority 650 dev lo',
  'from all fwmark 0x20/0xffffffff lookup 103 priority 660 inet6',
  'to 2001:db8:1::5 nop priority 670',
  'from 10.3.0.0/16 lookup 104',
];

/** An instance's virtual routes, virtual rules and notify_priority_changes. */
const routesRulesAndNotify = fc
  .tuple(
    sometimes(block('virtual_routes', fc.subarray(VIRTUAL_ROUTES, { minLength: 1 }))),
    sometimes(block('virtual_rules', fc.subarray(VIRTUAL_RULES, { minLength: 1 }))),
    maybe(fc.constantFrom(' notify_priority_changes\n', ' notify_priority_changes false\n', ' notify_priority_changes on\n')),
  )
  .map((lines) => lines.join(''));

/**
 * Settings drawn after all the others, so that each seed's earlier draws, and so its instances
 * as they were before these came, stay the same: the global vrrp_notify_priority_changes and each
 * instance's routesRulesAndNotify, written into the configuration drawn before them.
 */
const drawnLast = fc.tuple(maybe(fc.constantFrom(' vrrp_notify_priority_changes\n', ' vrrp_notify_priority_changes off\n')), fc.array(routesRulesAndNotify, { minLength: 4, maxLength: 4 }));

function withDrawnLast(globalsText: string, instances: string[], [notify, perInstance]: [string, string[]]): string {
  const globalPart = notify === '' ? globalsText : globalsText === '' ? `global_defs {\n${notify}}\n` : globalsText.replace(/\}\n$/, `${notify}}\n`);
  return globalPart + instances.map((text, index) => text.replace(' virtual_ipaddress {\n', `${perInstance[index]} virtual_ipaddress {\n`)).join('');
}

/** What the generated instances track. */
const TRACKED = [
  'vrrp_script chk_a {\n script "/bin/true"\n weight -4\n}',
  'vrrp_script chk_b {\n script "/bin/true"\n}',
  'track_file tf {\n file /dev/null\n weight 2\n}',
  'track_file tf_b {\n file /dev/null\n}',
  '',
].join('\n');

/** Instances with every combination of settings keepalived corrects or fills in; fixed seeds keep CI's corpus the same. */
export const generated: VrrpSettingsCase[] = [1, 2, 3, 4, 5, 6].map((seed) => {
  const [text] = fc.sample(
    fc.tuple(globals, instance(0, seed), instance(1, seed), instance(2, seed), instance(3, seed), drawnLast)
      .map(([globalsText, first, second, third, fourth, last]) => withDrawnLast(globalsText, [first, second, third, fourth], last)),
    { seed, numRuns: 1 },
  );
  return { name: `generated: 4 instances with random settings (seed ${seed})`, text: TRACKED + text! };
});

/** keepalived 2.2.7's check_true_false knows only lower case: VI_A and VI_B take global_defs' true (OFF and SG's False ignored), VI_C SG2's no. */
const notifyInUpperCase = 'global_defs {\n vrrp_notify_priority_changes\n vrrp_notify_priority_changes OFF\n}\n' +
  'vrrp_sync_group SG {\n group {\n  VI_A\n  VI_B\n }\n notify_priority_changes False\n}\n' +
  'vrrp_sync_group SG2 {\n group {\n  VI_C\n  VI_D\n }\n notify_priority_changes no\n}\n' +
  [['VI_A', 'False'], ['VI_B', undefined], ['VI_C', 'ON'], ['VI_D', 'yes']].map(([name, value], index) =>
    `vrrp_instance ${name} {\n interface eth${index >> 1}\n virtual_router_id ${50 + index}\n${value === undefined ? '' : ` notify_priority_changes ${value}\n`}` +
    ` virtual_ipaddress {\n  192.168.${150 + index}.1/24\n }\n}\n`).join('');

/**
 * Every virtual route and rule form at once, rules without a preference numbered on from one
 * instance to the next and per family (VI_B), and notify_priority_changes as an instance sets it
 * (VI_B), as its sync group does when it does not (VI_A), and as global_defs does for the rest (VI_C);
 * then notifyInUpperCase.
 */
export const fixed: VrrpSettingsCase[] = [{
  name: 'virtual routes and rules in every form lvsd takes; notify_priority_changes of an instance, a sync group and global_defs',
  text: 'global_defs {\n vrrp_notify_priority_changes\n}\n' +
    'vrrp_sync_group SG {\n group {\n  VI_A\n  VI_B\n }\n notify_priority_changes false\n}\n' +
    `vrrp_instance VI_A {\n interface eth0\n virtual_router_id 40\n${blockText('virtual_routes', VIRTUAL_ROUTES)}${blockText('virtual_rules', VIRTUAL_RULES)}` +
    ` virtual_ipaddress {\n  192.168.140.1/24\n }\n}\n` +
    `vrrp_instance VI_B {\n interface eth0\n virtual_router_id 41\n notify_priority_changes\n${blockText('virtual_rules', ['to 192.0.2.77 lookup 105', 'to 2001:db8::77 lookup 105'])}` +
    ' virtual_ipaddress {\n  192.168.141.1/24\n }\n}\n' +
    'vrrp_instance VI_C {\n interface eth1\n virtual_router_id 42\n virtual_ipaddress {\n  192.168.142.1/24\n }\n}\n',
}, {
  name: 'notify_priority_changes in upper case: ignored, each instance falling back to its sync group, else global_defs',
  text: notifyInUpperCase,
}];
