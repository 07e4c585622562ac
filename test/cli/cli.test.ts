import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The built executables, run by absolute path from an unrelated directory, as an operator would.
const LVSD = fileURLToPath(new URL('../../bin/lvsd', import.meta.url));
const LVSCTL = fileURLToPath(new URL('../../bin/lvsctl', import.meta.url));
/** The JavaScript lvsctl, which bin/lvsctl runs for everything but a plain status. */
const LVSCTL_BUNDLE = fileURLToPath(new URL('../../bin/lvsctl.cjs', import.meta.url));

async function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, { cwd: tmpdir(), timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('lvsd command line', () => {
  it('prints usage with -h, naming keepalived’s options', async () => {
    const { code, stdout } = await run(LVSD, ['-h']);
    expect(code).toBe(0);
    for (const option of ['--use-file', '--dont-fork', '--log-console', '--log-detail', '--check', '--vrrp', '--config-test', '--pid', '--version']) {
      expect(stdout).toContain(option);
    }
  });

  it('prints its version with -v', async () => {
    expect((await run(LVSD, ['-v'])).stdout).toMatch(/^lvsd \d+\.\d+\.\d+\n$/);
  });

  it('says in one line that a missing configuration file cannot be read', async () => {
    const { code, stdout, stderr } = await run(LVSD, ['-f', '/nonexistent']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('lvsd: /nonexistent: error: cannot read configuration file: ENOENT\n');
  });

  it('names file:line:column of a configuration error and changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsd-cli-'));
    writeFileSync(join(dir, 'bad.conf'), 'virtual_server 10.0.0.1 80 {\n  lb_algo nosuch\n}\n');
    const { code, stderr } = await run(LVSD, ['-f', join(dir, 'bad.conf')]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/bad\.conf:2:\d+: error: .*nosuch/);
    expect(stderr).toContain('nothing was changed');
  });

  it('explains in one line, without a stack trace, that this kernel has no IPVS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsd-cli-'));
    writeFileSync(join(dir, 'ok.conf'), 'virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 10.0.1.1 80 { }\n}\n');
    const { code, stderr } = await run(LVSD, ['-f', join(dir, 'ok.conf'), '--socket', join(dir, 's.sock')]);
    // This machine's kernel has no IPVS (the kernel tests cover the other case).
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/modprobe ip_vs/);
  });

  it('checks a configuration with -t', async () => {
    const example = fileURLToPath(new URL('../../examples/keepalived.conf', import.meta.url));
    const { code, stdout } = await run(LVSD, ['-t', '-f', example]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/configuration OK: 1 virtual server/);
  });

  it('rejects unknown options with a usage hint', async () => {
    const { code, stderr } = await run(LVSD, ['--frobnicate']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/Unknown option '--frobnicate'.*\nTry 'lvsd --help'/s);
  });
});

/**
 * Issue 13's VRRP keywords in one vrrp_instance (and the vrrp_track_process it tracks), each in a
 * form keepalived 2.2.7 takes without a word (`keepalived -t` says nothing about this file).
 */
const ISSUE_13_VRRP = `global_defs {
  enable_script_security
  script_user root
}
vrrp_script chk {
  script /bin/true
}
track_file tf {
  file /dev/null
}
vrrp_track_process proc {
  process /sbin/init splash
  param_match partial
  quorum 1
  quorum_max 3
  delay 2
  weight 5 reverse
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  authentication {
    auth_type AH
    auth_pass secret
  }
  use_vmac vrrp.51
  vmac_xmit_base
  use_vmac_addr
  virtual_ipaddress {
    192.0.2.10/32
    192.0.2.11/32 dev eth1
  }
  virtual_rules {
    from 192.0.2.1 table 100 priority 100
    to 198.51.100.0/24 fwmark 0x10/0xff iif eth0 lookup 101 preference 200
  }
  track_interface {
    eth1 weight 10 reverse
  }
  track_script {
    chk weight -10 reverse
  }
  track_file {
    tf weight 3 reverse
  }
  track_process {
    proc weight 5 reverse
  }
  garp_master_refresh 10
  garp_master_refresh_repeat 2
  garp_lower_prio_delay 5
  garp_lower_prio_repeat 2
  unicast_peer {
    192.0.2.2
  }
  unicast_fault_no_peer
  check_unicast_src
  unicast_ttl 5
  lower_prio_no_advert
  higher_prio_send_advert
  down_timer_adverts 5
  notify_priority_changes
}
`;

/** What ISSUE_13_VRRP must use, each at the start of a line. */
const ISSUE_13_LINES = [
  'auth_type AH', 'use_vmac', 'vmac_xmit_base', 'use_vmac_addr', 'virtual_rules', 'track_file', 'garp_master_refresh',
  'garp_master_refresh_repeat', 'garp_lower_prio_delay', 'garp_lower_prio_repeat', 'track_script', 'chk weight -10 reverse',
  'track_interface', 'eth1 weight 10 reverse', 'track_process', 'vrrp_track_process', 'quorum', 'delay', 'weight 5 reverse',
  'param_match', 'unicast_fault_no_peer', 'check_unicast_src', 'unicast_ttl', 'lower_prio_no_advert', 'higher_prio_send_advert',
  'down_timer_adverts', 'notify_priority_changes',
];

describe('lvsctl command line', () => {
  it("checks a configuration with all of issue 13's VRRP keywords without calling one unsupported, ignored or not honoured", async () => {
    const lines = ISSUE_13_VRRP.split('\n').map((line) => line.trim());
    expect(ISSUE_13_LINES.filter((used) => !lines.some((line) => line === used || line.startsWith(`${used} `)))).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'lvsd-cli-'));
    try {
      const file = join(dir, 'vrrp.conf');
      writeFileSync(file, ISSUE_13_VRRP);
      const { code, stdout, stderr } = await run(LVSCTL, ['check', '-f', file]);
      expect(stderr.split('\n').filter((line) => /not supported|not honoured|ignored/.test(line))).toEqual([]);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toBe(`${file}: configuration OK: 0 virtual server(s), 0 real server(s), 1 vrrp instance(s), 0 warning(s)\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints usage with -h', async () => {
    const { code, stdout } = await run(LVSCTL, ['-h']);
    expect(code).toBe(0);
    for (const command of ['status', 'reload', 'diff', 'drain', 'undrain', 'check', 'digest']) expect(stdout).toContain(command);
  });

  it('needs one real server to drain or undrain, and --timeout only with --wait', async () => {
    for (const [args, message] of [
      [['drain'], 'drain needs one real server (ADDRESS or ADDRESS:PORT)'],
      [['undrain', 'a', 'b'], 'undrain needs one real server (ADDRESS or ADDRESS:PORT)'],
      [['undrain', '10.0.0.1', '--over', 'soon'], "--over expects seconds, got 'soon'"],
      [['drain', '10.0.0.1', '--timeout', '5'], '--timeout goes with --wait'],
    ] as const) {
      const { code, stderr } = await run(LVSCTL, [...args]);
      expect(code).toBe(2);
      expect(stderr).toBe(`lvsctl: ${message}\nTry 'lvsctl --help'.\n`);
    }
  });

  it('says when no daemon is running, through its native status client and through the bundle', async () => {
    for (const [file, args] of [[LVSCTL, ['status', '--socket', '/run/lvsd/none.sock']], [LVSCTL, ['status', '--json', '--socket=/run/lvsd/none.sock']], [LVSCTL_BUNDLE, ['status', '--socket', '/run/lvsd/none.sock']]] as const) {
      const { code, stderr } = await run(file, [...args]);
      expect(code).toBe(3);
      expect(stderr).toBe('lvsctl: lvsd is not running (no control socket at /run/lvsd/none.sock)\n');
    }
  });

  it('rejects a status option it does not know with usage, as every other command does', async () => {
    const { code, stderr } = await run(LVSCTL, ['status', '--bogus']);
    expect(code).toBe(2);
    expect(stderr).toBe("lvsctl: Unknown option '--bogus'\nTry 'lvsctl --help'.\n");
  });
});
