// script_user, per-script users, keepalived_script and enable_script_security on this host, through
// the code paths the daemon runs: each script writes the Uid/Gid lines of its own /proc status, and
// an insecure script is refused with the words keepalived 2.2.7 itself prints for the same file.
// Needs root (chown, useradd); keepalived_script is created and deleted here when absent.
import { execFileSync, execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import type { KeepalivedConfig } from '../../src/config/model.ts';
import { systemScriptHost } from '../../src/daemon/script-host.ts';
import { applyScriptSecurity } from '../../src/daemon/script-security.ts';
import { notifyScriptRunner } from '../../src/daemon/scripts.ts';
import { checkSpecsFromConfig } from '../../src/healthcheck/from-config.ts';
import { miscProbe } from '../../src/healthcheck/probes/misc.ts';
import { runCommand, splitCommandLine } from '../../src/util/command.ts';
import { vrrpSpecsFromConfig } from '../../src/vrrp/from-config.ts';

const isRoot = process.getuid?.() === 0;
const KEEPALIVED = '/usr/sbin/keepalived';
const NOBODY = 65534;
// /tmp is root's and sticky, so keepalived's path check passes it; the scratch directory is opened to all.
const dir = mkdtempSync('/tmp/lvsd-script-security-');
const out = join(dir, 'out');
const ID_SCRIPT = join(dir, 'id.sh');
const INSECURE_DIR = join(dir, 'group-writable');
const INSECURE_SCRIPT = join(INSECURE_DIR, 'check.sh');
let createdDefaultUser = false;

beforeAll(() => {
  if (!isRoot) return;
  chmodSync(dir, 0o755);
  mkdirSync(out, { mode: 0o777 });
  chmodSync(out, 0o777);
  writeFileSync(ID_SCRIPT, '#!/bin/sh\ngrep -E "^(Uid|Gid|Groups):" /proc/self/status > "$1"\n', { mode: 0o755 });
  mkdirSync(INSECURE_DIR);
  chownSync(INSECURE_DIR, 0, NOBODY);
  chmodSync(INSECURE_DIR, 0o775);
  writeFileSync(INSECURE_SCRIPT, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
});

afterAll(() => {
  if (createdDefaultUser) execFileSync('userdel', ['keepalived_script'], { timeout: 10_000 });
  rmSync(dir, { recursive: true, force: true });
});

const HEAD = 'virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n';

function secured(text: string): { config: KeepalivedConfig; notices: string[] } {
  const parsed = parseConfigText(text, join(dir, 'keepalived.conf'), () => '', () => [], { hostname: 'd1' });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
  const policy = applyScriptSecurity(parsed.config, systemScriptHost());
  return { config: policy.config, notices: policy.notices.map((n) => `${n.at.file}:${n.at.line}: ${n.message}`) };
}

/** "Uid: r e s f" and "Gid: …" as the script saw them, and its supplementary groups. */
async function credentialsWritten(file: string): Promise<{ uid: string; gid: string; groups: string }> {
  for (let waited = 0; waited < 5000 && !existsSync(file); waited += 20) await new Promise((r) => setTimeout(r, 20));
  const status = readFileSync(file, 'utf8');
  const field = (name: string) => (status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1] ?? '').trim().split(/\s+/).join(' ');
  return { uid: field('Uid'), gid: field('Gid'), groups: field('Groups') };
}

const all = (id: number) => `${id} ${id} ${id} ${id}`;

async function miscRunsAs(globals: string, user: string, name: string) {
  const { config } = secured(`global_defs {\n${globals}\n}\n${HEAD}  real_server 10.1.0.1 80 {\n    MISC_CHECK {\n      misc_path "${ID_SCRIPT} ${join(out, name)}"\n${user}\n    }\n  }\n}\n`);
  const [spec] = checkSpecsFromConfig(config, { virtualServer: () => 'vs', realServer: () => 'rs' }).specs;
  const probe = spec!.checkers[0]!.probe;
  if (probe.kind !== 'MISC_CHECK') throw new Error('no MISC_CHECK');
  expect((await miscProbe(probe.options)).ok).toBe(true);
  return credentialsWritten(join(out, name));
}

describe.skipIf(!isRoot)('scripts run as their user, shown by /proc/self/status', () => {
  it('MISC_CHECK under script_user nobody nogroup, through the checker probe', async () => {
    // Node clears the supplementary groups (libuv's setgroups(0)); keepalived sets them to the gid alone.
    expect(await miscRunsAs('  script_user nobody nogroup', '', 'misc')).toEqual({ uid: all(NOBODY), gid: all(NOBODY), groups: '' });
  });

  it('MISC_CHECK with its own user root over script_user', async () => {
    expect(await miscRunsAs('  script_user nobody nogroup', '      user root', 'misc-root')).toMatchObject({ uid: all(0), gid: all(0) });
  });

  it('vrrp_script through the VRRP spec and runner command', async () => {
    const { config } = secured(
      `global_defs {\n  script_user nobody nogroup\n}\nvrrp_script chk {\n  script "${ID_SCRIPT} ${join(out, 'vrrp')}"\n}\n` +
        'vrrp_instance VI {\n  interface lo\n  virtual_router_id 5\n  priority 100\n  virtual_ipaddress {\n    10.9.9.9/32\n  }\n  track_script {\n    chk\n  }\n}\n',
    );
    const script = vrrpSpecsFromConfig(config).instances[0]!.trackScripts[0]!.script;
    expect(await runCommand(splitCommandLine(script.command), { timeoutMs: 5000, user: script.user })).toEqual({ succeeded: true });
    expect(await credentialsWritten(join(out, 'vrrp'))).toMatchObject({ uid: all(NOBODY), gid: all(NOBODY) });
  });

  it('notify_up through the daemon’s script runner, as keepalived_script by default', async () => {
    if (!execFileSync('getent', ['passwd'], { encoding: 'utf8', timeout: 10_000 }).match(/^keepalived_script:/m)) {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'keepalived_script'], { timeout: 10_000 });
      createdDefaultUser = true;
    }
    const { config } = secured(`global_defs {\n  enable_script_security\n}\n${HEAD}  real_server 10.1.0.1 80 {\n    notify_up "${ID_SCRIPT} ${join(out, 'notify')}"\n  }\n}\n`);
    const notifyUp = config.virtualServers[0]!.realServers[0]!.notifyUp!;
    const failures: string[] = [];
    notifyScriptRunner((_, __, why) => failures.push(why))(notifyUp, 'notify_up');
    const id = execFileSync('id', ['-u', 'keepalived_script'], { encoding: 'utf8', timeout: 10_000 }).trim();
    const gid = execFileSync('id', ['-g', 'keepalived_script'], { encoding: 'utf8', timeout: 10_000 }).trim();
    expect(await credentialsWritten(join(out, 'notify'))).toMatchObject({ uid: all(Number(id)), gid: all(Number(gid)) });
    expect(failures).toEqual([]);
  });
});

/** keepalived 2.2.7 run briefly in a network namespace of its own: its checker process logs the script checks at start. */
function keepalivedSays(file: string): Promise<string[]> {
  const args = ['-n', KEEPALIVED, '-n', '-l', '-D', '-C', '-f', file, '-p', join(dir, 'k.pid'), '-c', join(dir, 'c.pid'), '-r', join(dir, 'v.pid')];
  return new Promise((resolve) => {
    execFile('unshare', args, { timeout: 8000, killSignal: 'SIGINT' }, (_error, stdout, stderr) => {
      resolve(`${stdout}${stderr}`.split('\n').map((line) => line.replace(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: /, '')));
    });
  });
}

describe.skipIf(!isRoot)('an insecure script', () => {
  const conf = (security: boolean) =>
    `global_defs {\n${security ? '  enable_script_security\n' : ''}  script_user nobody nogroup\n}\n${HEAD}` +
    `  real_server 10.1.0.1 80 {\n    MISC_CHECK {\n      misc_path ${INSECURE_SCRIPT}\n      user root\n    }\n  }\n` +
    `  real_server 10.1.0.2 80 {\n    MISC_CHECK {\n      misc_path ${INSECURE_SCRIPT}\n    }\n  }\n}\n`;

  it.each([true, false])('run as root is refused under enable_script_security (%s), with keepalived’s words at its line', async (security) => {
    const file = join(dir, `insecure-${String(security)}.conf`);
    writeFileSync(file, conf(security));
    const { config, notices } = secured(conf(security));
    const kept = config.virtualServers[0]!.realServers.map((rs) => rs.checkers.length);
    // The root one goes (under security); the one run as nobody is not guarded, in lvsd as in keepalived.
    expect(kept).toEqual(security ? [0, 1] : [1, 1]);
    const keepalived = (await keepalivedSays(file)).filter((line) => /^(Unsafe|Disabling|SECURITY|Script (user|group)|Unable|Failed|WARNING|Cannot|Wrong|check_script_secure)/.test(line));
    const confPath = join(dir, 'keepalived.conf');
    const ours = notices.map((line) => line.slice(`${confPath}:`.length).replace(/^\d+: /, ''));
    console.log(`keepalived 2.2.7:\n  ${keepalived.join('\n  ')}\nlvsd:\n  ${notices.join('\n  ')}`);
    expect(ours).toEqual(keepalived);
    const miscLine = conf(security).split('\n').findIndex((line) => line.includes('MISC_CHECK')) + 1;
    expect(notices[0]).toMatch(new RegExp(`^${confPath}:${miscLine}: Unsafe permissions found for script '${INSECURE_SCRIPT}'${security ? ' - disabling' : ''}\\.$`));
  });
});
