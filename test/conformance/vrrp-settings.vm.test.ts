import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText, type VrrpInstance } from '../../src/config/index.ts';
import { sharedVm } from '../kernel/vm.ts';
import { dumpSection, keepalivedDump } from './keepalived-dump.ts';

// Every VRRP instance must resolve as keepalived's VRRP process dumps it (keepalived -d):
// version, priority, advert interval, preemption, gratuitous ARP timing (lower-priority bursts too),
// the down timer's advert count, adverts on lower/higher priority, accept mode,
// authentication and virtual addresses, with keepalived's defaults, globals and corrections
// (e.g. nopreempt or preempt_delay cleared on an instance that starts as master).

type Settings = Record<string, string>;

/** keepalived's "------< VRRP Topology >------" section, by instance name. */
function keepalivedInstances(lines: readonly string[]): Record<string, Settings> {
  const section = dumpSection(lines, 'VRRP Topology');
  if (!section) throw new Error(`keepalived dumped no VRRP configuration:\n${lines.slice(-40).join('\n')}`);
  const instances: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  let vips: string[] | undefined;
  for (const line of section) {
    const name = /^ VRRP Instance = (\S+)/.exec(line);
    if (name) instances[name[1]!] = current = {};
    else if (!current) continue;
    else if (/^ {3}Virtual IP \(\d+\):/.test(line)) vips = [];
    else if (vips && line.startsWith('     ')) vips.push(line.trim());
    else {
      if (vips) current['Virtual IP'] = vips.join(', ');
      vips = undefined;
      const field = /^ {3}([^=]+?) = (.*)$/.exec(line);
      if (field && !(field[1]! in current)) current[field[1]!] = field[2]!;
    }
  }
  return Object.fromEntries(
    Object.entries(instances).map(([instance, dumped]) => {
      const [amount, unit] = (dumped['Advert interval'] ?? '').split(' ');
      return [instance, {
        version: dumped['VRRP Version']!,
        interface: dumped.Interface!,
        vrid: dumped['Virtual Router ID']!,
        priority: dumped.Priority!,
        advertMs: String(unit === 'sec' ? Number(amount) * 1000 : Number(amount)),
        preempt: dumped.Preempt!,
        preemptDelayMs: dumped.Preempt === 'disabled' ? '-' : String(Number(dumped['Preempt delay']?.split(' ')[0] ?? 0) * 1000),
        garp: `${dumped['Gratuitous ARP delay']} s, ${dumped['Gratuitous ARP repeat']}; refresh ${dumped['Gratuitous ARP refresh']} s, ${dumped['Gratuitous ARP refresh repeat']}`,
        garpLowerPriority: `${dumped['Gratuitous ARP lower priority delay']} s, ${dumped['Gratuitous ARP lower priority repeat']}`,
        downTimerAdverts: dumped['Down timer adverts']!,
        advertsOnPriority: `lower: ${dumped['Send advert after receive lower priority advert']}, higher: ${dumped['Send advert after receive higher priority advert']}`,
        accept: dumped.Accept!,
        // VRRPv3 has no authentication, and keepalived does not print the line for it.
        authentication: dumped['Authentication type'] ?? 'none',
        vips: dumped['Virtual IP'] ?? '',
      }];
    }),
  );
}

function lvsdInstance(v: VrrpInstance): Settings {
  return {
    version: String(v.version),
    interface: v.interface ?? '',
    vrid: String(v.virtualRouterId),
    priority: String(v.priority),
    advertMs: String(v.advertIntMs),
    preempt: v.nopreempt ? 'disabled' : 'enabled',
    // Without preemption there is nothing to delay, and keepalived does not show the delay.
    preemptDelayMs: v.nopreempt ? '-' : String(v.preemptDelayMs),
    garp: `${v.garpMasterDelayMs / 1000} s, ${v.garpMasterRepeat}; refresh ${v.garpMasterRefreshMs / 1000} s, ${v.garpMasterRefreshRepeat}`,
    garpLowerPriority: `${v.garpLowerPrioDelayMs / 1000} s, ${v.garpLowerPrioRepeat}`,
    downTimerAdverts: String(v.downTimerAdverts),
    // The configured values: lvsd's speaker always answers a higher priority, which the README explains.
    advertsOnPriority: `lower: ${!v.lowerPrioNoAdvert}, higher: ${v.higherPrioSendAdvert}`,
    accept: v.accept ? 'enabled' : 'disabled',
    authentication: v.authentication?.type === 'PASS' ? 'SIMPLE_PASSWORD' : v.authentication?.type === 'AH' ? 'IPSEC_AH' : 'none',
    vips: v.virtualIpaddresses
      .map((vip) => {
        const host = vip.family === 'inet' ? 32 : 128;
        return `${vip.address}${vip.prefixLength === host ? '' : `/${vip.prefixLength}`} dev ${vip.device ?? v.interface} scope global${vip.label ? ` label ${vip.label}` : ''}`;
      })
      .join(', '),
  };
}

const SAMPLES = '/usr/share/doc/keepalived/samples';
const samples = existsSync(SAMPLES)
  ? readdirSync(SAMPLES)
      .filter((file) => file.startsWith('keepalived.conf.vrrp'))
      .map((file) => ({ name: `Debian sample ${file}`, text: readFileSync(join(SAMPLES, file), 'utf8') }))
  : [];

const maybe = (line: fc.Arbitrary<string>) => fc.option(line, { nil: '' });
const setting = (keyword: string, values: readonly string[], indent = ' ') => maybe(fc.constantFrom(...values).map((value) => `${indent}${keyword} ${value}\n`));

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
  ).map((lines) =>
    `vrrp_instance VI_${index} {\n interface eth${index % 2}\n virtual_router_id ${10 + index}\n${lines.join('')}` +
    ` virtual_ipaddress {\n  192.168.${100 + index}.${seed}/24\n }\n}\n`);

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
  )
  .map((lines) => (lines.join('') ? `global_defs {\n${lines.join('')}}\n` : ''));

/** Instances with every combination of settings keepalived corrects or fills in; fixed seeds keep CI's corpus the same. */
const generated = [1, 2, 3, 4, 5, 6].map((seed) => {
  const [text] = fc.sample(fc.tuple(globals, instance(0, seed), instance(1, seed), instance(2, seed), instance(3, seed)).map((parts) => parts.join('')), { seed, numRuns: 1 });
  return { name: `generated: 4 instances with random settings (seed ${seed})`, text: text! };
});

// One keepalived at a time: starting several at once starves the conformance cases that share
// the emulated CPU (one needed its retry when these ran concurrently).
describe('VRRP instances resolve as keepalived -d shows them', () => {
  for (const { name, text } of [...samples, ...generated]) {
    it(name, async () => {
      const vm = await sharedVm();
      const file = join(vm.scratchDir(), 'keepalived.conf');
      writeFileSync(file, text);
      const parsed = parseConfigText(text, file);
      if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
      const ours = Object.fromEntries(parsed.config.vrrpInstances.map((v) => [v.name, lvsdInstance(v)]));
      expect(ours).toEqual(keepalivedInstances(await keepalivedDump(vm, file, 'vrrp')));
    });
  }
});
