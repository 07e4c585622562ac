import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// Differential cases: each runs with keepalived 2.2.7 and with lvsd (run-case.mjs), and every
// `snapshot` step of `ipvsadm -S -n` must come out the same. Real servers listen in their own
// namespace (10.1.0.0/16, fd00:1::/64); a case stops and starts them. `@WORK@` in a config, a
// command or a step stands for the work directory of the run (keepalived's and lvsd's differ).

/** busybox httpd (serves /health "ok\n"), or one of servers.mjs (see there). */
export type ServerKind = 'http' | 'tls' | 'udp-echo' | 'udp-discard' | 'dns' | 'smtp';

export interface ServerSpec {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** default: http */
  readonly kind?: ServerKind;
  readonly startStopped?: boolean;
}

export type Step =
  | { readonly wait: number }
  | { readonly snapshot: string; readonly quietMs?: number; readonly maxMs?: number }
  | { readonly stop: string }
  | { readonly start: string }
  /** Replace the configuration file and send SIGHUP. */
  | { readonly reload: string }
  | { readonly run: readonly string[] };

export interface ConformanceCase {
  readonly name: string;
  readonly config: string;
  readonly servers: readonly ServerSpec[];
  /** Commands run in the director's namespace before the daemon starts (pre-existing IPVS entries). */
  readonly before?: ReadonlyArray<readonly string[]>;
  readonly steps: readonly Step[];
  /**
   * Where lvsd differs from keepalived on purpose (README, "Where lvsd differs"): for these
   * snapshots lvsd must show `expect` (a table) or the same table as its own `sameAs` snapshot.
   */
  readonly deliberate?: { readonly why: string; readonly expect?: Readonly<Record<string, string>>; readonly sameAs?: Readonly<Record<string, string>> };
}

const server = (n: number, port = 80, kind: ServerKind = 'http'): ServerSpec => ({ name: `rs${n}`, address: `10.1.0.${n}`, port, kind });
const servers = (count: number, port = 80): ServerSpec[] => Array.from({ length: count }, (_, i) => server(i + 1, port));

/** Long enough for a failed check and its retry at delay_loop 1 to take a server out. */
const AFTER_FAILURE: Step = { wait: 5_000 };
const START: Step[] = [{ wait: 2_500 }, { snapshot: 'start' }];
/** Long enough for every first check and its retry to have run, on an emulated CPU that other cases load too. */
const CHECKED: Step[] = [{ wait: 8_000 }, { snapshot: 'settled' }];
/** lvsd's first TLS handshake costs it seconds of emulated CPU (node loads and compiles its TLS stack). */
const TLS_CHECKED: Step[] = [{ wait: 14_000 }, { snapshot: 'settled' }];

const checkedRs = (n: number, port: number, check: string, extra = '') =>
  `  real_server 10.1.0.${n} ${port} {\n    weight ${n}\n${extra}    ${check}\n  }\n`;

/**
 * A checker block with one setting a line: keepalived (and lvsd, as keepalived) reads a line as one
 * keyword and its arguments, so in `connect_timeout 1 retry 0` the `retry 0` is ignored.
 */
const checker = (kind: string, ...settings: string[]) => `${kind} {\n${settings.map((setting) => `      ${setting}\n`).join('')}    }`;

/** Checked with retry 1 (the default), so one slow connect on the emulated CPU does not flap a server. */
const TCP_QUICK = checker('TCP_CHECK', 'connect_timeout 1');

const tcpRs = (n: number, extra = '', check = TCP_QUICK) => checkedRs(n, 80, check, extra);

const vs = (head: string, body: string, options = '') =>
  `virtual_server ${head} {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n${options}${body}}\n`;

const udpVs = (head: string, body: string) => vs(head, body).replace('protocol TCP', 'protocol UDP');

const httpCheck = (path: string, extra = '') =>
  checker('HTTP_GET', `url {\n path ${path}\n${extra} }`, 'connect_timeout 1');

/** One failed check and one failed retry a second later take a server out. */
const QUICK = ['connect_timeout 1', 'retry 1', 'delay_before_retry 1'];
/** A TLS handshake on a starved emulated CPU must not turn into a timeout. */
const QUICK_TLS = ['connect_timeout 3', 'retry 1', 'delay_before_retry 1'];

/** A command that writes `text` to `path`, the path passed as an argument rather than spliced into the script. */
export const writeFile = (path: string, text: string) => ['sh', '-c', 'printf "%s\\n" "$1" > "$0"', path, text];

const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'];

export const CASES: readonly ConformanceCase[] = [
  {
    name: 'TCP_CHECK: live servers at start, a stopped one leaves and comes back',
    config: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2) + tcpRs(3)),
    servers: servers(3),
    steps: [...START, { stop: 'rs2' }, AFTER_FAILURE, { snapshot: 'rs2 down' }, { start: 'rs2' }, AFTER_FAILURE, { snapshot: 'rs2 back' }],
  },
  {
    name: 'a real server that is down at start is removed after its first failed check',
    config: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2)),
    servers: [server(1), { ...server(2), startStopped: true }],
    steps: [{ wait: 6_000 }, { snapshot: 'settled' }],
  },
  {
    name: 'inhibit_on_failure keeps a failed server with weight 0',
    config: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2, '    inhibit_on_failure\n')),
    servers: servers(2),
    steps: [...START, { stop: 'rs2' }, AFTER_FAILURE, { snapshot: 'rs2 down' }, { start: 'rs2' }, AFTER_FAILURE, { snapshot: 'rs2 back' }],
  },
  {
    name: 'virtual-server-wide inhibit_on_failure',
    config: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2), '  inhibit_on_failure\n'),
    servers: servers(2),
    steps: [...START, { stop: 'rs1' }, { stop: 'rs2' }, AFTER_FAILURE, { snapshot: 'all down' }],
  },
  {
    name: 'sorry_server takes over when every real server is down, and leaves',
    config: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2), '  sorry_server 10.1.0.99 80\n'),
    servers: servers(2),
    steps: [...START, { stop: 'rs1' }, { stop: 'rs2' }, AFTER_FAILURE, { snapshot: 'all down' }, { start: 'rs1' }, AFTER_FAILURE, { snapshot: 'rs1 back' }],
  },
  {
    name: 'sorry_server_inhibit keeps the sorry server at weight 0 while unused',
    config: vs('10.0.0.1 80', tcpRs(1), '  sorry_server 10.1.0.99 80\n  sorry_server_inhibit\n'),
    servers: servers(1),
    steps: [...START, { stop: 'rs1' }, AFTER_FAILURE, { snapshot: 'down' }, { start: 'rs1' }, AFTER_FAILURE, { snapshot: 'back' }],
  },
  {
    name: 'sorry_server_lvs_method DR',
    config: vs('10.0.0.1 80', tcpRs(1), '  sorry_server 10.1.0.99 80\n  sorry_server_lvs_method DR\n'),
    servers: servers(1),
    steps: [...START, { stop: 'rs1' }, AFTER_FAILURE, { snapshot: 'down' }],
  },
  {
    name: 'quorum with hysteresis and a sorry server',
    config: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2) + tcpRs(3), '  quorum 4\n  hysteresis 1\n  sorry_server 10.1.0.99 80\n'),
    servers: servers(3),
    steps: [
      ...START,
      { stop: 'rs3' },
      AFTER_FAILURE,
      { snapshot: 'weight 3 of quorum 4-1: still up' },
      { stop: 'rs2' },
      AFTER_FAILURE,
      { snapshot: 'weight 1: quorum lost' },
      { start: 'rs3' },
      AFTER_FAILURE,
      { snapshot: 'weight 4 < 4+1: still down' },
      { start: 'rs2' },
      AFTER_FAILURE,
      { snapshot: 'weight 6: quorum back' },
    ],
  },
  {
    name: 'alpha: servers start down until their first successful check',
    config: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2), '  alpha\n'),
    servers: [server(1), { ...server(2), startStopped: true }],
    steps: [{ wait: 6_000 }, { snapshot: 'settled' }, { start: 'rs2' }, AFTER_FAILURE, { snapshot: 'rs2 up' }],
  },
  {
    name: 'HTTP_GET: status_code of a path, a missing path fails the check',
    config: vs('10.0.0.1 80', tcpRs(1, '', httpCheck('/health', '      status_code 200')) + tcpRs(2, '', httpCheck('/missing'))),
    servers: servers(2),
    steps: [{ wait: 6_000 }, { snapshot: 'settled' }],
  },
  {
    name: 'HTTP_GET: digest of the body',
    config: vs(
      '10.0.0.1 80',
      tcpRs(1, '', httpCheck('/health', '      digest eff5bc1ef8ec9d03e640fc4370f5eacd')) +
        tcpRs(2, '', httpCheck('/health', '      digest 00000000000000000000000000000000')),
    ),
    servers: servers(2),
    steps: [{ wait: 6_000 }, { snapshot: 'settled' }],
  },
  {
    name: 'several checkers on one real server: up only while all pass',
    config: vs('10.0.0.1 80', tcpRs(1, `    ${httpCheck('/health')}\n`) + tcpRs(2, `    ${httpCheck('/nope')}\n`)),
    servers: servers(2),
    steps: [{ wait: 6_000 }, { snapshot: 'settled' }],
  },
  {
    name: 'MISC_CHECK: exit 0 up, exit 1 down',
    config: vs('10.0.0.1 80', tcpRs(1, '', 'MISC_CHECK { misc_path /bin/true\n misc_timeout 10 }') + tcpRs(2, '', 'MISC_CHECK { misc_path /bin/false\n misc_timeout 10 }')),
    servers: [],
    steps: [{ wait: 6_000 }, { snapshot: 'settled' }],
  },
  {
    name: 'MISC_CHECK misc_dynamic: exit code 2..255 sets weight code-2',
    config: vs('10.0.0.1 80', tcpRs(1, '', 'MISC_CHECK { misc_path "/bin/sh -c \'exit 7\'"\n misc_timeout 10\n misc_dynamic }') + tcpRs(2, '', 'MISC_CHECK { misc_path "/bin/sh -c \'exit 0\'"\n misc_timeout 10\n misc_dynamic }')),
    servers: [],
    steps: [{ wait: 6_000 }, { snapshot: 'settled' }],
  },
  {
    name: 'PING_CHECK: an answering and a silent address',
    config: vs('10.0.0.1 80', tcpRs(1, '', checker('PING_CHECK', 'connect_timeout 1')) + `  real_server 10.1.7.7 80 {\n    ${checker('PING_CHECK', 'connect_timeout 1')}\n  }\n`),
    servers: [server(1)],
    steps: [{ wait: 6_000 }, { snapshot: 'settled' }],
  },
  {
    name: 'SSL_GET: status_code and digest over TLS; a 404, a plain HTTP server and a stopped server fail',
    config: vs(
      '10.0.0.1 443',
      checkedRs(1, 443, checker('SSL_GET', 'url {\n path /health\n digest eff5bc1ef8ec9d03e640fc4370f5eacd\n }', ...QUICK_TLS)) +
        checkedRs(2, 443, checker('SSL_GET', 'url {\n path /missing\n }', ...QUICK_TLS)) +
        checkedRs(3, 443, checker('SSL_GET', 'url {\n path /health\n }', ...QUICK_TLS)),
    ),
    servers: [server(1, 443, 'tls'), server(2, 443, 'tls'), server(3, 443)],
    steps: [...TLS_CHECKED, { stop: 'rs1' }, AFTER_FAILURE, { snapshot: 'rs1 stopped' }],
  },
  {
    name: 'UDP_CHECK: silence is up, ICMP port unreachable is down; require_reply needs a matching reply',
    config: udpVs(
      '10.0.0.1 7',
      checkedRs(1, 7, checker('UDP_CHECK', ...QUICK, 'payload 50494e47', 'require_reply 50494e47')) +
        checkedRs(2, 7, checker('UDP_CHECK', ...QUICK, 'payload 50494e47', 'require_reply 504f4e47')) +
        checkedRs(3, 9, checker('UDP_CHECK', ...QUICK)) +
        checkedRs(4, 9, checker('UDP_CHECK', ...QUICK, 'require_reply')) +
        checkedRs(5, 7, checker('UDP_CHECK', ...QUICK)),
    ),
    servers: [server(1, 7, 'udp-echo'), server(2, 7, 'udp-echo'), server(3, 9, 'udp-discard'), server(4, 9, 'udp-discard'), { ...server(5, 7), startStopped: true }],
    steps: [...CHECKED, { stop: 'rs1' }, { stop: 'rs3' }, AFTER_FAILURE, { snapshot: 'rs1 and rs3 stopped' }],
  },
  {
    name: 'UDP_CHECK require_reply: a reply shorter than the pattern, a reply longer than max_reply_length',
    config: udpVs(
      '10.0.0.1 7',
      checkedRs(1, 7, checker('UDP_CHECK', ...QUICK, 'payload 50494e47', 'require_reply 50494e4721')) +
        checkedRs(2, 7, checker('UDP_CHECK', ...QUICK, 'payload 50494e47', 'require_reply', 'max_reply_length 2')) +
        checkedRs(3, 7, checker('UDP_CHECK', ...QUICK, 'payload 50494e47', 'require_reply 5049', 'max_reply_length 2')),
    ),
    servers: [server(1, 7, 'udp-echo'), server(2, 7, 'udp-echo'), server(3, 7, 'udp-echo')],
    steps: CHECKED,
  },
  {
    name: 'DNS_CHECK: an A record is up, NXDOMAIN and a stopped server are down',
    config: udpVs(
      '10.0.0.1 53',
      checkedRs(1, 53, checker('DNS_CHECK', ...QUICK, 'type A', 'name www.example.test')) +
        checkedRs(2, 53, checker('DNS_CHECK', ...QUICK, 'type A', 'name missing.example.test')),
    ),
    servers: [server(1, 53, 'dns'), server(2, 53, 'dns')],
    steps: [...CHECKED, { stop: 'rs1' }, AFTER_FAILURE, { snapshot: 'rs1 stopped' }],
  },
  {
    name: 'DNS_CHECK: a NOERROR reply without an answer record (no MX for the name)',
    config: udpVs('10.0.0.1 53', checkedRs(1, 53, checker('DNS_CHECK', ...QUICK, 'type MX', 'name www.example.test'))),
    servers: [server(1, 53, 'dns')],
    steps: CHECKED,
  },
  {
    name: 'SMTP_CHECK: 220, HELO 250, QUIT 221 is up; a server without a greeting and a stopped one are down',
    config: vs('10.0.0.1 25', checkedRs(1, 25, checker('SMTP_CHECK', ...QUICK)) + checkedRs(2, 25, checker('SMTP_CHECK', ...QUICK))),
    servers: [server(1, 25, 'smtp'), server(2, 25)],
    steps: [...CHECKED, { stop: 'rs1' }, AFTER_FAILURE, { snapshot: 'rs1 stopped' }],
  },
  {
    name: 'SMTP_CHECK host blocks, and a connection setting on the block that checks the real server too',
    config: vs(
      '10.0.0.1 25',
      checkedRs(1, 25, checker('SMTP_CHECK', 'retry 1', 'host {\n connect_ip 10.1.0.1\n connect_timeout 2\n }')) +
        checkedRs(2, 25, checker('SMTP_CHECK', 'connect_timeout 2', 'host {\n connect_ip 10.1.0.1\n connect_timeout 2\n }')),
    ),
    servers: [server(1, 25, 'smtp')],
    steps: CHECKED,
  },
  {
    name: 'SMTP_CHECK host blocks without connect_timeout',
    config: vs(
      '10.0.0.1 25',
      checkedRs(1, 25, checker('SMTP_CHECK', ...QUICK, 'host {\n connect_ip 10.1.0.1\n }')) +
        checkedRs(2, 25, checker('SMTP_CHECK', 'retry 1', 'host {\n connect_ip 10.1.0.1\n }')),
    ),
    servers: [server(1, 25, 'smtp')],
    steps: CHECKED,
    deliberate: {
      why: 'keepalived 2.2.7 gives such a host a 0 s timeout and the check always fails; lvsd inherits the connect_timeout and warns',
      expect: { settled: '-A -t 10.0.0.1:25 -s rr\n-a -t 10.0.0.1:25 -r 10.1.0.1:25 -m -w 1\n-a -t 10.0.0.1:25 -r 10.1.0.2:25 -m -w 2\n' },
    },
  },
  {
    name: 'FILE_CHECK: the tracked value times the track_file (or checker) weight is added to the real server weight',
    config:
      'track_file boost {\n  file "@WORK@/boost"\n  weight 2\n}\n' +
      vs('10.0.0.1 80', checkedRs(1, 80, checker('FILE_CHECK', 'track_file boost')) + checkedRs(2, 80, checker('FILE_CHECK', 'track_file boost', 'weight 1'))),
    servers: [],
    before: [writeFile('@WORK@/boost', '3')],
    steps: [...START, { run: writeFile('@WORK@/boost', '5') }, { wait: 2_000 }, { snapshot: 'boost 5' }],
  },
  {
    name: 'FILE_CHECK: with track_file weight 0, a non-zero value takes the server out and 0 brings it back',
    config: 'track_file maintenance {\n  file "@WORK@/maintenance"\n  weight 0\n}\n' + vs('10.0.0.1 80', checkedRs(1, 80, checker('FILE_CHECK', 'track_file maintenance'))),
    servers: [],
    before: [writeFile('@WORK@/maintenance', '0')],
    steps: [
      ...START,
      { run: writeFile('@WORK@/maintenance', '1') },
      { wait: 2_000 },
      { snapshot: 'in maintenance' },
      { run: writeFile('@WORK@/maintenance', '0') },
      { wait: 2_000 },
      { snapshot: 'back' },
    ],
  },
  {
    name: 'real servers without checkers are always in',
    config: vs('10.0.0.1 80', '  real_server 10.1.0.1 80 { weight 3 }\n  real_server 10.1.0.2 80 { }\n'),
    servers: [],
    steps: START,
  },
  {
    name: `every scheduler of the kernel: ${SCHEDULERS.join(' ')}`,
    config: SCHEDULERS.map((scheduler, i) =>
      vs(`10.0.0.${i + 1} 80`, '  real_server 10.1.0.1 80 { weight 2 }\n  real_server 10.1.0.2 80 { }\n').replace('lb_algo rr', `lb_algo ${scheduler}`),
    ).join(''),
    servers: [],
    steps: START,
  },
  {
    name: 'scheduler flags: sh-port sh-fallback, mh-port, ops on UDP',
    config:
      vs('10.0.0.1 80', '  real_server 10.1.0.1 80 { }\n', '  lb_algo sh\n  sh-port\n  sh-fallback\n') +
      vs('10.0.0.2 80', '  real_server 10.1.0.1 80 { }\n', '  lb_algo mh\n  mh-port\n') +
      vs('10.0.0.3 53', '  real_server 10.1.0.1 53 { }\n', '  protocol UDP\n  ops\n').replace('protocol TCP\n', ''),
    servers: [],
    steps: START,
  },
  {
    name: 'persistence: timeout, granularity, and the sip engine',
    config:
      vs('10.0.0.1 443', '  real_server 10.1.0.1 443 { }\n', '  persistence_timeout 600\n  persistence_granularity 255.255.255.0\n') +
      vs('10.0.0.2 443', '  real_server 10.1.0.1 443 { }\n', '  persistence_timeout\n') +
      vs('10.0.0.3 5060', '  real_server 10.1.0.1 5060 { }\n', '  persistence_timeout 60\n  persistence_engine sip\n').replace('protocol TCP', 'protocol UDP'),
    servers: [],
    steps: START,
  },
  {
    name: 'persistence_granularity alone: persistent at the default timeout, unless a timeout follows',
    config:
      vs('10.0.0.1 443', '  real_server 10.1.0.1 443 { }\n', '  persistence_granularity 255.255.0.0\n') +
      vs('10.0.0.2 443', '  real_server 10.1.0.1 443 { }\n', '  persistence_granularity 255.255.255.0\n  persistence_timeout 100\n') +
      vs('fd00:1::1 443', '  real_server fd00:1::10 443 { }\n', '  persistence_granularity 64\n'),
    servers: [],
    steps: START,
  },
  {
    name: 'fwmark with DR or TUN: the real server port is cleared; NAT keeps it',
    config:
      vs('fwmark 2', '  real_server 10.1.0.1 80 { }\n  real_server 10.1.0.2 8080 { lvs_method TUN }\n  real_server 10.1.0.3 8080 { lvs_method NAT }\n', '  lb_kind DR\n').replace('protocol TCP\n', ''),
    servers: [],
    steps: START,
  },
  {
    name: 'a virtual_server declared twice: the second block adds its real servers to the first service',
    config:
      vs('10.0.0.1 80', '  real_server 10.1.0.1 80 { weight 1 }\n  real_server 10.1.0.2 80 { weight 2 }\n') +
      vs('10.0.0.1 80', '  real_server 10.1.0.2 80 { weight 5 }\n  real_server 10.1.0.3 80 { weight 3 }\n').replace('lb_algo rr', 'lb_algo wlc'),
    servers: [],
    steps: START,
  },
  {
    name: 'forwarding methods: NAT, DR, TUN (ipip and gue) and thresholds',
    config: vs(
      '10.0.0.1 80',
      '  real_server 10.1.0.1 80 { lvs_method DR }\n' +
        '  real_server 10.1.0.2 80 { lvs_method TUN }\n' +
        '  real_server 10.1.0.3 80 { lvs_method TUN type gue port 6080 }\n' +
        '  real_server 10.1.0.4 8080 { lvs_method NAT\n uthreshold 100\n lthreshold 10 }\n',
    ),
    servers: [],
    steps: START,
  },
  {
    name: 'keepalived defaults: no protocol, no lb_algo, no lb_kind, no weight',
    config: 'virtual_server 10.0.0.1 80 {\n  real_server 10.1.0.1 80 { }\n}\nvirtual_server fwmark 3 {\n  real_server 10.1.0.2 80 { }\n}\n',
    servers: [],
    steps: START,
  },
  {
    name: 'DR resets the real server port to the virtual server port',
    config: vs('10.0.0.1 80', '  real_server 10.1.0.1 8080 { }\n', '  lb_kind DR\n'),
    servers: [],
    steps: START,
  },
  {
    name: 'fwmark virtual server',
    config: vs('fwmark 7', '  real_server 10.1.0.1 80 { weight 2 }\n  real_server 10.1.0.2 80 { }\n').replace('protocol TCP\n', ''),
    servers: [],
    steps: START,
  },
  {
    name: 'virtual_server_group with a range, a single address and a fwmark',
    config:
      'virtual_server_group web {\n  10.0.0.1-3 80\n  10.0.1.1 8080\n  fwmark 9\n}\n' +
      vs('group web', '  real_server 10.1.0.1 80 { weight 2 }\n'),
    servers: [],
    steps: START,
  },
  {
    name: 'IPv6 virtual server with IPv6 real servers checked over TCP',
    config: vs(
      'fd00:2::1 80',
      `  real_server fd00:1::1 80 {\n    ${TCP_QUICK}\n  }\n  real_server fd00:1::2 80 {\n    ${TCP_QUICK}\n  }\n`,
    ),
    servers: [
      { name: 'rs1', address: 'fd00:1::1', port: 80 },
      { name: 'rs2', address: 'fd00:1::2', port: 80, startStopped: true },
    ],
    steps: [{ wait: 6_000 }, { snapshot: 'settled' }],
  },
  {
    name: 'a service that lvsd does not own survives start and stop',
    config: vs('10.0.0.1 80', '  real_server 10.1.0.1 80 { }\n'),
    servers: [],
    before: [['ipvsadm', '-A', '-u', '10.9.9.9:53', '-s', 'rr'], ['ipvsadm', '-a', '-u', '10.9.9.9:53', '-r', '10.1.0.53:53', '-m']],
    steps: START,
  },
  {
    name: 'a configured service that exists with other settings',
    config: vs('10.0.0.1 80', '  real_server 10.1.0.1 80 { weight 3 }\n'),
    servers: [],
    before: [['ipvsadm', '-A', '-t', '10.0.0.1:80', '-s', 'wlc'], ['ipvsadm', '-a', '-t', '10.0.0.1:80', '-r', '10.1.0.1:80', '-m', '-w', '1']],
    steps: START,
    deliberate: {
      why: 'keepalived ignores EEXIST and leaves the stale scheduler and weight; lvsd corrects them in place',
      expect: { start: '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 3\n' },
    },
  },
  {
    // keepalived's checker process follows the host's addresses: a check of a service whose address
    // is away is put off and changes nothing; alpha real servers wait for their first check.
    name: 'ha_suspend: no checks while the address is away, checks once it is on the host',
    config: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2, '    alpha\n'), '  ha_suspend\n'),
    servers: servers(2),
    steps: [
      ...START,
      { stop: 'rs1' },
      AFTER_FAILURE,
      { snapshot: 'rs1 stopped, address away' },
      { run: ['ip', 'addr', 'add', '10.0.0.1/32', 'dev', 'lo'] },
      AFTER_FAILURE,
      { snapshot: 'address on the host' },
      { run: ['ip', 'addr', 'del', '10.0.0.1/32', 'dev', 'lo'] },
      { wait: 1_000 },
      { start: 'rs1' },
      AFTER_FAILURE,
      { snapshot: 'rs1 back, address away again' },
    ],
  },
  {
    name: 'lvs_flush clears the table at start, lvs_flush_onstop at stop',
    config: 'global_defs {\n  lvs_flush\n  lvs_flush_onstop\n}\n' + vs('10.0.0.1 80', '  real_server 10.1.0.1 80 { }\n'),
    servers: [],
    before: [['ipvsadm', '-A', '-u', '10.9.9.9:53', '-s', 'rr']],
    steps: [...START, { run: ['ipvsadm', '-A', '-u', '10.9.9.8:53', '-s', 'rr'] }, { wait: 200 }],
  },
  {
    name: 'reload: a weight, a scheduler, a new and a removed virtual server',
    config: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2)) + vs('10.0.0.2 80', '  real_server 10.1.0.1 80 { }\n'),
    servers: servers(2),
    steps: [
      ...START,
      { reload: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2).replace('weight 2', 'weight 7')).replace('lb_algo rr', 'lb_algo wlc') + vs('10.0.0.3 80', '  real_server 10.1.0.2 80 { }\n') },
      { wait: 3_000 },
      { snapshot: 'reloaded' },
    ],
  },
  {
    name: 'a reload with a broken file (a stray closing brace) changes nothing',
    config: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2)) + vs('10.0.0.2 80', '  real_server 10.1.0.1 80 { }\n'),
    servers: servers(2),
    steps: [
      ...START,
      { reload: vs('10.0.0.1 80', tcpRs(1) + '  }\n' + tcpRs(2)) + vs('10.0.0.2 80', '  real_server 10.1.0.1 80 { }\n') },
      { wait: 3_000 },
      { snapshot: 'after bad reload' },
    ],
    deliberate: {
      why: 'keepalived applies what its lenient parser makes of the broken file; lvsd rejects the file whole',
      sameAs: { 'after bad reload': 'start' },
    },
  },
  {
    name: 'reload keeps the health of unchanged real servers',
    config: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2)),
    servers: servers(2),
    steps: [
      ...START,
      { stop: 'rs2' },
      AFTER_FAILURE,
      { reload: vs('10.0.0.1 80', tcpRs(1) + tcpRs(2)) + vs('10.0.0.5 80', '  real_server 10.1.0.1 80 { }\n') },
      { wait: 500 },
      { snapshot: 'just after reload' },
    ],
  },
];

const SAMPLES = '/usr/share/doc/keepalived/samples';

/**
 * Debian's keepalived samples that define virtual servers. Their real servers are addresses
 * nobody answers for: the director's default route points into a dummy interface, which drops
 * everything, so network checks run into their connect_timeout (3 s and more) and the table
 * right after start is deterministic. MISC_CHECK scripts of the samples do not exist and fail
 * at once, so those samples are compared once every first check has run.
 */
export function sampleCases(): ConformanceCase[] {
  if (!existsSync(SAMPLES)) return [];
  return readdirSync(SAMPLES)
    .filter((file) => file.startsWith('keepalived.conf.'))
    .map((file) => ({ file, config: readFileSync(join(SAMPLES, file), 'utf8') }))
    .filter(({ config }) => /^\s*virtual_server\s/m.test(config))
    .map(({ file, config }) => ({
      name: `Debian sample ${file}`,
      config,
      servers: [],
      before: [
        ['ip', 'link', 'add', 'void0', 'type', 'dummy'],
        ['ip', 'link', 'set', 'void0', 'up'],
        ['ip', 'route', 'add', 'default', 'dev', 'void0'],
        ['ip', '-6', 'route', 'add', 'default', 'dev', 'void0'],
      ],
      steps: config.includes('MISC_CHECK') ? [{ wait: 15_000 }, { snapshot: 'checked', quietMs: 2_000 }] : [{ snapshot: 'start', quietMs: 700 }],
    }));
}

