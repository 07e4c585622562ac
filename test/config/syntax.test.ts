import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, parseConfigFile } from '../../src/config/index.ts';
import { messages, parse, parseOk } from './helpers.ts';

describe('lexical syntax', () => {
  it('strips ! and # comments but keeps them inside quotes', () => {
    const config = parseOk(`! comment
global_defs {   # trailing comment
  router_id "lvs # one"   ! another
}`);
    expect(config.globalDefs.routerId).toBe('lvs # one');
  });

  it('reads files with CRLF line endings', () => {
    const config = parseOk('global_defs {\r\n  router_id crlf\r\n}\r\nvirtual_server 10.0.0.1 80 {\r\n  real_server 10.0.0.2 80 {\r\n  }\r\n}\r\n');
    expect(config.globalDefs.routerId).toBe('crlf');
    expect(config.virtualServers[0]!.realServers[0]!.address).toBe('10.0.0.2');
  });

  it('accepts a block brace on the next line and a closing brace after content', () => {
    const config = parseOk(`virtual_server 10.0.0.1 80
{
  real_server 10.0.0.2 80
  {
    weight 3 }
}`);
    expect(config.virtualServers[0]!.realServers[0]!.weight).toBe(3);
  });

  it('reports an unclosed block at its opening brace', () => {
    expect(messages(parse('global_defs {\n  router_id x\n'), 'errors')).toEqual([
      "/etc/keepalived/keepalived.conf:1:13: error: block of 'global_defs' is never closed (missing '}')",
    ]);
  });

  it('reports an unterminated quote', () => {
    expect(messages(parse('global_defs {\n  router_id "abc\n}'), 'errors')[0]).toBe(
      '/etc/keepalived/keepalived.conf:2:13: error: unterminated quoted string',
    );
  });

  it('warns about unknown keywords with their position and carries on', () => {
    const result = parse('global_defs {\n    frobnicate 1\n    router_id r1\n}');
    expect(result.ok).toBe(true);
    expect(messages(result, 'warnings')).toEqual([
      "/etc/keepalived/keepalived.conf:2:5: warning: unknown keyword 'frobnicate' in global_defs, ignored",
    ]);
    if (result.ok) expect(result.config.globalDefs.routerId).toBe('r1');
  });

  it('reads one setting a line, as keepalived does, and points at a second setting on the line', () => {
    const result = parse(`virtual_server 10.0.0.1 80 {
  protocol TCP
  real_server 10.0.0.2 80 {
    TCP_CHECK { connect_timeout 3 retry 0 }
    MISC_CHECK {
      misc_path /usr/local/bin/check timeout 3
    }
  }
}`);
    expect(messages(result, 'warnings').filter((m) => m.includes('read as an argument'))).toEqual([
      "/etc/keepalived/keepalived.conf:4:35: warning: 'retry' is read as an argument of 'connect_timeout', not as a setting: one setting a line",
    ]);
    if (!result.ok) throw new Error('rejected');
    const [tcp] = result.config.virtualServers[0]!.realServers[0]!.checkers;
    expect(tcp?.kind === 'TCP_CHECK' && tcp.connection.connectTimeoutMs).toBe(3000);
    expect(tcp?.timing.retry).toBe(1);
  });

  it('applies @id and @^id conditional lines against the config id', () => {
    const text = `global_defs {
@main   router_id main_router
@backup router_id backup_router
}
vrrp_instance V {
  virtual_router_id 1
  virtual_ipaddress { 10.9.0.1 }
  unicast_peer {
    @^main   10.0.0.1
    @^backup 10.0.0.2
  }
}`;
    const main = parse(text, {}, 'main');
    const backup = parse(text, {}, 'backup');
    expect(main.ok && main.config.globalDefs.routerId).toBe('main_router');
    expect(main.ok && main.config.vrrpInstances[0]!.unicastPeers.map((p) => p.address)).toEqual(['10.0.0.2']);
    expect(backup.ok && backup.config.globalDefs.routerId).toBe('backup_router');
  });

  it('substitutes $NAME and ${NAME}, at use time, leaving undefined names alone', () => {
    const config = parseOk(`$BASE=10.2.\${SUB}
$SUB=0
$PRIO=150
vrrp_instance V {
  virtual_router_id 1
  priority $PRIO
  virtual_ipaddress {
    \${BASE}.100/32
  }
  notify_master "/bin/echo $UNDEFINED"
}`);
    const instance = config.vrrpInstances[0]!;
    expect(instance.priority).toBe(150);
    expect(instance.virtualIpaddresses[0]!.address).toBe('10.2.0.100');
    expect(instance.notify.master!.command).toBe('/bin/echo $UNDEFINED');
  });

  it('expands multi-line definitions into several statements', () => {
    const config = parseOk(`$RS= \\
real_server 192.168.0.\${N} 80 { \\
  weight \${N} \\
}
virtual_server 10.0.0.1 80 {
  $N=1
  $RS
  $N=2
  $RS
}`);
    expect(config.virtualServers[0]!.realServers.map((r) => [r.address, r.weight])).toEqual([
      ['192.168.0.1', 1],
      ['192.168.0.2', 2],
    ]);
  });

  it('refuses a recursive definition instead of looping', () => {
    const result = parse('$A=${A}x\nglobal_defs {\n router_id ${A}\n}');
    expect(messages(result, 'errors')[0]).toContain('recursive');
  });

  it('repeats lines with ~SEQ, ~SEQx and ~LST as the keepalived.conf man page shows', () => {
    const config = parseOk(`vrrp_instance V {
  virtual_router_id 1
  virtual_ipaddress {
    ~SEQ(SUBNET, 0, 3) 10.0.\${SUBNET}.1
    ~SEQx(AD2, 0x90, 0x10, 0xc0) ~SEQx(AD1, 0x12, -1, 0x11) fe81::10:\${AD2}:\${AD1}
    ~LST({IP, IP1}, {10,1},{20,4}) 192.168.\${IP}.\${IP1}
    ~SEQ(N, 2) 172.16.0.\${N}
  }
}`);
    expect(config.vrrpInstances[0]!.virtualIpaddresses.map((a) => a.address)).toEqual([
      '10.0.0.1', '10.0.1.1', '10.0.2.1', '10.0.3.1',
      '192.168.10.1', '192.168.20.4',
      '172.16.0.1', '172.16.0.2',
    ]);
  });

  it('repeats whole blocks with ~SEQ over a multi-line definition', () => {
    const result = parse(`$RS= \\
real_server 10.0.1.\${N} 80 { \\
}
virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  ~SEQ(N, 1, 3) $RS
  real_server 10.0.1.2 80 {
  }
}`);
    expect(result.ok && result.config.virtualServers[0]!.realServers.map((r) => r.address)).toEqual(['10.0.1.1', '10.0.1.2', '10.0.1.3']);
    expect(messages(result, 'warnings')).toEqual([
      '/etc/keepalived/keepalived.conf:9:3: warning: real server 10.0.1.2 port 80 is duplicated - removing second rs',
    ]);
  });

  it('refuses a malformed ~SEQ with its location', () => {
    expect(messages(parse('  ~SEQ(N, 1, 0, 3) x'), 'errors')).toEqual([
      '/etc/keepalived/keepalived.conf:1:3: error: ~SEQ: step 0 from 1 to 3 does not end in time',
    ]);
  });
});

describe('include', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-config-include-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (relative: string, text: string) => {
    const path = join(dir, relative);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    return path;
  };

  it('reads globbed files relative to the including file, in sorted order, and nested includes', () => {
    const main = write('main/keepalived.conf', 'global_defs {\n  router_id r\n}\ninclude conf.d/*.conf\n');
    write('main/conf.d/20-b.conf', 'virtual_server 10.0.0.2 80 {\n  real_server 10.1.0.2 80 {\n  }\n}\n');
    write('main/conf.d/10-a.conf', 'virtual_server 10.0.0.1 80 {\n  include ../rs/*.inc\n}\n');
    write('main/conf.d/skip.txt', 'this is not included');
    write('main/rs/one.inc', 'real_server 10.1.0.1 80 {\n  weight 7\n}\n');
    const result = parseConfigFile(main, { hostname: 'h' });
    if (!result.ok) expect.fail(result.errors.map(formatDiagnostic).join('\n'));
    expect(result.config.virtualServers.map((v) => v.key.kind === 'address' && v.key.address)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(result.config.virtualServers[0]!.realServers[0]!.weight).toBe(7);
    expect(result.config.files).toEqual([
      main, join(dir, 'main/conf.d/10-a.conf'), join(dir, 'main/rs/one.inc'), join(dir, 'main/conf.d/20-b.conf'),
    ]);
    expect(result.config.virtualServers[0]!.realServers[0]!.at).toEqual({ file: join(dir, 'main/rs/one.inc'), line: 1, column: 1 });
  });

  it('names the included file and line of an error, and rejects the whole config', () => {
    const main = write('bad/keepalived.conf', 'include vs.conf\nvirtual_server 10.0.0.9 80 {\n}\n');
    const included = write('bad/vs.conf', 'virtual_server 10.0.0.1 80 {\n  real_server 10.1.0.1 80 {\n    weight lots\n  }\n}\n');
    const result = parseConfigFile(main, { hostname: 'h' });
    expect(result.ok).toBe(false);
    expect(messages(result, 'errors')).toEqual([
      `${included}:3:12: error: 'weight' expects an integer in 0..2147483647, got 'lots'`,
    ]);
  });

  it('warns when a pattern matches nothing, and refuses include loops', () => {
    const lonely = write('lonely/keepalived.conf', 'include nothing-here/*.conf\n');
    const lonelyResult = parseConfigFile(lonely, { hostname: 'h' });
    expect(lonelyResult.ok).toBe(true);
    expect(messages(lonelyResult, 'warnings')[0]).toMatch(/:1:9: warning: no file matches include/);

    const loop = write('loop/a.conf', 'include b.conf\n');
    write('loop/b.conf', 'include a.conf\n');
    const loopResult = parseConfigFile(loop, { hostname: 'h' });
    expect(loopResult.ok).toBe(false);
    expect(messages(loopResult, 'errors')[0]).toContain('include loop');
  });

  it('rejects a file of binary data, main or included, with one error at its first NUL byte', () => {
    // Bytes of a fixed pseudo-random sequence: a config file swapped for a binary or an image.
    let state = 7;
    const noise = Buffer.from(Array.from({ length: 1 << 20 }, () => (state = (state * 1103515245 + 12345) % 2 ** 31) >> 23));
    const nul = noise.indexOf(0);
    const line = noise.subarray(0, nul).toString('latin1').split('\n').length;
    const binary = write('binary/noise.bin', '');
    writeFileSync(binary, noise);
    const expected = `${binary}:${line}:`;
    for (const file of [binary, write('binary/keepalived.conf', 'include noise.bin\nvirtual_server 10.0.0.1 80 {\n  real_server 10.1.0.1 80 { }\n}\n')]) {
      const result = parseConfigFile(file, { hostname: 'h' });
      expect(result.ok).toBe(false);
      expect(messages(result, 'errors')).toHaveLength(1);
      expect(messages(result, 'errors')[0]).toMatch(new RegExp(`^${expected}\\d+: error: not a configuration file: it holds binary data \\(a NUL byte\\)$`));
    }
  });

  it('reports an unreadable main file as an error, not an exception', () => {
    const result = parseConfigFile(join(dir, 'does-not-exist.conf'));
    expect(result.ok).toBe(false);
    expect(messages(result, 'errors')[0]).toContain('cannot read configuration file: ENOENT');
  });
});
