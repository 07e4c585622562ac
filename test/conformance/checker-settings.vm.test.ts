import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText, type Checker, type KeepalivedConfig } from '../../src/config/index.ts';
import { withScriptSecurity } from '../../src/daemon/scripts.ts';
import { sharedVm } from '../kernel/vm.ts';
import { CASES, sampleCases } from './cases.ts';
import { generatedCheckerCases } from './generated-checkers.ts';
import { dumpSection, keepalivedDump } from './keepalived-dump.ts';

// The IPVS snapshots of conformance.vm.test.ts show what the checkers decided, not the retry,
// delay_before_retry or timeout they ran with. keepalived -d dumps each checker as it resolved
// it (inheritance, per-checker defaults, SMTP host blocks); lvsd must resolve every
// configuration of the suite and every Debian sample to the same checkers.

/** One resolved checker: what a real server is probed with, how often, and what passes. */
type Probe = string;

interface Timing {
  readonly delayLoopMs: number;
  readonly warmupMs: number;
  readonly retry: number;
  readonly delayBeforeRetryMs: number;
  readonly alpha: boolean;
}

function probe(realServer: string, kind: string, timing: Timing, dest: string | undefined, details: readonly string[], timeoutMs?: number): Probe {
  return [realServer, kind, `delay_loop ${timing.delayLoopMs}`, `warmup ${timing.warmupMs}`, `retry ${timing.retry}`,
    // With no retry the delay before one is never used (keepalived shows 0 for MISC_CHECK then).
    `delay_before_retry ${timing.retry === 0 ? '-' : timing.delayBeforeRetryMs}`, `alpha ${timing.alpha}`, dest ?? '-', ...details, `timeout ${timeoutMs ?? '-'}`].join(' ');
}

/** The value of the first `name = value` line of a checker's dump. */
function dumpValue(lines: readonly string[], name: string): string | undefined {
  return lines.find((line) => line.trim().startsWith(`${name} = `))?.split(' = ')[1]?.trim();
}

/** The checker's own settings in keepalived's dump, in the words lvsdDetails uses. */
function keepalivedDetails(kind: string, method: string, lines: readonly string[], timing: Timing): string[] {
  const value = (name: string) => dumpValue(lines, name);
  switch (kind) {
    case 'HTTP_GET':
    case 'SSL_GET': {
      const details = [`protocol ${/http protocol (\S+)/.exec(method)?.[1]}`];
      // Status codes follow their heading one a line, as ranges.
      let codes: string[] | undefined;
      for (const line of [...lines, '']) {
        if (codes && /^\s+\d+(-\d+)?$/.test(line)) {
          codes.push(line.trim());
          continue;
        }
        if (codes) details.push(`status ${codes.sort().join(',')}`);
        codes = undefined;
        const url = /^\s+Checked url = (.*)$/.exec(line);
        if (url) details.push(`url ${url[1]}`);
        else if (/^\s+digest = /.test(line)) details.push(`digest ${line.split(' = ')[1]}`);
        else if (/HTTP Status Code\(s\)/.test(line)) codes = [];
      }
      return details;
    }
    case 'SMTP_CHECK':
      return [`helo ${value('helo')}`];
    case 'DNS_CHECK':
      // keepalived's default name is "", the root, which its dump shows as nothing after 'Name ='.
      return [`type ${value('Type')}`, `name ${value('Name') ?? '.'}`];
    case 'UDP_CHECK': {
      const requireReply = value('Require reply') === 'yes';
      return [`payload ${value('Payload len') ?? 0}`, `require_reply ${requireReply}`,
        ...(requireReply ? [`reply ${value('Reply data len') ?? 0} in ${value('Min reply length')}..${value('Max reply length')}`] : [])];
    }
    case 'MISC_CHECK':
      // 0: no misc_timeout, which keepalived takes as the delay_loop when it runs the script.
      return [`misc_timeout ${Number(value('timeout')) || timing.delayLoopMs / 1000}`, `dynamic ${value('dynamic') === 'YES'}`];
    default:
      return [];
  }
}

function lvsdDetails(c: Checker): string[] {
  switch (c.kind) {
    case 'HTTP_GET':
    case 'SSL_GET':
      return [`protocol ${c.httpProtocol}`, ...c.urls.flatMap((url) => [
        `url ${url.path}`,
        ...(url.digest ? [`digest ${url.digest}`] : []),
        `status ${url.statusCodes.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).sort().join(',')}`,
      ])];
    case 'SMTP_CHECK':
      return [`helo ${c.heloName}`];
    case 'DNS_CHECK':
      return [`type ${c.type}`, `name ${c.name}`];
    case 'UDP_CHECK':
      return [`payload ${(c.payload?.length ?? 0) / 2}`, `require_reply ${c.requireReply}`,
        ...(c.requireReply ? [`reply ${(c.requireReplyPattern?.length ?? 0) / 2} in ${c.minReplyLength}..${c.maxReplyLength}`] : [])];
    case 'MISC_CHECK':
      return [`misc_timeout ${c.timeoutMs / 1000}`, `dynamic ${c.dynamic}`];
    default:
      return [];
  }
}

/** keepalived's "------< Health checkers >------" section of `keepalived -d`. */
function keepalivedProbes(lines: readonly string[]): Probe[] {
  if (!dumpSection(lines, 'LVS Topology')) throw new Error(`keepalived dumped no configuration:\n${lines.slice(-40).join('\n')}`);
  // Without a checker keepalived leaves the section out.
  const section = dumpSection(lines, 'Health checkers') ?? [];
  const checkers: { rs: string; lines: string[] }[] = [];
  for (const line of section) {
    const header = /^ \S.* -> \[(.*)\]:\w+:(\d+)$/.exec(line);
    if (header) checkers.push({ rs: `${header[1]}:${header[2]}`, lines: [] });
    else if (/^\S/.test(line)) break;
    else checkers.at(-1)?.lines.push(line);
  }
  return checkers
    .map(({ rs, lines: own }) => {
      const value = (name: string) => dumpValue(own, name);
      const ms = (name: string) => Math.round(Number(value(name)?.split(' ')[0]) / 1000);
      const method = value('Keepalive method') ?? '';
      const kind = method.split(',')[0]!;
      const timeout = value('Timeout');
      const timing = { delayLoopMs: ms('Delay loop'), warmupMs: ms('Warmup'), retry: Number(value('Retries')), delayBeforeRetryMs: ms('Delay before retry'), alpha: value('Alpha') === 'yes' };
      const details = keepalivedDetails(kind, method, own.slice(own.findIndex((line) => line.includes('Keepalive method'))), timing);
      return { kind, probe: probe(rs, kind, timing, value('Dest'), details, timeout === undefined ? undefined : Math.round(Number(timeout) * 1000)) };
    })
    // FILE_CHECK is not a probe: keepalived dumps no timing for it.
    .filter(({ kind }) => kind !== 'FILE_CHECK')
    .map(({ probe }) => probe)
    .sort();
}

/**
 * keepalived 2.2.7 gives an SMTP_CHECK host block without connect_timeout a 0 s timeout (so its
 * check always fails); lvsd inherits the checker's on purpose (README, "Where lvsd differs"). Such
 * a probe of lvsd's matches keepalived's with timeout 0.
 */
function acceptingZeroSmtpTimeouts(ours: Probe[], theirs: readonly Probe[]): Probe[] {
  const withoutTimeout = (p: Probe) => p.replace(/ timeout \S+$/, '');
  const zeroes = theirs.filter((p) => p.includes(' SMTP_CHECK ') && p.endsWith(' timeout 0')).map(withoutTimeout);
  return ours
    .map((p) => {
      const at = zeroes.indexOf(withoutTimeout(p));
      if (at < 0 || !p.includes(' SMTP_CHECK ')) return p;
      zeroes.splice(at, 1);
      return `${withoutTimeout(p)} timeout 0`;
    })
    .sort();
}

function lvsdProbes(config: KeepalivedConfig): Probe[] {
  const effective = withScriptSecurity(config, () => {});
  const of = (rs: string, c: Checker): Probe | undefined => {
    if (c.kind === 'FILE_CHECK') return undefined;
    const connection = 'connection' in c ? c.connection : undefined;
    const dest = connection && `[${connection.connectIp}]:${connection.connectPort}`;
    return probe(rs, c.kind, c.timing, dest, lvsdDetails(c), connection?.connectTimeoutMs);
  };
  return effective.virtualServers
    .flatMap((vs) => vs.realServers.flatMap((rs) => rs.checkers.map((c) => of(`${rs.address}:${rs.port}`, c))))
    .filter((p): p is Probe => p !== undefined)
    .sort();
}

/**
 * Generated checker cases (generated-checkers.ts): where the IPVS snapshots cannot show how a
 * setting resolved (a retry inside an SMTP_CHECK host block, a timeout), keepalived's dump can.
 */
const GENERATED_CHECKERS = 6;

/**
 * The configurations of the conformance cases and their reloads. A reload that a case expects to
 * leave the table as it was (`deliberate.sameAs`) is a file lvsd rejects on purpose, so there is
 * nothing to compare in it.
 */
const configs = [...CASES, ...sampleCases(), ...generatedCheckerCases(GENERATED_CHECKERS)].flatMap((testCase) => [
  { name: testCase.name, text: testCase.config, rejected: false },
  ...testCase.steps.flatMap((step, index) =>
    'reload' in step ? [{ name: `${testCase.name}, reload at step ${index + 1}`, text: step.reload, rejected: testCase.deliberate?.sameAs !== undefined }] : []),
]);

/** Settings every level (virtual server, real server, checker) may carry, and values to try. */
const INHERITED_SETTINGS = {
  delay_loop: ['1', '2', '7.5'],
  connect_timeout: ['1', '2.5', '4'],
  retry: ['1', '2', '3'],
  delay_before_retry: ['0', '1', '2.5'],
  warmup: ['0', '1', '3'],
  alpha: [''],
} as const;

const settingLines = (indent: string) =>
  fc.subarray(Object.keys(INHERITED_SETTINGS) as (keyof typeof INHERITED_SETTINGS)[]).chain((keys) =>
    fc.tuple(...keys.map((key) => fc.constantFrom(...INHERITED_SETTINGS[key]).map((value) => `${indent}${key} ${value}`.trimEnd() + '\n'))).map((lines) => lines.join('')),
  );

const checkerBlock = fc.tuple(
  fc.constantFrom(
    'TCP_CHECK', 'PING_CHECK', 'HTTP_GET {\n      url {\n        path /\n      }', 'SSL_GET {\n      url {\n        path /x\n        status_code 200 301-302\n      }',
    'DNS_CHECK {\n      name example.org', 'SMTP_CHECK', 'MISC_CHECK {\n      misc_path /bin/true',
  ),
  fc.option(fc.constant('      retry 0\n')),
  settingLines('      '),
).map(([head, retryZero, lines]) => `    ${head}${head.includes('{') ? '\n' : ' {\n'}${retryZero ?? ''}${lines}    }\n`);

/**
 * Virtual servers with settings at random levels: what a checker inherits, and the defaults of
 * each checker kind, are where a resolver goes wrong. Fixed seeds keep CI's corpus the same.
 */
const generatedConfigs = [1, 2, 3].map((seed) => {
  const realServer = fc.tuple(settingLines('    '), fc.array(checkerBlock, { minLength: 1, maxLength: 2 }));
  const virtualServer = fc.tuple(settingLines('  '), fc.array(realServer, { minLength: 1, maxLength: 3 }));
  const [servers] = fc.sample(fc.array(virtualServer, { minLength: 12, maxLength: 12 }), { seed, numRuns: 1 });
  const text = servers!
    .map(([vsLines, realServers], v) =>
      `virtual_server 10.0.${v}.1 80 {\n  protocol TCP\n${vsLines}` +
      realServers.map(([rsLines, checkers], r) => `  real_server 10.1.${v}.${r + 1} 80 {\n${rsLines}${checkers.join('')}  }\n`).join('') +
      '}\n')
    .join('');
  return { name: `generated: 12 virtual servers, settings at random levels (seed ${seed})`, text, rejected: false };
});

// One keepalived at a time: starting several at once starves the conformance cases that share
// the emulated CPU (one needed its retry when these ran concurrently).
describe('checkers resolve as keepalived -d shows them', () => {
  for (const { name, text, rejected } of [...configs, ...generatedConfigs]) {
    it(rejected ? `${name} is rejected by lvsd` : name, async () => {
      const vm = await sharedVm();
      const dir = vm.scratchDir();
      const file = join(dir, 'keepalived.conf');
      const config = text.replaceAll('@WORK@', dir);
      writeFileSync(file, config);
      const parsed = parseConfigText(config, file);
      expect(parsed.ok, parsed.ok ? '' : parsed.errors.map((e) => e.message).join('\n')).toBe(!rejected);
      if (!parsed.ok) return;
      const theirs = keepalivedProbes(await keepalivedDump(vm, file, 'checkers'));
      expect(acceptingZeroSmtpTimeouts(lvsdProbes(parsed.config), theirs)).toEqual(theirs);
    });
  }
});
