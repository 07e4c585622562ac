import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCommand } from '../../src/cli/check.ts';

const SAMPLES = '/usr/share/doc/keepalived/samples';

async function check(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const code = await checkCommand(argv, out, err);
  return { code, out: Buffer.concat(chunks.out).toString(), err: Buffer.concat(chunks.err).toString() };
}

const scratch = mkdtempSync(join(tmpdir(), 'lvsd-config-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Debian ships some samples gzipped; those are unpacked into the scratch directory. */
function sampleFiles(): string[] {
  return readdirSync(SAMPLES)
    .filter((name) => name.startsWith('keepalived.conf'))
    .map((name) => {
      const path = join(SAMPLES, name);
      if (!name.endsWith('.gz')) return path;
      const unpacked = join(scratch, name.slice(0, -3));
      writeFileSync(unpacked, gunzipSync(readFileSync(path)));
      return unpacked;
    });
}

describe.skipIf(!existsSync(SAMPLES))(`every keepalived sample in ${SAMPLES}`, () => {
  const samples = existsSync(SAMPLES) ? sampleFiles() : [];
  it('there are samples to check', () => expect(samples.length).toBeGreaterThan(20));
  it.each(samples)('lvsctl check -f %s exits 0', async (file) => {
    const { code, out, err } = await check(['-f', file]);
    expect(err).not.toContain(': error: ');
    expect(code).toBe(0);
    expect(out).toContain('configuration OK');
  });
});
if (!existsSync(SAMPLES)) {
  it.skip(`keepalived samples: ${SAMPLES} is absent (apt-get install keepalived)`, () => undefined);
}

describe('lvsctl check', () => {
  it('prints errors as file:line:col and exits 1 when the configuration cannot be used', async () => {
    const file = join(scratch, 'bad.conf');
    writeFileSync(file, 'virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind MAGIC\n  real_server 10.0.0.2 80 {\n  }\n}\n');
    const { code, out, err } = await check(['-f', file]);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(
      `${file}:1:1: warning: virtual_server 10.0.0.1 80: no forwarding method set, setting default NAT\n` +
        `${file}:4:11: error: 'lb_kind' expects one of NAT|DR|TUN, got 'MAGIC'\n` +
        `${file}: configuration rejected: 1 error(s), 1 warning(s)\n`,
    );
  });

  it('--json prints the resolved model with defaults filled in', async () => {
    const file = join(scratch, 'good.conf');
    writeFileSync(file, 'virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    TCP_CHECK {\n    }\n  }\n}\n');
    const { code, out } = await check(['-f', file, '--json']);
    expect(code).toBe(0);
    const model = JSON.parse(out);
    expect(model.virtualServers[0]).toMatchObject({ lbAlgo: 'wlc', lbKind: 'NAT', protocol: 'UDP', delayLoopMs: 60000 });
    expect(model.virtualServers[0].realServers[0].checkers[0]).toMatchObject({
      kind: 'TCP_CHECK',
      connection: { connectIp: '10.0.0.2', connectPort: 80, connectTimeoutMs: 5000 },
    });
  });

  it('exits 0 with warnings printed when keepalived would carry on', async () => {
    const file = join(scratch, 'warn.conf');
    writeFileSync(file, 'global_defs {\n  lvs_id old\n}\n');
    const { code, out, err } = await check(['-f', file]);
    expect(code).toBe(0);
    expect(err).toBe(`${file}:2:3: warning: 'lvs_id' is deprecated, use 'router_id'\n`);
    expect(out).toContain('configuration OK: 0 virtual server(s), 0 real server(s), 0 vrrp instance(s), 1 warning(s)');
  });

  it("names, with file:line, the checker and VRRP settings the daemon would not honour, before the daemon runs", async () => {
    const file = join(scratch, 'unhonoured.conf');
    writeFileSync(
      file,
      [
        'vrrp_instance VI_1 {',
        '  interface lo',
        '  virtual_router_id 51',
        '  priority 100',
        '  authentication {',
        '    auth_type AH',
        '    auth_pass secret',
        '  }',
        '  use_vmac',
        '  unicast_ttl 5',
        '  virtual_ipaddress {',
        '    192.0.2.10/32',
        '  }',
        '}',
        'virtual_server 192.0.2.10 80 {',
        '  protocol TCP',
        '  lb_algo rr',
        '  lb_kind NAT',
        '  real_server 10.0.0.2 80 {',
        '    TCP_CHECK {',
        '      bind_if eth9',
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const { code, out, err } = await check(['-f', file]);
    expect(code).toBe(0);
    expect(err.split('\n').filter((line) => line !== '')).toEqual([
      `${file}:10:3: warning: (VI_1): Cannot use unicast_ttl without unicast peers - ignoring it: multicast adverts keep TTL 255 (keepalived 2.2.7 sets 0, and then sends no advert off the host)`,
      `${file}:20: warning: TCP 192.0.2.10:80 real_server 10.0.0.2:80 TCP_CHECK#0: bind_if eth9 is not supported`,
    ]);
    expect(out).toContain('1 vrrp instance(s), 2 warning(s)');
  });

  it('-i selects the @config-id lines, as keepalived -i does', async () => {
    const file = join(scratch, 'ids.conf');
    writeFileSync(file, 'global_defs {\n@lb1 router_id first\n@lb2 router_id second\n}\n');
    const { code, out } = await check(['-f', file, '-i', 'lb2', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out).globalDefs.routerId).toBe('second');
  });

  it('exits 1 for a missing file', async () => {
    const { code, err } = await check(['-f', join(scratch, 'nope.conf')]);
    expect(code).toBe(1);
    expect(err).toContain('cannot read configuration file: ENOENT');
  });
});
