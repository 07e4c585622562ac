// What `keepalived -d` dumps of each VRRP instance, and the same settings as lvsd resolves them
// (its parsed configuration and the speaker's specs), for vrrp-settings.vm.test.ts. The corpus:
// Debian's samples and generated configurations.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { KeepalivedConfig, VrrpInstance } from '../../src/config/index.ts';
import { vrrpSpecsFromConfig } from '../../src/vrrp/from-config.ts';
import type { VirtualAddress, VrrpInstanceSpec } from '../../src/vrrp/types.ts';
import { placedOnVmac } from '../../src/vrrp/vmac.ts';
import { dumpSection } from './keepalived-dump.ts';

export type Settings = Record<string, string>;

/** One instance's dump: `name = value` fields, every line, and the lists under `Header :` lines. */
interface DumpedInstance {
  fields: Record<string, string>;
  lines: string[];
  lists: Record<string, string[]>;
}

const LIST_HEADER = /^ {3}(Flags|Tracked interfaces|Tracked scripts|Tracked files|Tracked processes|Unicast Peer|Virtual IP(?: \(\d+\))?|Virtual IP Excluded)\s*:$/;

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
  };
}

/** As keepalived prints a VIP: a host prefix left out, a vmac named with its parent. */
function dumpedVip(spec: VrrpInstanceSpec, vip: VirtualAddress): string {
  const host = vip.address.includes(':') ? 128 : 32;
  const dev = vip.dev ?? spec.interface;
  const vmac = placedOnVmac(spec, vip) ? spec.vmac?.name : vip.addressVmac;
  return `${vip.address}${vip.prefixLength === host ? '' : `/${vip.prefixLength}`} dev ${vmac ? `${vmac}@${dev}` : dev} scope global${vip.label ? ` label ${vip.label}` : ''}`;
}

const SAMPLES = '/usr/share/doc/keepalived/samples';

export const samples = existsSync(SAMPLES)
  ? readdirSync(SAMPLES)
      .filter((file) => file.startsWith('keepalived.conf.vrrp'))
      .map((file) => ({ name: `Debian sample ${file}`, text: readFileSync(join(SAMPLES, file), 'utf8') }))
  : [];

const maybe = (line: fc.Arbitrary<string>) => fc.option(line, { nil: '' });
/** Present half the time, so that instances also come without them. */
const sometimes = (line: fc.Arbitrary<string>) => fc.option(line, { nil: '', freq: 2 });
const setting = (keyword: string, values: readonly string[], indent = ' ') => maybe(fc.constantFrom(...values).map((value) => `${indent}${keyword} ${value}\n`));
const sometimesSetting = (keyword: string, values: readonly string[]) => sometimes(fc.constantFrom(...values).map((value) => ` ${keyword} ${value}\n`));
const block = (keyword: string, entries: fc.Arbitrary<string[]>) =>
  entries.map((lines) => (lines.length === 0 ? '' : ` ${keyword} {\n${lines.map((line) => `  ${line}\n`).join('')} }\n`));

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

/** What the generated instances track. */
const TRACKED = [
  'vrrp_script chk_a {\n script "/bin/true"\n weight -4\n}',
  'vrrp_script chk_b {\n script "/bin/true"\n}',
  'track_file tf {\n file /dev/null\n weight 2\n}',
  'track_file tf_b {\n file /dev/null\n}',
  '',
].join('\n');

/** Instances with every combination of settings keepalived corrects or fills in; fixed seeds keep CI's corpus the same. */
export const generated = [1, 2, 3, 4, 5, 6].map((seed) => {
  const [text] = fc.sample(fc.tuple(globals, instance(0, seed), instance(1, seed), instance(2, seed), instance(3, seed)).map((parts) => parts.join('')), { seed, numRuns: 1 });
  return { name: `generated: 4 instances with random settings (seed ${seed})`, text: TRACKED + text! };
});
