import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import type { KeepalivedConfig } from '../../src/config/model.ts';
import { checkSpecsFromConfig } from '../../src/healthcheck/from-config.ts';

const CONF = `
global_defs { smtp_helo_name director.test }
track_file maint {
  file /run/lvsd-maint
  weight 5
  init_file 3
}
virtual_server 192.0.2.10 80 {
  delay_loop 6
  lb_kind NAT
  real_server 10.1.0.1 8080 {
    weight 3
    SSL_GET {
      url {
        path /health
        digest 5eb63bbbe01eeed093cb22bb8f5acdc3
        status_code 200-204
      }
      url {
        path /text
        regex "^OK"
        regex_options caseless
        regex_no_match
      }
      connect_timeout 2
      retry 4
      delay_before_retry 1.5
      virtualhost www.example.test
      enable_sni
    }
    TCP_CHECK {
      connect_port 8081
      bindto 10.1.0.254
      alpha
    }
    MISC_CHECK {
      misc_path "/usr/local/bin/check 'a b' 2"
      misc_timeout 3
      misc_dynamic
    }
    FILE_CHECK {
      track_file maint
    }
  }
  real_server 10.1.0.2 8080 {
    SMTP_CHECK {
      connect_timeout 4
    }
    DNS_CHECK {
      type A
      name www.example.test
    }
    UDP_CHECK {
      require_reply cafe
    }
    PING_CHECK {
    }
  }
}
`;

function config(): KeepalivedConfig {
  const r = parseConfigText(CONF, '/etc/keepalived/keepalived.conf', () => '', () => [], { hostname: 'd1' });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.config;
}

const naming = { virtualServer: () => 'TCP 192.0.2.10:80', realServer: (rs: { address: string; port: number }) => `${rs.address}:${rs.port}` };

describe('checkSpecsFromConfig', () => {
  it('maps every checker with its inherited timing and connection', () => {
    const { specs } = checkSpecsFromConfig(config(), naming);
    expect(specs.map((s) => [s.virtualServer, s.realServer, s.weight, s.checkers.map((c) => c.id)])).toEqual([
      ['TCP 192.0.2.10:80', '10.1.0.1:8080', 3, ['SSL_GET#0', 'TCP_CHECK#1', 'MISC_CHECK#2', 'FILE_CHECK#3']],
      ['TCP 192.0.2.10:80', '10.1.0.2:8080', 1, ['SMTP_CHECK#0', 'DNS_CHECK#1', 'UDP_CHECK#2', 'PING_CHECK#3']],
    ]);
    const [http, tcp, misc, file] = specs[0]!.checkers;
    expect(http!.timing).toEqual({ delayLoopMs: 6000, retry: 4, delayBeforeRetryMs: 1500, alpha: false });
    expect(http!.probe).toMatchObject({
      kind: 'SSL_GET',
      options: { tls: true, host: '10.1.0.1', port: 8080, timeoutMs: 2000, virtualhost: 'www.example.test', httpProtocol: '1.0' },
    });
    const urls = http!.probe.kind === 'SSL_GET' ? http!.probe.options.urls : [];
    expect(urls[0]).toMatchObject({ path: '/health', digest: '5eb63bbbe01eeed093cb22bb8f5acdc3', statusCodes: [{ from: 200, to: 204 }], sni: 'www.example.test' });
    expect(urls[1]).toMatchObject({ path: '/text', regex: /^OK/i, regexNoMatch: true });
    expect(tcp).toMatchObject({ timing: { alpha: true }, probe: { kind: 'TCP_CHECK', options: { host: '10.1.0.1', port: 8081, bindTo: '10.1.0.254' } } });
    expect(misc!.probe).toEqual({ kind: 'MISC_CHECK', options: { argv: ['/usr/local/bin/check', 'a b', '2'], timeoutMs: 3000, dynamic: true } });
    // Applied as read, at start too: a tracked fault takes the real server out of the first table.
    expect(file!.timing.retry).toBe(0);
    expect(file!.probe).toEqual({
      kind: 'FILE_CHECK',
      options: { path: '/run/lvsd-maint', weight: 5, reverse: false },
      initFile: { value: 3, overwrite: false },
    });
    const [smtp, dns, udp, ping] = specs[1]!.checkers;
    expect(smtp!.probe).toMatchObject({ kind: 'SMTP_CHECK', options: { host: '10.1.0.2', port: 8080, timeoutMs: 4000, heloName: 'smtpchecker.keepalived.org' } });
    expect(dns!.probe).toMatchObject({ kind: 'DNS_CHECK', options: { type: 'A', name: 'www.example.test' } });
    expect(udp!.probe).toMatchObject({ kind: 'UDP_CHECK', options: { requireReply: true, replyPattern: 'cafe' } });
    expect(ping!.probe).toEqual({ kind: 'PING_CHECK', options: { host: '10.1.0.2', timeoutMs: 5000 } });
  });

  it("names each SSL_GET url's TLS server as check_ssl.c:ssl_connect does, and its Host header as http_request_thread does", () => {
    const conf = (vs: string, rs: string, checker: string, sni = 'enable_sni', kind = 'SSL_GET') => `
virtual_server 192.0.2.10 443 {
  ${vs}
  real_server 10.1.0.1 443 {
    ${rs}
    ${kind} {
      ${sni}
      ${checker}
      url {
        path /own
        virtualhost url.test
      }
      url {
        path /inherited
      }
    }
  }
}`;
    const namesOf = (text: string) => {
      const r = parseConfigText(text, '/k.conf', () => '', () => [], { hostname: 'd1' });
      if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
      const probe = checkSpecsFromConfig(r.config, naming).specs[0]!.checkers[0]!.probe;
      if (probe.kind !== 'SSL_GET' && probe.kind !== 'HTTP_GET') throw new Error(probe.kind);
      return probe.options.urls.map((url) => ({ sni: url.sni, host: url.virtualhost ?? probe.options.virtualhost }));
    };
    const own = { sni: 'url.test', host: 'url.test' };
    expect(namesOf(conf('virtualhost vs.test', 'virtualhost rs.test', 'virtualhost checker.test'))).toEqual([own, { sni: 'checker.test', host: 'checker.test' }]);
    // The real server's virtualhost names the Host header only: the TLS name skips it for the virtual server's, or none.
    expect(namesOf(conf('virtualhost vs.test', 'virtualhost rs.test', ''))).toEqual([own, { sni: 'vs.test', host: 'rs.test' }]);
    expect(namesOf(conf('', 'virtualhost rs.test', ''))).toEqual([own, { sni: undefined, host: 'rs.test' }]);
    expect(namesOf(conf('virtualhost vs.test', '', ''))).toEqual([own, { sni: 'vs.test', host: 'vs.test' }]);
    expect(namesOf(conf('', '', ''))).toEqual([own, { sni: undefined, host: undefined }]);
    // No server name without enable_sni, and none over plain HTTP.
    expect(namesOf(conf('virtualhost vs.test', '', 'virtualhost checker.test', '')).map((n) => n.sni)).toEqual([undefined, undefined]);
    expect(namesOf(conf('', '', 'virtualhost checker.test', 'enable_sni', 'HTTP_GET')).map((n) => n.sni)).toEqual([undefined, undefined]);
  });

  it('names the file and line of settings it cannot honour', () => {
    const text = CONF.replace('connect_timeout 4', 'connect_timeout 4\n bind_if eth9').replace('misc_dynamic', 'misc_dynamic\n user nobody');
    const r = parseConfigText(text, '/k.conf', () => '', () => [], { hostname: 'd1' });
    if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
    const { warnings } = checkSpecsFromConfig(r.config, naming);
    // A MISC_CHECK's user is honoured (the daemon's script security pass sets its runAs), so it is not warned about.
    expect(warnings).toEqual([expect.stringMatching(/^\/k\.conf:\d+: .* SMTP_CHECK#0: bind_if eth9 is not supported$/)]);
  });

  it('closes TCP_CHECK and HTTP_GET with a reset unless global_defs says lvsd_probe_close fin', () => {
    const closeOf = (text: string) => {
      const r = parseConfigText(text, '/k.conf', () => '', () => [], { hostname: 'd1' });
      if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
      const probes = checkSpecsFromConfig(r.config, naming).specs.flatMap((s) => s.checkers.map((c) => c.probe));
      return probes.filter((p) => p.kind === 'TCP_CHECK' || p.kind === 'SSL_GET').map((p) => (p.options as { closeWithFin?: boolean }).closeWithFin ?? false);
    };
    expect(closeOf(CONF)).toEqual([false, false]);
    expect(closeOf(CONF.replace('smtp_helo_name director.test', 'smtp_helo_name director.test\n lvsd_probe_close fin'))).toEqual([true, true]);
    const bad = parseConfigText(CONF.replace('smtp_helo_name director.test', 'smtp_helo_name director.test\n lvsd_probe_close softly'), '/k.conf', () => '', () => [], { hostname: 'd1' });
    expect(bad.ok).toBe(false);
  });

  it('sends TCP_CHECK half-open by default and under lvsd_tcp_check syn, but not under lvsd_tcp_check connect or where lvsd_probe_close fin asks for whole connections', () => {
    const withGlobals = (globals: string) => {
      const r = parseConfigText(CONF.replace('smtp_helo_name director.test', `smtp_helo_name director.test\n${globals}`), '/k.conf', () => '', () => [], { hostname: 'd1' });
      if (!r.ok) return { errors: r.errors.map((e) => e.message) };
      const { specs } = checkSpecsFromConfig(r.config, naming);
      const tcp = specs.flatMap((s) => s.checkers.map((c) => c.probe)).filter((p) => p.kind === 'TCP_CHECK');
      return { halfOpen: tcp.map((p) => (p.options as { halfOpen?: boolean }).halfOpen ?? false), warnings: r.warnings.map((w) => w.message).filter((m) => m.includes('lvsd_tcp_check')) };
    };
    expect(withGlobals('')).toMatchObject({ halfOpen: [true], warnings: [] });
    expect(withGlobals(' lvsd_probe_close fin')).toMatchObject({ halfOpen: [false], warnings: [] });
    expect(withGlobals(' lvsd_tcp_check connect')).toMatchObject({ halfOpen: [false] });
    expect(withGlobals(' lvsd_tcp_check syn')).toMatchObject({ halfOpen: [true], warnings: [] });
    expect(withGlobals(' lvsd_tcp_check syn\n lvsd_probe_close fin')).toMatchObject({
      halfOpen: [false],
      warnings: ['lvsd_tcp_check syn is not used under lvsd_probe_close fin, which asks for whole connections'],
    });
    expect(withGlobals(' lvsd_tcp_check half')).toEqual({ errors: ["'lvsd_tcp_check' expects one of connect|syn, got 'half'"] });
  });
});
