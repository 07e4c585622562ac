import { describe, expect, it } from 'vitest';
import type { Checker, HttpCheck } from '../../src/config/index.ts';
import { HOST, messages, parse, parseOk } from './helpers.ts';

const minimalVs = (body: string, rsBody = '', head = '10.0.0.1 80') => `
virtual_server ${head} {
${body}
  real_server 192.168.1.10 80 {
${rsBody}
  }
}`;

function onlyChecker(text: string): Checker {
  const config = parseOk(text);
  const checker = config.virtualServers[0]?.realServers[0]?.checkers[0];
  expect(checker).toBeDefined();
  return checker!;
}

describe('virtual_server defaults', () => {
  it('fills lb_algo wlc, lb_kind NAT, protocol UDP (as keepalived 2.2.7 does), with its warnings', () => {
    const result = parse(minimalVs(''));
    expect(messages(result, 'warnings')).toEqual([
      "/etc/keepalived/keepalived.conf:2:1: warning: virtual_server 10.0.0.1 80: no scheduler set, setting default 'wlc'",
      '/etc/keepalived/keepalived.conf:2:1: warning: virtual_server 10.0.0.1 80: no forwarding method set, setting default NAT',
      '/etc/keepalived/keepalived.conf:2:1: warning: virtual_server 10.0.0.1 80: no protocol set - defaulting to UDP',
    ]);
    if (!result.ok) return;
    const vs = result.config.virtualServers[0]!;
    expect(vs.lbAlgo).toBe('wlc');
    expect(vs.lbKind).toBe('NAT');
    expect(vs.forwarding).toEqual({ kind: 'NAT' });
    expect(vs.protocol).toBe('UDP');
    expect(vs.key).toEqual({ kind: 'address', protocol: 'UDP', address: '10.0.0.1', port: 80 });
    expect(vs.family).toBe('inet');
    expect(vs.delayLoopMs).toBe(60_000);
    expect(vs.quorum).toBe(1);
    expect(vs.hysteresis).toBe(0);
    expect(vs.persistenceTimeoutSec).toBeUndefined();
    expect(vs.alpha).toBe(false);
    expect(vs.omega).toBe(false);
  });

  it('takes the protocol as written', () => {
    const vs = parseOk(minimalVs('protocol tcp')).virtualServers[0]!;
    expect(vs.key).toMatchObject({ protocol: 'TCP' });
    expect(parseOk(minimalVs('protocol SCTP')).virtualServers[0]!.protocol).toBe('SCTP');
  });

  it('ignores, with a warning, a virtual server without real servers (as keepalived does)', () => {
    const result = parse('virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  sorry_server 10.0.0.9 80\n}');
    expect(result.ok && result.config.virtualServers).toEqual([]);
    expect(messages(result, 'warnings')).toEqual(['/etc/keepalived/keepalived.conf:1:1: warning: virtual_server 10.0.0.1 80 has no real servers - ignoring']);
  });

  it('accepts lvs_sched and lvs_method as synonyms of lb_algo and lb_kind', () => {
    const a = parseOk(minimalVs('lb_algo rr\nlb_kind DR')).virtualServers[0]!;
    const b = parseOk(minimalVs('lvs_sched rr\nlvs_method DR')).virtualServers[0]!;
    expect(a.lbAlgo).toBe('rr');
    expect(b.lbAlgo).toBe('rr');
    expect(a.lbKind).toBe('DR');
    expect(b.lbKind).toBe('DR');
  });

  it('gives persistence_timeout without a value keepalived\'s 6 minutes', () => {
    expect(parseOk(minimalVs('persistence_timeout')).virtualServers[0]!.persistenceTimeoutSec).toBe(360);
    expect(parseOk(minimalVs('persistence_timeout 50')).virtualServers[0]!.persistenceTimeoutSec).toBe(50);
  });

  it('takes fractional seconds for delay_loop', () => {
    expect(parseOk(minimalVs('delay_loop 0.5')).virtualServers[0]!.delayLoopMs).toBe(500);
  });

  it('parses lvs_method TUN with its tunnel options', () => {
    const vs = parseOk(minimalVs('lvs_method TUN type gue port 6080 csum')).virtualServers[0]!;
    expect(vs.forwarding).toEqual({ kind: 'TUN', tunnelType: 'gue', tunnelPort: 6080, tunnelChecksum: 'csum' });
  });

  it('maps scheduler flag synonyms onto the kernel flags', () => {
    const vs = parseOk(minimalVs('lb_algo sh\nsh-port\nsh-fallback')).virtualServers[0]!;
    expect(vs.schedulerFlags).toEqual({ flag1: true, flag2: true, flag3: false });
  });

  it('rejects an unknown scheduler with its location', () => {
    const result = parse(minimalVs('lb_algo fastest'));
    expect(result.ok).toBe(false);
    expect(messages(result, 'errors')).toEqual([
      "/etc/keepalived/keepalived.conf:3:9: error: 'lb_algo' expects one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh|twos, got 'fastest'",
    ]);
  });

  it('refuses a virtual server without a port unless it is persistent', () => {
    expect(parse(minimalVs('', '', '10.0.0.1')).ok).toBe(false);
    const vs = parseOk(minimalVs('persistence_timeout 30', '', '10.0.0.1')).virtualServers[0]!;
    expect(vs.key).toMatchObject({ kind: 'address', port: 0 });
  });

  it('warns and ignores the protocol of a fwmark service', () => {
    const result = parse('virtual_server fwmark 7 {\n protocol UDP\n real_server 10.1.1.1 { }\n}');
    expect(result.ok).toBe(true);
    expect(messages(result, 'warnings')).toContain('/etc/keepalived/keepalived.conf:2:11: warning: virtual_server fwmark 7: protocol specified for fwmark - protocol will be ignored');
    if (result.ok) expect(result.config.virtualServers[0]!.key).toEqual({ kind: 'fwmark', fwmark: 7 });
  });

  it('canonicalises IPv6 addresses and takes the family from them', () => {
    const vs = parseOk(`virtual_server 2001:DB8:0:0::1 443 { real_server 2001:db8::a:0:0:10 443 { } }`).virtualServers[0]!;
    expect(vs.family).toBe('inet6');
    expect(vs.key).toMatchObject({ address: '2001:db8::1' });
    expect(vs.realServers[0]!.address).toBe('2001:db8::a:0:0:10');
  });
});

describe('real_server defaults and fix-ups', () => {
  it('weight defaults to 1, inhibit_on_failure is inherited from the virtual server', () => {
    const rs = parseOk(minimalVs('inhibit_on_failure')).virtualServers[0]!.realServers[0]!;
    expect(rs.weight).toBe(1);
    expect(rs.inhibitOnFailure).toBe(true);
    expect(rs.forwarding).toEqual({ kind: 'NAT' });
  });

  it('drops a duplicate real server with a warning that names its line', () => {
    const text = `virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 192.168.1.10 80 { weight 2 }
  real_server 192.168.1.10 80 { weight 3 }
}`;
    const result = parse(text);
    expect(result.ok).toBe(true);
    expect(messages(result, 'warnings')).toEqual([
      '/etc/keepalived/keepalived.conf:6:3: warning: real server 192.168.1.10 port 80 is duplicated - removing second rs',
    ]);
    if (result.ok) expect(result.config.virtualServers[0]!.realServers.map((r) => r.weight)).toEqual([2]);
  });

  it('resets a DR real server port to the virtual server port, with a warning', () => {
    const result = parse(`virtual_server 10.0.0.1 80 {
  lb_kind DR
  real_server 192.168.1.10 8080 { TCP_CHECK { } }
}`);
    expect(result.ok).toBe(true);
    expect(messages(result, 'warnings')).toContain(
      '/etc/keepalived/keepalived.conf:3:3: warning: real server 192.168.1.10 port 8080 is ignored for DR, using the virtual server port 80',
    );
    if (!result.ok) return;
    const rs = result.config.virtualServers[0]!.realServers[0]!;
    expect(rs.port).toBe(80);
    // The health check still goes where the operator pointed it.
    expect(rs.checkers[0]).toMatchObject({ connection: { connectPort: 8080 } });
  });

  it('clears the port of a DR or TUN real server and sorry server of an fwmark service, as keepalived does; NAT keeps it', () => {
    const result = parse(`virtual_server fwmark 2 {
  lb_kind DR
  sorry_server 192.168.1.99 80
  real_server 192.168.1.10 80 { TCP_CHECK { } }
  real_server 192.168.1.11 8080 { lvs_method NAT }
}`);
    expect(messages(result, 'warnings')).toEqual(expect.arrayContaining([
      '/etc/keepalived/keepalived.conf:4:3: warning: real server 192.168.1.10 port 80 is ignored for an fwmark service with DR - clearing',
      '/etc/keepalived/keepalived.conf:3:3: warning: sorry server 192.168.1.99 port 80 is ignored for an fwmark service with DR - clearing',
    ]));
    if (!result.ok) return;
    const vs = result.config.virtualServers[0]!;
    expect(vs.realServers.map((rs) => rs.port)).toEqual([0, 8080]);
    expect(vs.sorryServer?.port).toBe(0);
    expect(vs.realServers[0]!.checkers[0]).toMatchObject({ connection: { connectPort: 80 } });
  });

  it('resets a DR sorry server port to the virtual server port', () => {
    const vs = parseOk('virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_kind DR\n  sorry_server 192.168.1.99 8080\n  real_server 192.168.1.10 80 { }\n}').virtualServers[0]!;
    expect(vs.sorryServer?.port).toBe(80);
  });

  it('makes persistence_granularity alone persistent at the default 360 s, and keeps a timeout set before or after', () => {
    const timeoutOf = (body: string) => parseOk(minimalVs(`protocol TCP\nlb_algo rr\nlb_kind NAT\n${body}`)).virtualServers[0]!.persistenceTimeoutSec;
    expect(timeoutOf('persistence_granularity 255.255.0.0')).toBe(360);
    expect(timeoutOf('persistence_granularity 255.255.0.0\npersistence_timeout 100')).toBe(100);
    expect(timeoutOf('persistence_timeout 100\npersistence_granularity 255.255.0.0')).toBe(100);
    expect(parseOk('virtual_server 10.0.0.1 {\n persistence_granularity 255.255.255.0\n real_server 10.0.0.9 80 { }\n}').virtualServers[0]!.persistenceTimeoutSec).toBe(360);
  });

  it('adds the real servers of a virtual_server declared again to the first, as keepalived programs it', () => {
    const block = (algo: string, servers: string) => `virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lb_algo ${algo}\n  lb_kind NAT\n${servers}}\n`;
    const result = parse(
      block('rr', '  real_server 10.0.1.1 80 { weight 1 }\n  real_server 10.0.1.2 80 { weight 2 }\n') +
        block('wlc', '  real_server 10.0.1.2 80 { weight 5 }\n  real_server 10.0.1.3 80 { weight 3 }\n'),
    );
    expect(messages(result, 'warnings')).toEqual([
      '/etc/keepalived/keepalived.conf:8:1: warning: virtual_server TCP 10.0.0.1:80 duplicates the one at line 1 of /etc/keepalived/keepalived.conf: its real servers join that service, its other settings are ignored',
      '/etc/keepalived/keepalived.conf:12:3: warning: real server 10.0.1.2 port 80 is already in virtual_server TCP 10.0.0.1:80 at line 1 - ignored',
    ]);
    if (!result.ok) return;
    expect(result.config.virtualServers).toHaveLength(1);
    const vs = result.config.virtualServers[0]!;
    expect(vs.lbAlgo).toBe('rr');
    expect(vs.realServers.map((rs) => `${rs.address} ${rs.weight}`)).toEqual(['10.0.1.1 1', '10.0.1.2 2', '10.0.1.3 3']);
  });

  it("gives real servers without a weight the virtual_server's weight, as keepalived 2.2.7 does", () => {
    const vs = parseOk(minimalVs('  protocol TCP\n  weight 4', '', '10.0.0.1 80').replace('}\n}', '}\n  real_server 192.168.1.11 80 { weight 2 }\n}')).virtualServers[0]!;
    expect(vs.realServers.map((rs) => rs.weight)).toEqual([4, 2]);
    expect(parse(minimalVs('  protocol TCP\n  weight 0')).ok).toBe(false);
  });

  it('clears ha_suspend on an fwmark service and warns that a group with it is never checked, as keepalived 2.2.7 behaves', () => {
    const fwmark = parse(minimalVs('  ha_suspend', '', 'fwmark 3'));
    expect(messages(fwmark, 'warnings')).toEqual(expect.arrayContaining([expect.stringMatching(/keepalived\.conf:3:3: warning: .*cannot use ha_suspend with fwmarks - clearing ha_suspend$/)]));
    expect(fwmark.ok && fwmark.config.virtualServers[0]!.haSuspend).toBe(false);
    const group = parse(`virtual_server_group G {\n  10.0.0.1 80\n}\n${minimalVs('  protocol TCP\n  ha_suspend', '', 'group G')}`);
    expect(messages(group, 'warnings')).toEqual(expect.arrayContaining([expect.stringMatching(/ha_suspend on a virtual_server_group: keepalived 2\.2\.7 never finds a group's addresses/)]));
    expect(group.ok && group.config.virtualServers[0]!.haSuspend).toBe(true);
  });

  it('sets alpha, omega, ha_suspend, inhibit_on_failure and ops of a virtual_server whatever their argument, as keepalived 2.2.7 reads none', () => {
    const result = parse(minimalVs('  protocol UDP\n  alpha no\n  omega no\n  ha_suspend no\n  inhibit_on_failure no\n  ops no'));
    expect(messages(result, 'warnings')).toEqual(expect.arrayContaining([
      "/etc/keepalived/keepalived.conf:4:9: warning: 'alpha no' sets alpha: keepalived 2.2.7 reads no argument after alpha in a virtual_server",
      "/etc/keepalived/keepalived.conf:7:22: warning: 'inhibit_on_failure no' sets inhibit_on_failure: keepalived 2.2.7 reads no argument after inhibit_on_failure in a virtual_server",
    ]));
    if (!result.ok) return;
    const vs = result.config.virtualServers[0]!;
    expect([vs.omega, vs.haSuspend, vs.ops, vs.inhibitOnFailure]).toEqual([true, true, true, true]);
    expect([vs.realServers[0]!.alpha, vs.realServers[0]!.inhibitOnFailure]).toEqual([true, true]);
    // A real_server reads yes and no.
    const rs = parseOk(minimalVs('  protocol TCP\n  alpha\n  inhibit_on_failure', '    alpha no\n    inhibit_on_failure no')).virtualServers[0]!.realServers[0]!;
    expect([rs.alpha, rs.inhibitOnFailure]).toEqual([false, false]);
  });

  it('ignores sorry_server_inhibit and sorry_server_lvs_method written before sorry_server, and reads no argument after sorry_server_inhibit', () => {
    const sorryOf = (body: string) => parseOk(minimalVs(`  protocol TCP\n  lb_kind NAT\n${body}`)).virtualServers[0]!.sorryServer!;
    expect(sorryOf('  sorry_server_inhibit\n  sorry_server_lvs_method DR\n  sorry_server 192.168.1.99 80')).toMatchObject({ inhibit: false, forwarding: { kind: 'NAT' } });
    expect(sorryOf('  sorry_server 192.168.1.99 80\n  sorry_server_inhibit no\n  sorry_server_lvs_method DR')).toMatchObject({ inhibit: true, forwarding: { kind: 'DR' } });
  });

  it('reads sh-port and sh-fallback only after lb_algo sh, and mh-* only after mh, as keepalived 2.2.7 does', () => {
    const flagsOf = (body: string) => {
      const vs = parseOk(minimalVs(`  protocol TCP\n${body}`)).virtualServers[0]!;
      return [vs.lbAlgo, vs.schedulerFlags];
    };
    expect(flagsOf('  lb_algo sh\n  sh-port\n  sh-fallback')).toEqual(['sh', { flag1: true, flag2: true, flag3: false }]);
    expect(flagsOf('  sh-port\n  lb_algo sh')).toEqual(['sh', { flag1: false, flag2: false, flag3: false }]);
    expect(flagsOf('  lb_algo rr\n  mh-fallback\n  flag-3')).toEqual(['rr', { flag1: false, flag2: false, flag3: true }]);
    expect(flagsOf('  lb_algo mh\n  mh-fallback\n  sh-port')).toEqual(['mh', { flag1: true, flag2: false, flag3: false }]);
  });

  it('gives a real server or sorry server the lb_kind in force when it was read, as keepalived copies it then', () => {
    const vs = parseOk(`virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_kind DR
  sorry_server 192.168.1.99 80
  real_server 192.168.1.10 80 { }
  lb_kind TUN
  real_server 192.168.1.11 80 { }
}`).virtualServers[0]!;
    expect(vs.realServers.map((rs) => rs.forwarding.kind)).toEqual(['DR', 'TUN']);
    expect(vs.sorryServer?.forwarding.kind).toBe('DR');
    expect(vs.forwarding.kind).toBe('TUN');
  });

  it('uses the virtual server port when a real server has none', () => {
    expect(parseOk('virtual_server 10.0.0.1 80 { real_server 10.0.0.9 { } }').virtualServers[0]!.realServers[0]!.port).toBe(80);
  });

  it('refuses a NAT real server of another address family', () => {
    const result = parse('virtual_server 10.0.0.1 80 { real_server 2001:db8::1 80 { } }');
    expect(result.ok).toBe(false);
  });
});

describe('checker defaults and inheritance', () => {
  it('connect_ip/port default to the real server, connect_timeout 5 s, retry 1, delay_before_retry 3 s for HTTP', () => {
    const checker = onlyChecker(minimalVs('', 'HTTP_GET { url { path / } }')) as HttpCheck;
    expect(checker.kind).toBe('HTTP_GET');
    expect(checker.connection).toEqual({ connectIp: '192.168.1.10', connectPort: 80, family: 'inet', connectTimeoutMs: 5000 });
    expect(checker.timing).toEqual({
      delayLoopMs: 60_000, warmupMs: 60_000, retry: 1, delayBeforeRetryMs: 3000, alpha: false, logAllFailures: false,
    });
    expect(checker.urls[0]!.statusCodes).toEqual([{ from: 200, to: 299 }]);
    expect(checker.httpProtocol).toBe('1.0');
  });

  it('inherits connect_timeout, retry, delay_loop and virtualhost from the virtual server, then the real server', () => {
    const text = minimalVs(
      'connect_timeout 7\nretry 4\ndelay_loop 10\nvirtualhost vs.example',
      'connect_timeout 2.5\nHTTP_GET { url { path / } }',
    );
    const checker = onlyChecker(text) as HttpCheck;
    expect(checker.connection.connectTimeoutMs).toBe(2500);
    expect(checker.timing.retry).toBe(4);
    expect(checker.timing.delayLoopMs).toBe(10_000);
    expect(checker.virtualhost).toBe('vs.example');
  });

  it('has keepalived\'s per-checker retry and delay_before_retry defaults', () => {
    const rs = parseOk(minimalVs('delay_loop 20', `
      TCP_CHECK { }
      DNS_CHECK { }
      MISC_CHECK { misc_path /bin/true }
      PING_CHECK { }`)).virtualServers[0]!.realServers[0]!;
    const byKind = Object.fromEntries(rs.checkers.map((c) => [c.kind, c.timing]));
    expect(byKind.TCP_CHECK).toMatchObject({ retry: 1, delayBeforeRetryMs: 1000 });
    expect(byKind.DNS_CHECK).toMatchObject({ retry: 3, delayBeforeRetryMs: 20_000 });
    expect(byKind.MISC_CHECK).toMatchObject({ retry: 0, delayBeforeRetryMs: 1000 });
    const misc = rs.checkers.find((c) => c.kind === 'MISC_CHECK');
    expect(misc).toMatchObject({ script: { command: '/bin/true' }, timeoutMs: 20_000, dynamic: false });
    expect(rs.checkers.find((c) => c.kind === 'DNS_CHECK')).toMatchObject({ type: 'SOA', name: '.' });
  });

  it('expands SMTP_CHECK host blocks into one checker each; helo_name defaults to keepalived\'s, not smtp_helo_name', () => {
    const rs = parseOk(`global_defs { smtp_helo_name mx.example }
${minimalVs('', `SMTP_CHECK {
  retry 2
  host {
    connect_ip 10.9.9.9
    connect_port 587
    connect_timeout 4
  }
  host {
    connect_ip 10.9.9.8
    connect_timeout 3
  }
}`)}`).virtualServers[0]!.realServers[0]!;
    expect(rs.checkers.map((c) => c.kind === 'SMTP_CHECK' && [c.connection.connectIp, c.connection.connectPort, c.connection.connectTimeoutMs, c.timing.retry, c.heloName]))
      .toEqual([['10.9.9.9', 587, 4000, 2, 'smtpchecker.keepalived.org'], ['10.9.9.8', 80, 3000, 2, 'smtpchecker.keepalived.org']]);
  });

  it("gives an SMTP_CHECK host its own connection from the real server, not the block's, and makes the host's other settings the whole checker's (keepalived 2.2.7's dump)", () => {
    const rs = parseOk(minimalVs('', `SMTP_CHECK {
  connect_ip 10.9.9.20
  connect_port 25
  bindto 10.9.9.254
  retry 3
  host {
    connect_timeout 2
    retry 5
    delay_loop 7
  }
  warmup 0
}`)).virtualServers[0]!.realServers[0]!;
    expect(rs.checkers.map((c) => c.kind === 'SMTP_CHECK' && [c.connection.connectIp, c.connection.connectPort, c.connection.bindTo, c.connection.connectTimeoutMs, c.timing.retry, c.timing.delayLoopMs, c.timing.warmupMs]))
      .toEqual([['10.9.9.20', 25, '10.9.9.254', 5000, 5, 7000, 0], ['192.168.1.10', 80, undefined, 2000, 5, 7000, 0]]);
  });

  it('checks the real server too when the SMTP_CHECK block has a connection setting besides its hosts (keepalived 2.2.7)', () => {
    const result = parse(minimalVs('', `SMTP_CHECK {
  connect_timeout 9
  host {
    connect_ip 10.9.9.9
    connect_timeout 2
  }
  host {
    connect_ip 10.9.9.8
  }
}`));
    if (!result.ok) throw new Error('rejected');
    const rs = result.config.virtualServers[0]!.realServers[0]!;
    expect(rs.checkers.map((c) => c.kind === 'SMTP_CHECK' && [c.connection.connectIp, c.connection.connectPort, c.connection.connectTimeoutMs]))
      .toEqual([['192.168.1.10', 80, 9000], ['10.9.9.9', 80, 2000], ['10.9.9.8', 80, 9000]]);
    // keepalived times the second host out at once, whatever the server does.
    expect(messages(result, 'warnings').filter((m) => m.includes('SMTP_CHECK'))).toEqual([
      "/etc/keepalived/keepalived.conf:11:3: warning: SMTP_CHECK host without its own connect_timeout: keepalived 2.2.7 gives it a 0 s timeout, so there the check always fails; lvsd uses the checker's connect_timeout",
    ]);
  });

  it('sets misc_dynamic whatever follows it, and takes a MISC_CHECK user before misc_path, as keepalived 2.2.7 does (its dump: dynamic = YES, uid:gid = 65534:65534)', () => {
    const result = parse(minimalVs('', 'MISC_CHECK {\n user nobody nogroup\n misc_path /bin/true\n misc_dynamic no\n }'));
    expect(messages(result, 'warnings')).toContain(
      "/etc/keepalived/keepalived.conf:8:15: warning: 'misc_dynamic no' sets misc_dynamic: keepalived 2.2.7 reads no argument after misc_dynamic in a MISC_CHECK",
    );
    if (!result.ok) throw new Error(messages(result, 'errors').join('\n'));
    expect(result.config.virtualServers[0]!.realServers[0]!.checkers[0]).toMatchObject({ script: { command: '/bin/true', user: 'nobody', group: 'nogroup' }, dynamic: true });
  });

  it('reads log_all_failures in MISC_CHECK too, as keepalived 2.2.7 installs it there', () => {
    const result = parse(minimalVs('', 'MISC_CHECK {\n misc_path /bin/true\n log_all_failures\n }'));
    expect(messages(result, 'warnings').filter((m) => m.includes('log_all_failures'))).toEqual([]);
    if (!result.ok) throw new Error(messages(result, 'errors').join('\n'));
    expect(result.config.virtualServers[0]!.realServers[0]!.checkers[0]!.timing.logAllFailures).toBe(true);
  });

  it('reads enable_sni in HTTP_GET too, as keepalived 2.2.7 installs it there', () => {
    const result = parse(minimalVs('', 'HTTP_GET {\n enable_sni\n url {\n path /\n }\n }'));
    expect(messages(result, 'warnings').filter((m) => m.includes('enable_sni'))).toEqual([]);
  });

  it('normalises UDP_CHECK hex payloads the way keepalived reads them', () => {
    const checker = onlyChecker(minimalVs('', 'UDP_CHECK { payload Ab12f 3 456 546443123\n require_reply 0x }'));
    expect(checker).toMatchObject({ payload: 'ab120f0345065464431203', requireReply: true, requireReplyPattern: '0x', minReplyLength: 0, maxReplyLength: 255 });
  });

  it('parses status_code ranges and lower-cases digests', () => {
    const checker = onlyChecker(minimalVs('', 'SSL_GET {\n url {\n path /x\n status_code 200-299 503\n digest FF20AD2481F97B1754EF3E12ECD3A9CC\n }\n }')) as HttpCheck;
    expect(checker.urls[0]).toMatchObject({ path: '/x', digest: 'ff20ad2481f97b1754ef3e12ecd3a9cc', statusCodes: [{ from: 200, to: 299 }, { from: 503, to: 503 }] });
  });

  it('resolves FILE_CHECK weight from its track_file', () => {
    const checker = onlyChecker(`track_file tf {\n  file /run/weight\n  weight 5\n}\n${minimalVs('', 'FILE_CHECK { track_file tf }')}`);
    expect(checker).toMatchObject({ kind: 'FILE_CHECK', trackFile: 'tf', weight: 5, reverse: false });
    expect(parse(minimalVs('', 'FILE_CHECK { track_file nope }')).ok).toBe(false);
  });

  it("takes a track_file's reverse with its weight, unless FILE_CHECK has a weight of its own (keepalived 2.2.7 dumps weight 2 reverse, and weight 1)", () => {
    const trackFile = 'track_file tf {\n  file /run/weight\n  weight 2 reverse\n}\n';
    expect(onlyChecker(trackFile + minimalVs('', 'FILE_CHECK { track_file tf }'))).toMatchObject({ weight: 2, reverse: true });
    expect(onlyChecker(trackFile + minimalVs('', 'FILE_CHECK {\n track_file tf\n weight 1\n }'))).toMatchObject({ weight: 1, reverse: false });
  });
});

describe('virtual_server_group', () => {
  it('expands ranges and CIDR, keeps fwmarks, and resolves the family of a group service', () => {
    const config = parseOk(`virtual_server_group G {
  192.168.200.3-10 80
  10.1.0.0/30 443
  ae00::2-9 80
  fwmark 2
}
virtual_server group G { real_server 10.0.0.5 80 { } }`);
    const group = config.virtualServerGroups[0]!;
    expect(group.entries.map((e) => (e.kind === 'range' ? [e.first, e.last, e.port] : ['fwmark', e.fwmark]))).toEqual([
      ['192.168.200.3', '192.168.200.10', 80],
      ['10.1.0.0', '10.1.0.3', 443],
      ['ae00::2', 'ae00::9', 80],
      ['fwmark', 2],
    ]);
    expect(config.virtualServers[0]).toMatchObject({ key: { kind: 'group', group: 'G' }, family: 'inet' });
  });

  it('ignores, with a warning, a virtual server naming an undefined group', () => {
    const result = parse('virtual_server group NOPE {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  real_server 10.0.0.5 80 {\n  }\n}');
    expect(result.ok && result.config.virtualServers).toEqual([]);
    expect(messages(result, 'warnings')).toEqual([
      "/etc/keepalived/keepalived.conf:1:22: warning: virtual_server_group 'NOPE' is not defined - virtual server ignored",
    ]);
  });
});

describe('global_defs and vrrp defaults', () => {
  it('defaults router_id, smtp helo and email from to the host name', () => {
    const g = parseOk('').globalDefs;
    expect(g.routerId).toBe(HOST);
    expect(g.smtpHeloName).toBe(HOST);
    expect(g.notificationEmailFrom).toBe(`keepalived@${HOST}`);
    expect(g.smtpConnectTimeoutMs).toBe(30_000);
    expect(g.lvsFlush).toBe(false);
    expect(g.vrrp).toMatchObject({ mcastGroup4: '224.0.0.18', mcastGroup6: 'ff02::12', version: 2, garpMasterDelayMs: 5000 });
  });

  it('reads lvs_flush, lvs_sync_daemon, script security', () => {
    const g = parseOk(`global_defs {
  lvs_flush
  lvs_flush_onstop VS
  lvs_sync_daemon eth1 VI_1 id 5 port 8850
  enable_script_security
  script_user nobody nogroup
  notification_email { a@x b@y }
}
vrrp_instance VI_1 {
  virtual_router_id 1
  virtual_ipaddress { 10.9.0.1 }
}`).globalDefs;
    expect(g).toMatchObject({
      lvsFlush: true, lvsFlushOnstop: 'VS', enableScriptSecurity: true, scriptUser: { user: 'nobody', group: 'nogroup' },
      notificationEmail: ['a@x', 'b@y'],
    });
    expect(g.lvsSyncDaemon).toMatchObject({ interface: 'eth1', vrrpInstance: 'VI_1', syncId: 5, port: 8850, group: '224.0.0.81' });
  });

  it('vrrp_instance: BACKUP, priority 100, advert 1 s, version from global_defs, v3 for IPv6', () => {
    const config = parseOk(`global_defs { vrrp_version 3 }
vrrp_instance A {
  virtual_router_id 1
  virtual_ipaddress { 10.0.0.1/24 dev eth1 label eth1:vip }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 2
  virtual_ipaddress { fe80::1 }
}`);
    const [a, b] = config.vrrpInstances;
    expect(a).toMatchObject({ state: 'BACKUP', priority: 100, advertIntMs: 1000, version: 3, family: 'inet', nopreempt: false });
    expect(a!.virtualIpaddresses[0]).toMatchObject({ address: '10.0.0.1', prefixLength: 24, device: 'eth1', label: 'eth1:vip' });
    expect(b).toMatchObject({ version: 3, family: 'inet6' });
    expect(b!.virtualIpaddresses[0]!.prefixLength).toBe(128);
  });

  it('clears preempt_delay of an instance that starts as master (state MASTER, or priority 255 without a state), as keepalived does', () => {
    const config = parseOk(`vrrp_instance A {
  interface eth0
  virtual_router_id 1
  state MASTER
  priority 100
  preempt_delay 5
  virtual_ipaddress { 10.0.0.1/24 }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 2
  priority 255
  preempt_delay 5
  virtual_ipaddress { 10.0.0.2/24 }
}
vrrp_instance C {
  interface eth0
  virtual_router_id 3
  preempt_delay 5
  virtual_ipaddress { 10.0.0.3/24 }
}
vrrp_instance D {
  interface eth0
  virtual_router_id 4
  state BACKUP
  priority 255
  preempt_delay 5
  virtual_ipaddress { 10.0.0.4/24 }
}`);
    expect(config.vrrpInstances.map((instance) => instance.preemptDelayMs)).toEqual([0, 0, 5000, 5000]);
    // keepalived's wanted state: an address owner without a state wants MASTER.
    expect(config.vrrpInstances.map((instance) => instance.state)).toEqual(['MASTER', 'MASTER', 'BACKUP', 'BACKUP']);
  });

  it("sets skip_check_adv_addr for 'false' too, in an instance and in global_defs, as keepalived 2.2.7 does, with a warning at the word", () => {
    const text = (global: string, instance: string) => `global_defs {\n${global}\n}\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n${instance}\n  virtual_ipaddress { 10.0.0.1/24 }\n}`;
    const local = parse(text('', '  skip_check_adv_addr false'));
    expect(local.ok && local.config.vrrpInstances[0]!.skipCheckAdvAddr).toBe(true);
    expect(messages(local, 'warnings')).toContain('/etc/keepalived/keepalived.conf:7:23: warning: (A) skip_check_adv_addr false: keepalived 2.2.7 sets it all the same, and so does lvsd');
    const global = parse(text('  vrrp_skip_check_adv_addr false', ''));
    expect(global.ok && global.config.vrrpInstances[0]!.skipCheckAdvAddr).toBe(true);
    expect(messages(global, 'warnings')).toContain('/etc/keepalived/keepalived.conf:2:28: warning: vrrp_skip_check_adv_addr false: keepalived 2.2.7 ignores the argument and sets it, and so does lvsd');
    expect(parseOk(text('', '')).vrrpInstances[0]!.skipCheckAdvAddr).toBe(false);
  });

  it('reads mcast_dst_ip and vrrp_mcast_group4/6 with the checks keepalived 2.2.7 makes', () => {
    const instance = (lines: string, vip = '10.0.0.1/24') => `vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n${lines}\n  virtual_ipaddress { ${vip} }\n}`;
    expect(parseOk(instance('  mcast_dst_ip 224.0.0.100')).vrrpInstances[0]!.mcastDstIp).toBe('224.0.0.100');
    expect(messages(parse(instance('  mcast_dst_ip 10.0.0.9')), 'errors')).toEqual(['/etc/keepalived/keepalived.conf:4:16: error: (A) mcast_dst_ip 10.0.0.9 not multicast']);
    expect(messages(parse(instance('  mcast_dst_ip ff05::12', '2001:db8::1/64')), 'errors')).toEqual(['/etc/keepalived/keepalived.conf:4:16: error: (A) mcast_dst_ip ff05::12 not link-local multicast']);
    const otherFamily = parse(instance('  mcast_dst_ip ff02::100'));
    expect(otherFamily.ok && otherFamily.config.vrrpInstances[0]!.mcastDstIp).toBeUndefined();
    expect(messages(otherFamily, 'warnings')).toEqual(['/etc/keepalived/keepalived.conf:4:3: warning: (A) mcast dest address ff02::100 MUST match VRRP instance family. Skipping...']);
    const unicast = parse(instance('  mcast_dst_ip 224.0.0.100\n  unicast_peer {\n    10.0.0.2\n  }'));
    expect(unicast.ok && unicast.config.vrrpInstances[0]!.mcastDstIp).toBeUndefined();
    expect(messages(unicast, 'warnings')).toEqual(['/etc/keepalived/keepalived.conf:4:3: warning: (A) multicast destination specified with unicast - ignoring']);
    expect(parseOk('global_defs {\n  vrrp_mcast_group4 224.0.0.100\n  vrrp_mcast_group6 ff02::100\n}').globalDefs.vrrp).toMatchObject({ mcastGroup4: '224.0.0.100', mcastGroup6: 'ff02::100' });
    expect(messages(parse('global_defs {\n  vrrp_mcast_group4 10.0.0.1\n}'), 'errors')).toEqual(['/etc/keepalived/keepalived.conf:2:21: error: vrrp_mcast_group4 [10.0.0.1] is not multicast']);
    expect(messages(parse('global_defs {\n  vrrp_mcast_group6 ff05::12\n}'), 'warnings')).toEqual(['/etc/keepalived/keepalived.conf:2:21: warning: vrrp_mcast_group6 [ff05::12] should be link-local multicast.']);
  });

  it('clears promote_secondaries with use_vmac, whose vmac has it anyway, with keepalived 2.2.7\'s message', () => {
    const instance = (lines: string) => `vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n${lines}\n  virtual_ipaddress { 10.0.0.1/24 }\n}`;
    expect(parseOk(instance('  promote_secondaries')).vrrpInstances[0]!.promoteSecondaries).toBe(true);
    const vmac = parse(instance('  promote_secondaries\n  use_vmac'));
    expect(vmac.ok && vmac.config.vrrpInstances[0]!.promoteSecondaries).toBe(false);
    expect(messages(vmac, 'warnings')).toEqual(['/etc/keepalived/keepalived.conf:4:3: warning: (A) promote_secondaries is automatically set for vmacs - ignoring']);
  });

  it('reads kernel_rx_buf_size as keepalived 2.2.7 does: one unsigned number, 0 without it', () => {
    const instance = (lines: string) => `vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n${lines}\n  virtual_ipaddress { 10.0.0.1/24 }\n}`;
    expect(parseOk(instance('  kernel_rx_buf_size 65536')).vrrpInstances[0]!.kernelRxBufSize).toBe(65536);
    expect(parseOk(instance('')).vrrpInstances[0]!.kernelRxBufSize).toBe(0);
    expect(messages(parse(instance('  kernel_rx_buf_size 1 2')), 'errors')).toEqual(['/etc/keepalived/keepalived.conf:4:3: error: (A) invalid kernel_rx_buf_size specified']);
  });

  it('reads old_unicast_checksum [never] as keepalived 2.2.7 does, as a unicast keyword', () => {
    const instance = (lines: string) => `vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n${lines}\n  virtual_ipaddress { 10.0.0.1/24 }\n}`;
    const modes = ['', '  old_unicast_checksum', '  old_unicast_checksum never'].map((line) => parseOk(instance(line)).vrrpInstances[0]!.oldUnicastChecksum);
    expect(modes).toEqual(['detect', 'always', 'never']);
    expect(messages(parse(instance('  old_unicast_checksum sometimes')), 'errors')).toEqual(['/etc/keepalived/keepalived.conf:4:24: error: (A) Unknown old_unicast_chksum mode sometimes']);
    // Without a peer it is one of the unicast keywords that mean multicast, deprecated.
    expect(messages(parse(instance('  old_unicast_checksum')), 'warnings')[0]).toMatch(/A unicast keyword has been specified without any unicast peers/);
  });

  it('reads garp_extra_if [all] SECONDS, its deprecated vmac_garp_intvl and the global vrrp_garp_extra_if default, as keepalived 2.2.7 does', () => {
    const text = (global: string, lines: string) => `global_defs {\n${global}\n}\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n${lines}\n  virtual_ipaddress { 10.0.0.1/24 }\n}`;
    expect(parseOk(text('', '  garp_extra_if all 10')).vrrpInstances[0]!.garpExtraIf).toEqual({ seconds: 10, all: true });
    expect(parseOk(text('  vrrp_garp_extra_if 30', '')).vrrpInstances[0]!.garpExtraIf).toEqual({ seconds: 30, all: false });
    expect(parseOk(text('  vrrp_garp_extra_if all 30', '  garp_extra_if 5')).vrrpInstances[0]!.garpExtraIf).toEqual({ seconds: 5, all: false });
    const deprecated = parse(text('', '  vmac_garp_intvl 7'));
    expect(deprecated.ok && deprecated.config.vrrpInstances[0]!.garpExtraIf).toEqual({ seconds: 7, all: false });
    expect(messages(deprecated, 'warnings')).toEqual(['/etc/keepalived/keepalived.conf:7:3: warning: Keyword "vmac_garp_intvl" is deprecated - please use "garp_extra_if"']);
    expect(messages(parse(text('', '  garp_extra_if all')), 'errors')).toEqual(['/etc/keepalived/keepalived.conf:7:3: error: garp_extra_if specified without time']);
    expect(messages(parse(text('  vrrp_garp_extra_if 0', '')), 'errors')).toHaveLength(1);
  });

  it('sets vmac_xmit_base for use_vmac with any unicast keyword, peers or none, as keepalived 2.2.7 does', () => {
    const instance = (lines: string) => `vrrp_instance A {\n  interface eth0\n  virtual_router_id 1\n  use_vmac\n${lines}\n  virtual_ipaddress { 10.0.0.1/24 }\n}`;
    const xmitBase = (lines: string) => parseOk(instance(lines)).vrrpInstances[0]!.vmacXmitBase;
    expect([xmitBase(''), xmitBase('  unicast_src_ip 10.0.0.2'), xmitBase('  check_unicast_src'), xmitBase('  unicast_peer {\n    10.0.0.3\n  }')]).toEqual([false, true, true, true]);
    expect(messages(parse(instance('  unicast_src_ip 10.0.0.2')), 'warnings')).toContain('/etc/keepalived/keepalived.conf:1:1: warning: (A) unicast with use_vmac requires vmac_xmit_base - setting');
  });

  it('refuses a vrrp_instance without virtual_router_id', () => {
    expect(messages(parse('vrrp_instance X {\n  priority 50\n}'), 'errors')).toEqual([
      '/etc/keepalived/keepalived.conf:1:1: error: (X) virtual_router_id is not set',
    ]);
  });

  it('vrrp_script: interval 1 s, weight 0, rise/fall 1; unknown track_script warned and dropped', () => {
    const result = parse(`vrrp_script chk { script "/bin/check arg" }
vrrp_instance V {
  virtual_router_id 9
  virtual_ipaddress { 10.9.0.9 }
  track_script {
    chk weight 10
    missing
  }
}`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.vrrpScripts[0]).toMatchObject({ script: { command: '/bin/check arg' }, intervalMs: 1000, timeoutMs: 1000, weight: 0, rise: 1, fall: 1 });
    expect(result.config.vrrpInstances[0]!.trackScripts).toMatchObject([{ name: 'chk', weight: 10 }]);
    expect(messages(result, 'warnings')).toEqual([
      '/etc/keepalived/keepalived.conf:1:1: warning: SECURITY VIOLATION - scripts are being executed but script_security not enabled',
      '/etc/keepalived/keepalived.conf:7:5: warning: (V) track script missing not found, ignoring',
    ]);
  });

  it('links sync group members both ways', () => {
    const config = parseOk(`vrrp_sync_group G { group { A B } notify_master "/x.sh up" }
vrrp_instance A {
  virtual_router_id 1
  virtual_ipaddress { 10.9.0.1 }
}
vrrp_instance B {
  virtual_router_id 2
  virtual_ipaddress { 10.9.0.2 }
}`);
    expect(config.vrrpSyncGroups[0]).toMatchObject({ instances: ['A', 'B'], notify: { master: { command: '/x.sh up' } } });
    expect(config.vrrpInstances.map((i) => i.syncGroup)).toEqual(['G', 'G']);
  });
});
