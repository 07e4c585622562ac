// Runs the real keepalived 2.2.7 (`keepalived -t`) on the same LVS configs
// as our parser. keepalived -t exits non-zero for anything it reports, even
// what it then carries on with, so the comparison is:
//   keepalived silent  => we accept without a warning;
//   keepalived reports => we warn or refuse (never a silent accept);
//   we refuse          => keepalived reports too.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, parseConfigFile } from '../../src/config/index.ts';

const KEEPALIVED = '/usr/sbin/keepalived';
const dir = mkdtempSync(join(tmpdir(), 'lvsd-config-parity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keepalivedTest(file: string): Promise<{ code: number; output: string }> {
  // -C: checker (LVS) side only, so VRRP interface checks of this host play no part;
  // pid files go to the scratch directory.
  const args = ['-t', '-C', '-n', '-l', '-f', file, '-p', join(dir, 'k.pid'), '-c', join(dir, 'c.pid'), '-r', join(dir, 'v.pid')];
  return new Promise((resolve) => {
    execFile(KEEPALIVED, args, { timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });
}

const HEAD = 'protocol TCP\n  lb_algo rr\n  lb_kind NAT';
const vs = (body: string, head = '10.0.0.1 80') => `virtual_server ${head} {\n  ${body}\n}\n`;
const rs = (body = '', target = '10.0.1.1 80') => `real_server ${target} {\n    ${body}\n  }`;

const CASES: Record<string, string> = {
  'complete NAT service': vs(`${HEAD}\n  ${rs('weight 2\n    TCP_CHECK {\n      connect_timeout 3\n    }')}`),
  'HTTP_GET with digest and status codes': vs(
    `${HEAD}\n  ${rs('HTTP_GET {\n      url {\n        path /\n        digest ff20ad2481f97b1754ef3e12ecd3a9cc\n        status_code 200-299 301\n      }\n    }')}`,
  ),
  'fwmark service': vs(`lb_algo rr\n  lb_kind DR\n  ${rs('', '10.0.1.1')}`, 'fwmark 5'),
  'group service': `virtual_server_group G {\n  10.0.0.1-4 80\n}\n${vs(`${HEAD}\n  ${rs()}`, 'group G')}`,
  'no protocol': vs(`lb_algo rr\n  lb_kind NAT\n  ${rs()}`),
  'no scheduler': vs(`protocol TCP\n  lb_kind NAT\n  ${rs()}`),
  'no forwarding method': vs(`protocol TCP\n  lb_algo rr\n  ${rs()}`),
  'no real servers': vs(HEAD),
  'duplicate real server': vs(`${HEAD}\n  ${rs()}\n  ${rs()}`),
  'DR port mismatch': vs(`protocol TCP\n  lb_algo rr\n  lb_kind DR\n  ${rs('', '10.0.1.1 8080')}`),
  'unknown keyword': vs(`${HEAD}\n  frobnicate 3\n  ${rs()}`),
  'unknown scheduler': vs(`protocol TCP\n  lb_algo fastest\n  lb_kind NAT\n  ${rs()}`),
  'bad weight': vs(`${HEAD}\n  ${rs('weight lots')}`),
  'bad real server address': vs(`${HEAD}\n  ${rs('', '10.0.1 80')}`),
  'fwmark with protocol': vs(`${HEAD}\n  ${rs('', '10.0.1.1')}`, 'fwmark 5'),
  'global_defs only': 'global_defs {\n  router_id r1\n  lvs_flush\n}\n',
  'unknown global keyword': 'global_defs {\n  router_idd r1\n}\n',
};

/** Where lvsd says more than keepalived on purpose: keepalived accepts these silently. */
const LOUDER: Record<string, { text: string; warning: string }> = {
  'undefined group (keepalived silently programs nothing)': {
    text: vs(`${HEAD}\n  ${rs()}`, 'group NOPE'),
    warning: "virtual_server_group 'NOPE' is not defined - virtual server ignored",
  },
};

describe.skipIf(!existsSync(KEEPALIVED))('where lvsd deliberately warns and keepalived -t is silent', () => {
  it.each(Object.entries(LOUDER))('%s', async (name, { text, warning }) => {
    const file = join(dir, `louder-${name.replace(/\W+/g, '-')}.conf`);
    writeFileSync(file, text);
    expect((await keepalivedTest(file)).code).toBe(0);
    const ours = parseConfigFile(file, { hostname: 'parity' });
    expect(ours.ok).toBe(true);
    expect(ours.warnings.map((w) => w.message)).toEqual([warning]);
  });
});

describe.skipIf(!existsSync(KEEPALIVED))('verdicts agree with keepalived -t (2.2.7)', () => {
  it.each(Object.entries(CASES))('%s', async (name, text) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.conf`);
    writeFileSync(file, text);
    const ours = parseConfigFile(file, { hostname: 'parity' });
    const theirs = await keepalivedTest(file);
    const ourReport = ours.ok ? ours.warnings.map(formatDiagnostic) : ours.errors.map(formatDiagnostic);
    const context = `keepalived (${theirs.code}): ${theirs.output}\nlvsd: ${ourReport.join('\n')}`;
    if (theirs.code === 0) expect(ours.ok && ours.warnings.length === 0, context).toBe(true);
    else expect(!ours.ok || ours.warnings.length > 0, context).toBe(true);
    if (!ours.ok) expect(theirs.code, context).not.toBe(0);
  });
});
