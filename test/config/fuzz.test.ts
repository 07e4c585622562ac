import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConfigResult, LbAlgo, LbKind } from '../../src/config/index.ts';
import { parse } from './helpers.ts';

const SAMPLES = '/usr/share/doc/keepalived/samples';
const MAIN = '/etc/keepalived/keepalived.conf';

/** Every diagnostic names the main file (no includes here), a real line and a column. */
function assertLocated(result: ConfigResult, text: string): void {
  const lineCount = text.split(/\r?\n/).length;
  const diagnostics = result.ok ? result.warnings : [...result.errors, ...result.warnings];
  if (!result.ok) expect(result.errors.length).toBeGreaterThan(0);
  for (const d of diagnostics) {
    expect(d.at.file).toBe(MAIN);
    expect(d.at.line).toBeGreaterThanOrEqual(1);
    expect(d.at.line).toBeLessThanOrEqual(lineCount);
    expect(d.at.column).toBeGreaterThanOrEqual(1);
    expect(d.message.length).toBeGreaterThan(0);
    expect(d.message).not.toContain('\n');
  }
}

const WORDS = [
  '{', '}', '"', '!', '#', '@main', '@^main', '$X=1', '$X', '${X}', 'include', 'global_defs', 'virtual_server', 'real_server',
  'virtual_server_group', 'vrrp_instance', 'vrrp_script', 'vrrp_sync_group', 'group', 'fwmark', 'HTTP_GET', 'SSL_GET',
  'TCP_CHECK', 'MISC_CHECK', 'SMTP_CHECK', 'UDP_CHECK', 'DNS_CHECK', 'FILE_CHECK', 'PING_CHECK', 'url', 'path', 'digest',
  'status_code', 'host', 'weight', 'lb_algo', 'lb_kind', 'DR', 'NAT', 'TUN', 'rr', 'protocol', 'UDP', 'delay_loop',
  'connect_timeout', 'retry', 'persistence_timeout', 'virtual_router_id', 'priority', 'state', 'MASTER', 'authentication',
  'auth_type', 'AH', 'virtual_ipaddress', 'track_script', 'track_file', 'sorry_server', '10.0.0.1', '10.0.0.1-5', '::1',
  'ae00::2-9', '10.0.0.0/30', '80', '0', '-1', '65536', '1.5', '.', '200-299', 'ffff', 'payload', 'require_reply',
  'misc_path', '/bin/true', 'interval', 'lvs_sync_daemon', 'inst', 'id', 'notify_master', '~SEQ(N,1,2)', 'yes', 'no',
];

const configText = fc
  .array(fc.oneof(fc.constantFrom(...WORDS), fc.constantFrom(' ', ' ', '\n', '\n', '\t', '\\\n'), fc.string({ maxLength: 6 })), { maxLength: 80 })
  .map((parts) => parts.join(' '));

const sampleTexts = existsSync(SAMPLES)
  ? readdirSync(SAMPLES).filter((n) => n.startsWith('keepalived.conf') && !n.endsWith('.gz')).map((n) => readFileSync(join(SAMPLES, n), 'utf8'))
  : ['virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    TCP_CHECK {\n    }\n  }\n}\n'];

/** A sample with a few random edits: deletions, insertions of config words, duplicated spans. */
const mutatedSample = fc
  .tuple(
    fc.constantFrom(...sampleTexts),
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 40 }), fc.constantFrom(...WORDS, '', '\n', '{', '}')), { minLength: 1, maxLength: 6 }),
  )
  .map(([text, edits]) =>
    edits.reduce((t, [at, length, insert]) => {
      const start = at % (t.length + 1);
      return t.slice(0, start) + insert + t.slice(start + length);
    }, text),
  );

// 10,000 runs in all: 5000 + 2500 + 1000 here, 1500 below.
describe('parser robustness (fast-check)', () => {
  it('random token soup never throws and every diagnostic is located', () => {
    fc.assert(fc.property(configText, (text) => assertLocated(parse(text, {}, 'main'), text)), { numRuns: 5000 });
  });

  it('randomly mutated keepalived samples never throw and every diagnostic is located', () => {
    fc.assert(fc.property(mutatedSample, (text) => assertLocated(parse(text), text)), { numRuns: 2500 });
  });

  it('arbitrary unicode never throws', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => assertLocated(parse(text), text)), { numRuns: 1000 });
  });
});

describe('generated valid configurations (fast-check)', () => {
  const ALGOS: readonly LbAlgo[] = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'mh', 'sed', 'nq'];
  const KINDS: readonly LbKind[] = ['NAT', 'DR', 'TUN'];
  const realServer = fc.record({
    octet: fc.integer({ min: 1, max: 254 }),
    weight: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: undefined }),
    connectTimeout: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }),
  });
  const virtualServer = fc.record({
    port: fc.integer({ min: 1, max: 65535 }),
    algo: fc.option(fc.constantFrom(...ALGOS), { nil: undefined }),
    kind: fc.option(fc.constantFrom(...KINDS), { nil: undefined }),
    protocol: fc.option(fc.constantFrom('TCP', 'UDP', 'SCTP'), { nil: undefined }),
    delayLoop: fc.option(fc.integer({ min: 1, max: 10_000 }).map((n) => n / 100), { nil: undefined }),
    servers: fc.uniqueArray(realServer, { selector: (r) => r.octet, minLength: 1, maxLength: 6 }),
  });

  it('every setting written is the setting read back, and every omission gets keepalived\'s default', () => {
    fc.assert(
      fc.property(virtualServer, (vs) => {
        const text = [
          `virtual_server 10.0.0.1 ${vs.port} {`,
          vs.algo && `  lb_algo ${vs.algo}`,
          vs.kind && `  lb_kind ${vs.kind}`,
          vs.protocol && `  protocol ${vs.protocol}`,
          vs.delayLoop !== undefined && `  delay_loop ${vs.delayLoop}`,
          ...vs.servers.flatMap((rs) => [
            `  real_server 192.168.0.${rs.octet} ${vs.port} {`,
            rs.weight !== undefined && `    weight ${rs.weight}`,
            '    TCP_CHECK {',
            rs.connectTimeout !== undefined && `      connect_timeout ${rs.connectTimeout}`,
            '    }',
            '  }',
          ]),
          '}',
        ].filter((l): l is string => typeof l === 'string').join('\n');
        const result = parse(text);
        if (!result.ok) throw new Error(`rejected:\n${text}`);
        const parsed = result.config.virtualServers[0]!;
        expect(parsed.lbAlgo).toBe(vs.algo ?? 'wlc');
        expect(parsed.lbKind).toBe(vs.kind ?? 'NAT');
        expect(parsed.protocol).toBe(vs.protocol ?? 'UDP');
        expect(parsed.delayLoopMs).toBe(Math.round((vs.delayLoop ?? 60) * 1000));
        expect(parsed.realServers.map((r) => [r.address, r.weight, r.checkers[0]!.kind === 'TCP_CHECK' && r.checkers[0]!.connection])).toEqual(
          vs.servers.map((rs) => [
            `192.168.0.${rs.octet}`,
            rs.weight ?? 1,
            expect.objectContaining({ connectIp: `192.168.0.${rs.octet}`, connectPort: vs.port, connectTimeoutMs: (rs.connectTimeout ?? 5) * 1000 }),
          ]),
        );
      }),
      { numRuns: 1500 },
    );
  });
});
