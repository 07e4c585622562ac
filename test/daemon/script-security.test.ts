// keepalived 2.2.7's script user and script security rules, on a made-up host (no processes run
// here; test/daemon/script-security-host.test.ts runs real ones).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import type { KeepalivedConfig } from '../../src/config/model.ts';
import { parseAccounts } from '../../src/util/accounts.ts';
import { inspectScript, pathPrefixes, type PathFacts } from '../../src/daemon/script-inspection.ts';
import { applyScriptSecurity, type ScriptHost } from '../../src/daemon/script-security.ts';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\n+nis\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nkeepalived_script:x:990:990::/:/usr/sbin/nologin\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\nkeepalived_script:x:990:\n';
const WITHOUT_DEFAULT_USER = PASSWD.replace(/^keepalived_script.*\n/m, '');

const dir = (mode = 0o755, uid = 0, gid = 0): PathFacts => ({ type: 'directory', uid, gid, mode });
const file = (mode = 0o755, uid = 0, gid = 0): PathFacts => ({ type: 'file', uid, gid, mode });

function host(files: Record<string, PathFacts>, passwd = PASSWD): ScriptHost {
  const all: Record<string, PathFacts> = { '/': dir(), '/etc': dir(), '/etc/keepalived': dir(), ...files };
  return {
    accounts: parseAccounts(passwd, GROUP),
    self: { uid: 0, gid: 0 },
    searchPath: ['/usr/bin'],
    lstat: (path) => all[path],
    stat: (path) => all[path],
    realpath: (path) => (all[path] ? { path } : { error: 'No such file or directory' }),
  };
}

const SAFE = { '/etc/keepalived/ok.sh': file() };
const WORLD_WRITABLE = { '/etc/keepalived/bad.sh': file(0o757) };

function parse(text: string): KeepalivedConfig {
  const result = parseConfigText(text, '/k.conf', () => '', () => [], { hostname: 'd1' });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.config;
}

function misc(globals: string, checks: string[]): KeepalivedConfig {
  const realServers = checks.map((body, index) => `  real_server 10.1.0.${index + 1} 80 {\n    MISC_CHECK {\n${body}\n    }\n  }`).join('\n');
  return parse(`global_defs {\n${globals}\n}\nvirtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n${realServers}\n}\n`);
}

const checkersOf = (config: KeepalivedConfig) => config.virtualServers[0]!.realServers.map((rs) => rs.checkers[0]);
const runAsOf = (config: KeepalivedConfig) => checkersOf(config).map((checker) => (checker?.kind === 'MISC_CHECK' ? checker.script.runAs : 'removed'));
const lines = (notices: readonly { at: { line: number }; message: string }[]) => notices.map((n) => `${n.at.line}: ${n.message}`);

describe('which user a script runs as', () => {
  it('takes its own user, else script_user, else keepalived_script', () => {
    const config = misc('  script_user nobody', ['misc_path /etc/keepalived/ok.sh\nuser root', 'misc_path /etc/keepalived/ok.sh']);
    expect(runAsOf(applyScriptSecurity(config, host(SAFE)).config)).toEqual([{ uid: 0, gid: 0 }, { uid: 65534, gid: 65534 }]);
    const byDefault = misc('  enable_script_security', ['misc_path /etc/keepalived/ok.sh']);
    expect(runAsOf(applyScriptSecurity(byDefault, host(SAFE)).config)).toEqual([{ uid: 990, gid: 990 }]);
  });

  it('takes a group by name over the user’s primary group', () => {
    const config = misc('  script_user keepalived_script nogroup', ['misc_path /etc/keepalived/ok.sh']);
    expect(runAsOf(applyScriptSecurity(config, host(SAFE)).config)).toEqual([{ uid: 990, gid: 65534 }]);
  });

  it('runs as lvsd’s own user when keepalived_script is missing and script security is off, saying so', () => {
    const policy = applyScriptSecurity(misc('', ['misc_path /etc/keepalived/ok.sh']), host(SAFE, WITHOUT_DEFAULT_USER));
    expect(runAsOf(policy.config)).toEqual([{ uid: 0, gid: 0 }]);
    expect(lines(policy.notices)).toEqual([
      "9: Script user 'keepalived_script' does not exist",
      '9: SECURITY VIOLATION - check scripts are being executed but script_security not enabled.',
    ]);
  });

  it('removes every script without a user of its own when keepalived_script is missing under script security', () => {
    const config = misc('  enable_script_security', ['misc_path /etc/keepalived/ok.sh', 'misc_path /etc/keepalived/ok.sh\nuser nobody']);
    const policy = applyScriptSecurity(config, host(SAFE, WITHOUT_DEFAULT_USER));
    expect(runAsOf(policy.config)).toEqual(['removed', { uid: 65534, gid: 65534 }]);
    expect(lines(policy.notices)).toEqual([
      "9: Script user 'keepalived_script' does not exist",
      '9: Unable to set default user keepalived_script for script',
      "9: Unable to set default user for misc script '/etc/keepalived/ok.sh' - removing",
    ]);
  });

  it('removes a script whose user or group does not exist', () => {
    const config = misc('', ['misc_path /etc/keepalived/ok.sh\nuser nosuch', 'misc_path /etc/keepalived/ok.sh\nuser nobody nosuchgroup']);
    const policy = applyScriptSecurity(config, host(SAFE));
    expect(runAsOf(policy.config)).toEqual(['removed', 'removed']);
    expect(policy.notices.map((n) => n.message)).toEqual([
      "Script user 'nosuch' does not exist",
      "Failed to set uid/gid for misc checker script '/etc/keepalived/ok.sh' - removing",
      "Script group 'nosuchgroup' does not exist",
      "Failed to set uid/gid for misc checker script '/etc/keepalived/ok.sh' - removing",
    ]);
  });
});

describe('scripts a non-root user could change', () => {
  it('are refused under enable_script_security when they would run as root, at their line', () => {
    const config = misc('  enable_script_security\n  script_user root', ['misc_path /etc/keepalived/bad.sh']);
    const policy = applyScriptSecurity(config, host(WORLD_WRITABLE));
    expect(runAsOf(policy.config)).toEqual(['removed']);
    expect(lines(policy.notices)).toEqual([
      "10: Unsafe permissions found for script '/etc/keepalived/bad.sh' - disabling.",
      "10: Disabling misc script '/etc/keepalived/bad.sh' due to insecure",
    ]);
  });

  it('run, with keepalived’s warnings, when script security is off', () => {
    const policy = applyScriptSecurity(misc('  script_user root', ['misc_path /etc/keepalived/bad.sh']), host(WORLD_WRITABLE));
    expect(runAsOf(policy.config)).toEqual([{ uid: 0, gid: 0 }]);
    expect(policy.notices.map((n) => n.message)).toEqual([
      "Unsafe permissions found for script '/etc/keepalived/bad.sh'.",
      'SECURITY VIOLATION - check scripts are being executed but script_security not enabled. There are insecure scripts.',
    ]);
  });

  it('run when their user is not root: keepalived only guards scripts that run as root', () => {
    const policy = applyScriptSecurity(misc('  enable_script_security\n  script_user nobody', ['misc_path /etc/keepalived/bad.sh']), host(WORLD_WRITABLE));
    expect(runAsOf(policy.config)).toEqual([{ uid: 65534, gid: 65534 }]);
    expect(policy.notices).toEqual([]);
  });

  it('take a vrrp_script out of the instances that track it, and drop notify scripts', () => {
    const config = parse(`global_defs {\n  enable_script_security\n  script_user root\n}\nvrrp_script chk {\n  script /etc/keepalived/bad.sh\n}\nvrrp_instance VI {\n  interface eth0\n  virtual_router_id 5\n  priority 100\n  virtual_ipaddress {\n    10.9.9.9/32\n  }\n  track_script {\n    chk\n  }\n  notify_master "/etc/keepalived/bad.sh master"\n  notify_backup /etc/keepalived/ok.sh\n}\n`);
    const policy = applyScriptSecurity(config, host({ ...WORLD_WRITABLE, ...SAFE }));
    expect(policy.config.vrrpScripts).toEqual([]);
    expect(policy.config.vrrpInstances[0]!.trackScripts).toEqual([]);
    expect(policy.config.vrrpInstances[0]!.notify).toEqual({ backup: { command: '/etc/keepalived/ok.sh', runAs: { uid: 0, gid: 0 } } });
    expect(lines(policy.notices)).toEqual([
      "5: Unsafe permissions found for script '/etc/keepalived/bad.sh' - disabling.",
      '5: Disabling track script chk due to insecure',
      "8: Unsafe permissions found for script '/etc/keepalived/bad.sh' - disabling.",
    ]);
  });

  it('drop a real server’s notify_up or notify_down as they drop its MISC_CHECK, and leave a real server without scripts as it was', () => {
    const config = parse(`global_defs {\n  enable_script_security\n  script_user root\n}\nvirtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  real_server 10.1.0.1 80 {\n    notify_up /etc/keepalived/ok.sh\n    notify_down /etc/keepalived/bad.sh\n  }\n  real_server 10.1.0.2 80 {\n    TCP_CHECK {\n    }\n  }\n}\n`);
    const policy = applyScriptSecurity(config, host({ ...WORLD_WRITABLE, ...SAFE }));
    const [notifying, plain] = policy.config.virtualServers[0]!.realServers;
    expect(notifying).toMatchObject({ notifyUp: { command: '/etc/keepalived/ok.sh', runAs: { uid: 0, gid: 0 } } });
    expect(notifying!.notifyDown).toBeUndefined();
    expect(plain).toBe(config.virtualServers[0]!.realServers[1]);
    expect(lines(policy.notices)).toEqual(["9: Unsafe permissions found for script '/etc/keepalived/bad.sh' - disabling."]);
  });

  it('are not executable for their user: removed with keepalived’s warning', () => {
    const policy = applyScriptSecurity(misc('  script_user nobody', ['misc_path /etc/keepalived/own.sh']), host({ '/etc/keepalived/own.sh': file(0o744) }));
    expect(runAsOf(policy.config)).toEqual(['removed']);
    expect(policy.notices[0]?.message).toBe("WARNING - script '/etc/keepalived/own.sh' is not executable for uid:gid 65534:65534 - disabling.");
  });
});

describe('the path check', () => {
  const S_IWGRP = 0o020;
  const S_IWOTH = 0o002;
  const part = fc.record({
    owner: fc.constantFrom(0, 1000),
    group: fc.constantFrom(0, 1000),
    groupWritable: fc.boolean(),
    otherWritable: fc.boolean(),
    sticky: fc.boolean(),
  });
  type Part = typeof part extends fc.Arbitrary<infer T> ? T : never;
  const mode = (p: Part) => 0o755 | (p.groupWritable ? S_IWGRP : 0) | (p.otherWritable ? S_IWOTH : 0) | (p.sticky ? 0o1000 : 0);
  /** Someone other than root can replace the part: they own it, or may write to it (a sticky directory only lets them replace their own files). */
  const changeable = (p: Part, isDirectory: boolean) =>
    p.owner !== 0 || (!(isDirectory && p.sticky) && ((p.groupWritable && p.group !== 0) || p.otherWritable));

  it('refuses a root script exactly when some part of its path is changeable by non-root', () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), part, (dirs, script) => {
        const names = dirs.map((_, index) => `/d${dirs.slice(0, index + 1).map((__, i) => i).join('/d')}`);
        const path = `${names.at(-1)}/s.sh`;
        const files: Record<string, PathFacts> = { '/': dir(), [path]: { type: 'file', uid: script.owner, gid: script.group, mode: mode(script) } };
        dirs.forEach((d, index) => (files[names[index]!] = { type: 'directory', uid: d.owner, gid: d.group, mode: mode(d) }));
        const inspection = inspectScript(path, { uid: 0, gid: 0 }, true, host(files));
        const expected = dirs.some((d) => changeable(d, true)) || changeable(script, false);
        expect(inspection.inhibited).toBe(expected);
        expect(inspection.insecure).toBe(expected);
      }),
    );
  });

  it('walks from / down to the script', () => {
    expect(pathPrefixes('/a/b/c.sh')).toEqual(['/', '/a', '/a/b', '/a/b/c.sh']);
  });
});

describe('/etc/passwd and /etc/group', () => {
  it('give the first entry of a name and skip NSS compat lines', () => {
    const accounts = parseAccounts(`${PASSWD}nobody:x:1:1::/:/bin/false\n`, GROUP);
    expect(accounts.user('nobody')).toEqual({ uid: 65534, gid: 65534 });
    expect(accounts.user('+nis')).toBeUndefined();
    expect(accounts.group('nogroup')).toBe(65534);
    expect(accounts.group('nosuch')).toBeUndefined();
  });
});
