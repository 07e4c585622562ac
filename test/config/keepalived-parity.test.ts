// Runs the real keepalived 2.2.7 (`keepalived -t`) on the same LVS configs
// as our parser. keepalived -t exits non-zero for anything it reports, even
// what it then carries on with, so the comparison is:
//   keepalived silent (exit 0, no output) => we accept without a warning;
//   keepalived reports => we warn or refuse (never a silent accept);
//   we refuse          => keepalived reports too.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, parseConfigFile } from '../../src/config/index.ts';

const KEEPALIVED = '/usr/sbin/keepalived';
const dir = mkdtempSync(join(tmpdir(), 'lvsd-config-parity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * -C checks the checker (LVS) side only, so VRRP interface checks of this host
 * play no part; -P the VRRP side only. Pid files go to the scratch directory.
 */
function keepalivedTest(file: string, side: '-C' | '-P' = '-C'): Promise<{ code: number; output: string }> {
  const args = ['-t', side, '-n', '-l', '-f', file, '-p', join(dir, 'k.pid'), '-c', join(dir, 'c.pid'), '-r', join(dir, 'v.pid')];
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
  'persistence_granularity without a timeout': vs(`${HEAD}\n  persistence_granularity 255.255.0.0\n  ${rs()}`),
  'fwmark DR real server with a port': vs(`lb_algo rr\n  lb_kind DR\n  ${rs()}`, 'fwmark 5'),
  'every checker kind': vs(`${HEAD}\n  ${rs([
    'TCP_CHECK {\n      connect_port 81\n      bindto 10.0.0.1\n    }',
    'SSL_GET {\n      url {\n        path /\n      }\n      enable_sni\n    }',
    'PING_CHECK {\n    }',
    'UDP_CHECK {\n      payload 0a0b\n      require_reply\n    }',
    'DNS_CHECK {\n      type A\n      name example.com\n    }',
    'SMTP_CHECK {\n      helo_name x\n    }',
    'MISC_CHECK {\n      misc_path "/bin/true x"\n      misc_timeout 5\n      misc_dynamic\n    }',
  ].join('\n    '))}`),
  'checker timers and inheritance': vs(`${HEAD}\n  delay_loop 2.5\n  connect_timeout 4\n  retry 2\n  delay_before_retry 1.5\n  warmup 0\n  ${rs('inhibit_on_failure\n    TCP_CHECK {\n      retry 5\n    }')}`),
  'nb_get_retry in HTTP_GET': vs(`${HEAD}\n  ${rs('HTTP_GET {\n      nb_get_retry 3\n      url {\n        path /\n      }\n    }')}`),
  'enable_sni in HTTP_GET': vs(`${HEAD}\n  ${rs('HTTP_GET {\n      enable_sni\n      url {\n        path /\n      }\n    }')}`),
  'persistence, quorum, sorry server': vs(`${HEAD}\n  persistence_timeout\n  quorum 2\n  hysteresis 1\n  alpha\n  omega\n  sorry_server 10.0.9.9 80\n  ${rs()}`),
  'lvs_sched and lvs_method synonyms': vs(`protocol TCP\n  lvs_sched sh\n  sh-port\n  lvs_method TUN\n  ${rs()}`),
  'IPv6 service': vs(`${HEAD}\n  ${rs('', '2001:db8::10 80')}`, '2001:db8::1 80'),
  'mixed families NAT': vs(`${HEAD}\n  ${rs('', '2001:db8::10 80')}`),
  'bad digest': vs(`${HEAD}\n  ${rs('HTTP_GET {\n      url {\n        path /\n        digest xyz\n      }\n    }')}`),
  'bad status code': vs(`${HEAD}\n  ${rs('HTTP_GET {\n      url {\n        path /\n        status_code 2000\n      }\n    }')}`),
  'negative delay_loop': vs(`${HEAD}\n  delay_loop -1\n  ${rs()}`),
  'port out of range': vs(`${HEAD}\n  ${rs('', '10.0.1.1 70000')}`),
  'group with ranges and fwmarks': `virtual_server_group G {\n  10.0.0.1-4 80\n  10.0.2.0/30 80\n  fwmark 3\n}\n${vs(`${HEAD}\n  ${rs()}`, 'group G')}`,
  'bad group range': `virtual_server_group G {\n  10.0.0.9-4 80\n}\n${vs(`${HEAD}\n  ${rs()}`, 'group G')}`,
  'include of a missing file': `include /nonexistent-lvsd-dir/*.conf\n${vs(`${HEAD}\n  ${rs()}`)}`,
  'unclosed block': `virtual_server 10.0.0.1 80 {\n  ${HEAD}\n  ${rs()}\n`,
  'MISC_CHECK without misc_path': vs(`${HEAD}\n  ${rs('MISC_CHECK {\n      misc_timeout 3\n    }')}`),
  'FILE_CHECK of an undefined track_file': vs(`${HEAD}\n  ${rs('FILE_CHECK {\n      track_file nope\n    }')}`),
  'FILE_CHECK of a track_file': `track_file tf {\n  file /run/lvsd-parity-weight\n  weight 2\n}\n${vs(`${HEAD}\n  ${rs('FILE_CHECK {\n      track_file tf\n    }')}`)}`,
  'lvs_sync_daemon without instance': `global_defs {\n  lvs_sync_daemon eth0\n}\n${vs(`${HEAD}\n  ${rs()}`)}`,
  'delay_loop 0': vs(`${HEAD}\n  delay_loop 0\n  ${rs()}`),
  'connect_timeout 0': vs(`${HEAD}\n  ${rs('TCP_CHECK {\n      connect_timeout 0\n    }')}`),
  'retry 0 on a checker': vs(`${HEAD}\n  ${rs('TCP_CHECK {\n      retry 0\n    }')}`),
  'retry 0 on a real server': vs(`${HEAD}\n  ${rs('retry 0\n    TCP_CHECK {\n    }')}`),
  'ops on TCP': vs(`${HEAD}\n  ops\n  ${rs()}`),
  'ops on UDP': vs(`protocol UDP\n  lb_algo rr\n  lb_kind NAT\n  ops\n  ${rs()}`),
  'hysteresis not below quorum': vs(`${HEAD}\n  quorum 2\n  hysteresis 2\n  ${rs('weight 3')}`),
  'all weights 0 (quorum reduced)': vs(`${HEAD}\n  ${rs('weight 0')}`),
  'real servers from ~SEQ over a definition': `$RS= \\\nreal_server 10.0.1.\${N} 80 { \\\n}\n${vs(`${HEAD}\n  ~SEQ(N, 1, 3) $RS`)}`,
  'real servers from ~LST, one duplicated': `$RS= \\\nreal_server 10.0.1.\${N} 80 { \\\n}\n${vs(`${HEAD}\n  ~LST(N, 4, 5, 4) $RS`)}`,
  'global_defs only': 'global_defs {\n  router_id r1\n  lvs_flush\n}\n',
  'unknown global keyword': 'global_defs {\n  router_idd r1\n}\n',
};

/** Where lvsd says more than keepalived on purpose: keepalived accepts these silently. */
const LOUDER: Record<string, { text: string; warning: unknown }> = {
  'undefined group (keepalived silently programs nothing)': {
    text: vs(`${HEAD}\n  ${rs()}`, 'group NOPE'),
    warning: "virtual_server_group 'NOPE' is not defined - virtual server ignored",
  },
  'duplicate virtual server (its real servers join the first service)': {
    text: vs(`${HEAD}\n  ${rs()}`) + vs(`${HEAD}\n  ${rs('', '10.0.1.2 80')}`),
    warning: expect.stringMatching(/^virtual_server TCP 10\.0\.0\.1:80 duplicates the one at line 1 of .*: its real servers join that service, its other settings are ignored$/),
  },
  'checker without any port (can only fail)': {
    text: vs(`lb_algo rr\n  lb_kind DR\n  ${rs('TCP_CHECK {\n    }', '10.0.1.1')}`, 'fwmark 5'),
    warning: 'checker has no port to connect to (no connect_port, real server without port): it will always fail',
  },
  'lvs_sync_daemon naming an undefined instance': {
    text: `global_defs {\n  lvs_sync_daemon eth0 NOPE\n}\n${vs(`${HEAD}\n  ${rs()}`)}`,
    warning: 'lvs_sync_daemon refers to vrrp_instance NOPE, which is not defined - lvs_sync_daemon ignored',
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

// keepalived checks that a VRRP interface exists (and is not loopback): use one this host has.
const INTERFACE = readdirSync('/sys/class/net').find((name) => name !== 'lo');
const instance = (body: string, name = 'V', vrid = 7) =>
  `vrrp_instance ${name} {\n  interface ${INTERFACE}\n  virtual_router_id ${vrid}\n  ${body}\n}\n`;
const VIP = 'virtual_ipaddress {\n    10.9.0.1/24\n  }';

const VRRP_CASES: Record<string, string> = {
  'plain instance': instance(`priority 100\n  advert_int 1\n  ${VIP}`),
  'initial MASTER without priority (address owner)': instance(`state MASTER\n  ${VIP}`),
  'nopreempt with MASTER and priority 255': instance(`state MASTER\n  nopreempt\n  ${VIP}`),
  'nopreempt with MASTER': instance(`state MASTER\n  priority 100\n  nopreempt\n  ${VIP}`),
  'preempt_delay with MASTER': instance(`state MASTER\n  priority 100\n  preempt_delay 5\n  ${VIP}`),
  'preempt_delay with priority 255': instance(`priority 255\n  preempt_delay 5\n  ${VIP}`),
  'fractional VRRPv2 advert': instance(`advert_int 1.5\n  ${VIP}`),
  'VRRPv3 advert not in centiseconds': instance(`version 3\n  advert_int 1.555\n  ${VIP}`),
  'IPv6 VIP makes it VRRPv3': instance('virtual_ipaddress {\n    fe80::1\n  }'),
  'mixed address families': instance('virtual_ipaddress {\n    10.9.0.1/24\n    2001:db8::1\n  }'),
  'no virtual_router_id': `vrrp_instance V {\n  interface ${INTERFACE}\n  ${VIP}\n}\n`,
  'priority out of range': instance(`priority 300\n  ${VIP}`),
  'duplicate VRID': instance(VIP) + instance('virtual_ipaddress {\n    10.9.0.2/24\n  }', 'W'),
  'long auth_pass': instance(`authentication {\n    auth_type PASS\n    auth_pass 123456789\n  }\n  ${VIP}`),
  'authentication with VRRPv3': instance(`version 3\n  authentication {\n    auth_type PASS\n    auth_pass 1234\n  }\n  ${VIP}`),
  'sync group of one': `vrrp_sync_group G {\n  group {\n    V\n  }\n}\n${instance(VIP)}`,
  'sync group of two': `vrrp_sync_group G {\n  group {\n    V\n    W\n  }\n}\n${instance(VIP)}${instance('virtual_ipaddress {\n    10.9.0.2/24\n  }', 'W', 8)}`,
  'duplicate instance name': instance(VIP) + instance('virtual_ipaddress {\n    10.9.0.2/24\n  }', 'V', 8),
  'instance in two sync groups': `vrrp_sync_group G {\n  group {\n    V\n    W\n  }\n}\nvrrp_sync_group H {\n  group {\n    V\n    W\n  }\n}\n${instance(VIP)}${instance('virtual_ipaddress {\n    10.9.0.2/24\n  }', 'W', 8)}`,
  'no VIP': instance('priority 100'),
  'native_ipv6 with an IPv4 VIP': instance(`native_ipv6\n  ${VIP}`),
  'unicast_src_ip without peers': instance(`unicast_src_ip 10.9.0.5\n  ${VIP}`),
  'unicast_src_ip of the other family': instance(`unicast_src_ip ::1\n  unicast_peer {\n    10.9.0.6\n  }\n  ${VIP}`),
  'unicast peers': instance(`unicast_src_ip 10.9.0.5\n  unicast_peer {\n    10.9.0.6\n  }\n  ${VIP}`),
  'strict mode with authentication': instance(`strict_mode\n  authentication {\n    auth_type PASS\n    auth_pass abc\n  }\n  ${VIP}`),
  'vmac_xmit_base without use_vmac': instance(`vmac_xmit_base\n  ${VIP}`),
  'use_vmac with unicast': instance(`use_vmac\n  unicast_peer {\n    10.9.0.6\n  }\n  ${VIP}`),
  'virtual route without dev': instance(`${VIP}\n  virtual_routes {\n    10.5.0.0/16 via 10.9.0.254\n  }`),
  'virtual route with dev': instance(`${VIP}\n  virtual_routes {\n    10.5.0.0/16 via 10.9.0.254 dev ${INTERFACE}\n  }`),
  'virtual route with oif': instance(`${VIP}\n  virtual_routes {\n    10.5.0.0/16 via 10.9.0.254 oif ${INTERFACE}\n  }`),
  'virtual route without dev, with no_track': instance(`${VIP}\n  virtual_routes {\n    10.5.0.0/16 via 10.9.0.254 no_track\n  }`),
  'unknown track script': `global_defs {\n  enable_script_security\n  script_user root\n}\nvrrp_script s {\n  script "/bin/true"\n}\n${instance(`track_script {\n    s\n    t\n  }\n  ${VIP}`)}`,
};

async function compare(name: string, text: string, side: '-C' | '-P'): Promise<void> {
  const file = join(dir, `${name.replace(/\W+/g, '-')}.conf`);
  writeFileSync(file, text);
  const ours = parseConfigFile(file, { hostname: 'parity' });
  const theirs = await keepalivedTest(file, side);
  const ourReport = ours.ok ? ours.warnings.map(formatDiagnostic) : ours.errors.map(formatDiagnostic);
  const context = `keepalived (${theirs.code}): ${theirs.output}\nlvsd: ${ourReport.join('\n')}`;
  const silent = theirs.code === 0 && theirs.output === '';
  if (silent) expect(ours.ok && ours.warnings.length === 0, context).toBe(true);
  else expect(!ours.ok || ours.warnings.length > 0, context).toBe(true);
  if (!ours.ok) expect(theirs.code, context).not.toBe(0);
}

describe.skipIf(!existsSync(KEEPALIVED) || !INTERFACE)('VRRP verdicts agree with keepalived -t -P (2.2.7)', () => {
  it.each(Object.entries(VRRP_CASES))('%s', (name, text) => compare(`vrrp-${name}`, text, '-P'));
});

describe.skipIf(!existsSync(KEEPALIVED) || !INTERFACE)('static_ipaddress, static_routes and static_rules: keepalived -t -P is silent, lvsd warns at each block', () => {
  it('names each block as not programmed, and why', async () => {
    const file = join(dir, 'static-blocks.conf');
    writeFileSync(file, [
      `static_ipaddress {\n  192.0.2.5/24 dev ${INTERFACE}\n}`,
      `static_routes {\n  198.51.100.0/24 via 192.0.2.1 dev ${INTERFACE}\n}`,
      'static_rules {\n  from 198.51.100.0/24 table 100 priority 100\n}',
      '',
    ].join('\n'));
    expect(await keepalivedTest(file, '-P')).toEqual({ code: 0, output: '' });
    const ours = parseConfigFile(file, { hostname: 'parity' });
    expect(ours.ok).toBe(true);
    const why = "block ignored: lvsd leaves static addresses, routes and rules to the host's network configuration";
    expect(ours.warnings.map(({ at, message }) => `${at.line}: ${message}`)).toEqual([
      `1: 'static_ipaddress' is not supported by lvsd, ${why}`,
      `4: 'static_routes' is not supported by lvsd, ${why}`,
      `7: 'static_rules' is not supported by lvsd, ${why}`,
    ]);
  });
});

describe.skipIf(!existsSync(KEEPALIVED) || !INTERFACE)('notify_priority_changes in upper case: ignored with keepalived -t\'s message (2.2.7)', () => {
  it('warns at each line keepalived reports, starting with its message', async () => {
    const file = join(dir, 'notify-priority-changes-case.conf');
    writeFileSync(file, [
      'global_defs {\n  vrrp_notify_priority_changes\n  vrrp_notify_priority_changes OFF\n}',
      'vrrp_sync_group SG {\n  group {\n    V\n    W\n  }\n  notify_priority_changes False\n}',
      instance(`notify_priority_changes True\n  ${VIP}`),
      instance('notify_priority_changes Yes\n  virtual_ipaddress {\n    10.9.0.2/24\n  }', 'W', 8),
    ].join('\n'));
    const theirs = await keepalivedTest(file, '-P');
    const ours = parseConfigFile(file, { hostname: 'parity' });
    expect(ours.ok).toBe(true);
    const theirLines = [...theirs.output.matchAll(/Line (\d+)\) (.*Invalid value .*)$/gm)].map(([, line, message]) => `${line} ${message}`);
    expect(theirLines).toHaveLength(4);
    expect(ours.warnings.map(({ at, message }) => `${at.line} ${message.split(' - line ignored, as keepalived 2.2.7 ignores it')[0]}`)).toEqual(theirLines);
  });
});

/** keepalived -t's report of a bad boolean word ("Invalid ...", "(V) invalid ...", "Unknown ... option"), by line. */
const badWordReports = (output: string) =>
  [...output.matchAll(/Line (\d+)\) ((?:\(\w+\) )?(?:Invalid|invalid|Unknown) .*)$/gm)].map(([, line, message]) => `${line} ${message}`);
/** lvsd's warnings or errors that repeat keepalived's words, by line. */
const ourBadWordReports = (warnings: readonly { at: { line: number }; message: string }[]) =>
  warnings.filter(({ message }) => /^(\(\w+\) )?(Invalid|invalid|Unknown) /.test(message)).map(({ at, message }) => `${at.line} ${message.split(' - ')[0]}`);

describe.skipIf(!existsSync(KEEPALIVED) || !INTERFACE)('boolean keywords read as keepalived 2.2.7 reads them (check_true_false: six words, in lower case only)', () => {
  const everyWord = ['yes', 'no', 'true', 'false', 'on', 'off'];
  it.each(everyWord)('%s after every check_true_false keyword: keepalived -t silent, lvsd without a warning', async (word) => {
    const global = ['smtp_alert', 'smtp_alert_vrrp', 'smtp_alert_checker', 'vrrp_lower_prio_no_advert', 'vrrp_higher_prio_send_advert', 'vrrp_notify_priority_changes'];
    // skip_check_adv_addr is left out: keepalived sets it for no/false/off too, and lvsd says so (keepalived is silent).
    const vrrp = ['strict_mode', 'lower_prio_no_advert', 'higher_prio_send_advert', 'smtp_alert', 'notify_priority_changes'];
    await compare(`vrrp-booleans-${word}`, `global_defs {\n${global.map((k) => `  ${k} ${word}`).join('\n')}\n}\n${instance(`${vrrp.map((k) => `${k} ${word}`).join('\n  ')}\n  ${VIP}`)}`, '-P');
    const checker = `HTTP_GET {\n      alpha ${word}\n      log_all_failures ${word}\n      fast_recovery ${word}\n      enable_sni ${word}\n      url {\n        path /\n      }\n    }`;
    await compare(`checker-booleans-${word}`, vs(`${HEAD}\n  smtp_alert ${word}\n  ${rs(`inhibit_on_failure ${word}\n    alpha ${word}\n    smtp_alert ${word}\n    ${checker}`)}`), '-C');
  });

  it('one of the six in another case: lvsd warns at each line keepalived -t reports, in its words, and ignores the line as it does', async () => {
    const file = join(dir, 'booleans-case-vrrp.conf');
    writeFileSync(file, [
      'global_defs {\n  smtp_alert True\n  smtp_alert_vrrp NO\n  smtp_alert_checker ON\n  dynamic_interfaces no',
      '  vrrp_lower_prio_no_advert Yes\n  vrrp_higher_prio_send_advert FALSE\n}',
      'vrrp_sync_group G {\n  group {\n    V\n    W\n  }\n  smtp_alert Yes\n}',
      instance(`strict_mode On\n  lower_prio_no_advert TRUE\n  higher_prio_send_advert Off\n  skip_check_adv_addr Off\n  smtp_alert YES\n  ${VIP}`),
      instance('virtual_ipaddress {\n    10.9.0.2/24\n  }', 'W', 8),
    ].join('\n'));
    const theirs = badWordReports((await keepalivedTest(file, '-P')).output);
    const ours = parseConfigFile(file, { hostname: 'parity' });
    expect(ours.ok).toBe(true);
    expect(theirs).toHaveLength(12);
    expect(ourBadWordReports(ours.warnings)).toEqual(theirs);
    if (!ours.ok) return;
    const { globalDefs, vrrpInstances } = ours.config;
    // As if the line were not there; dynamic_interfaces is set whatever follows it.
    expect([globalDefs.smtpAlert, globalDefs.smtpAlertVrrp, globalDefs.smtpAlertChecker, globalDefs.dynamicInterfaces]).toEqual([undefined, undefined, undefined, true]);
    expect([globalDefs.vrrp.lowerPrioNoAdvert, globalDefs.vrrp.higherPrioSendAdvert]).toEqual([false, false]);
    expect([vrrpInstances[0]?.strictMode, vrrpInstances[0]?.lowerPrioNoAdvert, vrrpInstances[0]?.skipCheckAdvAddr]).toEqual([false, false, false]);
  });

  it('the same in a virtual_server, a real_server and a checker', async () => {
    const file = join(dir, 'booleans-case-checker.conf');
    const checker = 'HTTP_GET {\n      alpha Off\n      log_all_failures YES\n      fast_recovery On\n      enable_sni NO\n      url {\n        path /\n      }\n    }';
    writeFileSync(file, vs(`${HEAD}\n  smtp_alert On\n  ${rs(`inhibit_on_failure Yes\n    alpha TRUE\n    smtp_alert False\n    ${checker}`)}`));
    const theirs = badWordReports((await keepalivedTest(file, '-C')).output);
    const ours = parseConfigFile(file, { hostname: 'parity' });
    expect(ours.ok).toBe(true);
    expect(theirs).toHaveLength(8);
    expect(ourBadWordReports(ours.warnings)).toEqual(theirs);
  });

  it('another word: lvsd refuses the file, at each line keepalived -t reports, in its words', async () => {
    const file = join(dir, 'booleans-other-word.conf');
    writeFileSync(file, [
      'global_defs {\n  smtp_alert_vrrp maybe\n  lvs_flush_onstop yes\n}',
      instance(`higher_prio_send_advert nope\n  ${VIP}`),
    ].join('\n'));
    const theirs = badWordReports((await keepalivedTest(file, '-P')).output);
    const ours = parseConfigFile(file, { hostname: 'parity' });
    expect(ours.ok).toBe(false);
    expect(theirs).toHaveLength(3);
    if (!ours.ok) expect(ourBadWordReports(ours.errors)).toEqual(theirs);
  });

  it('flags keepalived sets whatever follows them: keepalived -t silent, lvsd sets them too and points at the word', async () => {
    const file = join(dir, 'booleans-ignored-argument.conf');
    writeFileSync(file, [
      'global_defs {\n  lvs_flush off\n  enable_script_security no\n  vrrp_check_unicast_src no\n  vrrp_strict off\n  vrrp_no_swap false\n  script_user root\n}',
      'vrrp_script s {\n  script "/bin/true"\n  init_fail no\n}',
      'vrrp_sync_group G {\n  group {\n    V\n    W\n  }\n  sync_group_tracking_weight off\n}',
      // Version 3: keepalived resets accept on a VRRPv2 instance, with a warning.
      instance(`version 3\n  nopreempt no\n  dont_track_primary off\n  accept no\n  ${VIP}`),
      instance('no_accept no\n  virtual_ipaddress {\n    10.9.0.2/24\n  }', 'W', 8),
    ].join('\n'));
    expect(await keepalivedTest(file, '-P')).toEqual({ code: 0, output: '' });
    const ours = parseConfigFile(file, { hostname: 'parity' });
    expect(ours.ok).toBe(true);
    const ignoring = ours.warnings.map(({ message }) => /^'(\w+) \w+' sets \1: keepalived 2\.2\.7 reads no argument after/.exec(message)?.[1]);
    expect(ignoring).toEqual(['lvs_flush', 'enable_script_security', 'vrrp_check_unicast_src', 'vrrp_strict', 'vrrp_no_swap', 'init_fail', 'sync_group_tracking_weight', 'nopreempt', 'dont_track_primary', 'accept', 'no_accept']);
    if (!ours.ok) return;
    const { globalDefs, vrrpInstances } = ours.config;
    expect([globalDefs.lvsFlush, globalDefs.enableScriptSecurity, globalDefs.vrrp.strict, globalDefs.vrrp.noSwap]).toEqual([true, true, true, true]);
    expect(vrrpInstances.map((v) => v.accept)).toEqual([true, false]);
  });
});

describe.skipIf(!existsSync(KEEPALIVED))('verdicts agree with keepalived -t (2.2.7)', () => {
  it.each(Object.entries(CASES))('%s', (name, text) => compare(name, text, '-C'));
});

/** Keywords keepalived 2.2.7 knows in some blocks of a virtual_server and not in others. */
const KNOWN_ELSEWHERE: Record<string, string> = {
  'nb_get_retry outside HTTP_GET and SSL_GET': vs(`${HEAD}\n  nb_get_retry 2\n  ${rs([
    'nb_get_retry 2',
    'TCP_CHECK {\n      nb_get_retry 2\n    }',
    'MISC_CHECK {\n      misc_path /bin/true\n      nb_get_retry 2\n    }',
    'SMTP_CHECK {\n      host {\n        connect_timeout 1\n        nb_get_retry 2\n      }\n    }',
    'HTTP_GET {\n      nb_get_retry 2\n      url {\n        path /\n      }\n    }',
  ].join('\n    '))}`),
  'virtualhost outside HTTP_GET and SSL_GET': vs(`${HEAD}\n  virtualhost v\n  ${rs([
    'virtualhost r',
    'TCP_CHECK {\n      virtualhost t\n    }',
    'MISC_CHECK {\n      misc_path /bin/true\n      virtualhost m\n    }',
    'SMTP_CHECK {\n      virtualhost s\n      host {\n        connect_timeout 1\n        virtualhost h\n      }\n    }',
    'DNS_CHECK {\n      virtualhost d\n    }',
    'UDP_CHECK {\n      virtualhost u\n    }',
    'PING_CHECK {\n      virtualhost p\n    }',
    'SSL_GET {\n      virtualhost g\n      url {\n        path /\n      }\n    }',
  ].join('\n    '))}`),
  'connect_timeout in MISC_CHECK': vs(`${HEAD}\n  ${rs('MISC_CHECK {\n      misc_path /bin/true\n      connect_timeout 3\n    }')}`),
  'file in FILE_CHECK': `track_file tf {\n  file /run/lvsd-parity-weight\n}\n${vs(`${HEAD}\n  ${rs('FILE_CHECK {\n      file tf\n    }')}`)}`,
};

describe.skipIf(!existsSync(KEEPALIVED))('lvsd warns of an unknown keyword at each line keepalived -t (2.2.7) does', () => {
  it.each(Object.entries(KNOWN_ELSEWHERE))('%s', async (name, text) => {
    const file = join(dir, `unknown-${name.replace(/\W+/g, '-')}.conf`);
    writeFileSync(file, text);
    const theirs = await keepalivedTest(file);
    const ours = parseConfigFile(file, { hostname: 'parity' });
    const theirLines = [...theirs.output.matchAll(/Line (\d+)\) Unknown keyword '([^']+)'/g)].map(([, line, keyword]) => `${line} ${keyword}`);
    const ourLines = ours.warnings.flatMap(({ at, message }) => {
      const keyword = /^unknown keyword '([^']+)'/.exec(message)?.[1];
      return keyword === undefined ? [] : [`${at.line} ${keyword}`];
    });
    expect(theirLines.length).toBeGreaterThan(0);
    expect(ourLines).toEqual(theirLines);
  });
});
