// Checker blocks inside real_server. Parsing keeps what was written (unset
// stays undefined); resolving applies keepalived's inheritance
// (checker -> real server -> virtual server -> per-checker default).
import type { IpAddress } from './address.ts';
import type { Diagnostics } from './diagnostics.ts';
import type {
  Checker, CheckerConnection, CheckerKind, CheckerTiming, DnsQueryType, HttpCheck, HttpStatusRange, HttpUrl,
  ScriptCommand, SourceLocation, TrackFile,
} from './model.ts';
import type { Statement } from './tree.ts';
import {
  block, dispatchTo, integer, ip, lift, name, oneOf, port, script, text, timerMs, trueFalse, warnOfIgnoredArgument, type Handler, type HandlerTable, type Mutable,
} from './values.ts';

/** Settings a virtual server passes to its real servers and a real server to its checkers. */
export interface Inheritable {
  readonly delayLoopMs?: number;
  readonly connectTimeoutMs?: number;
  readonly retry?: number;
  readonly delayBeforeRetryMs?: number;
  readonly warmupMs?: number;
  readonly alpha?: boolean;
  readonly virtualhost?: string;
}

/** keepalived takes retry 0 on a checker but not on a virtual or real server. */
function readRetry(min: 0 | 1): Handler<Mutable<Inheritable>> {
  return (s, t, d) => { t.retry = integer(s, 0, d, min, 0xffffffff) ?? t.retry; };
}

const readCheckerRetry = readRetry(0);

const MAX_CONNECT_TIMEOUT_SECONDS = 4294.967295;

const readConnectTimeout: Handler<Mutable<Inheritable>> = (s, t, d) => {
  t.connectTimeoutMs = timerMs(s, 0, d, MAX_CONNECT_TIMEOUT_SECONDS, false) ?? t.connectTimeoutMs;
};

const readVirtualhost: Handler<Mutable<Inheritable>> = (s, t, d) => { t.virtualhost = text(s, 0, d, 'a host name') ?? t.virtualhost; };

/** The timers a virtual_server, a real_server and a checker all read. */
const TIMERS: HandlerTable<Mutable<Inheritable>> = {
  delay_loop: (s, t, d) => { t.delayLoopMs = timerMs(s, 0, d, undefined, false) ?? t.delayLoopMs; },
  delay_before_retry: (s, t, d) => { t.delayBeforeRetryMs = timerMs(s, 0, d) ?? t.delayBeforeRetryMs; },
  warmup: (s, t, d) => { t.warmupMs = timerMs(s, 0, d) ?? t.warmupMs; },
  alpha: (s, t, d) => { t.alpha = trueFalse(s, d, (word) => `Invalid alpha parameter ${word}`) ?? t.alpha; },
};

/** What a virtual_server and a real_server read to pass down (keepalived's check_parser.c). */
export const INHERITABLE: HandlerTable<Mutable<Inheritable>> = {
  ...TIMERS,
  connect_timeout: readConnectTimeout,
  retry: readRetry(1),
  virtualhost: readVirtualhost,
};

interface ConnectionSettings extends Mutable<Inheritable> {
  connectIp?: IpAddress;
  connectPort?: number;
  bindTo?: IpAddress;
  bindPort?: number;
  bindInterface?: string;
  fwmark?: number;
  logAllFailures?: boolean;
}

/**
 * What every checker but FILE_CHECK reads: keepalived's common checker keywords besides the
 * connection (install_checker_common_keywords(false)). MISC_CHECK reads these alone.
 */
const CHECKER_COMMON: HandlerTable<ConnectionSettings> = {
  ...TIMERS,
  retry: readCheckerRetry,
  log_all_failures: (s, t, d) => { t.logAllFailures = trueFalse(s, d, (word) => `Invalid log_all_failures parameter ${word}`) ?? t.logAllFailures; },
};

/** A check's connection (keepalived's conn_opts_t): what an SMTP_CHECK host block has of its own. */
const CONNECTION_ONLY: HandlerTable<ConnectionSettings> = {
  connect_ip: (s, t, d) => { t.connectIp = ip(s, 0, d) ?? t.connectIp; },
  connect_port: (s, t, d) => { t.connectPort = port(s, 0, d) ?? t.connectPort; },
  bindto: (s, t, d) => { t.bindTo = ip(s, 0, d) ?? t.bindTo; },
  bind_port: (s, t, d) => { t.bindPort = port(s, 0, d) ?? t.bindPort; },
  bind_if: (s, t, d) => { t.bindInterface = text(s, 0, d, 'an interface') ?? t.bindInterface; },
  fwmark: (s, t, d) => { t.fwmark = integer(s, 0, d, 0, 0xffffffff) ?? t.fwmark; },
  connect_timeout: readConnectTimeout,
};

const CONNECTION: HandlerTable<ConnectionSettings> = { ...CHECKER_COMMON, ...CONNECTION_ONLY };

interface SmtpHostState {
  readonly host: ConnectionSettings;
  readonly checker: ConnectionSettings;
}

/**
 * An SMTP_CHECK host block: its connection is its own, from the real server's address and port
 * (not the block's connect_ip or connect_port); every other setting in it is the whole checker's,
 * as keepalived 2.2.7 reads it into the checker being built (--dump-conf shows a host's retry on
 * every check of the block, and the block's connect_ip on none of its hosts).
 */
const SMTP_HOST: HandlerTable<SmtpHostState> = {
  ...lift(CONNECTION, (state: SmtpHostState) => state.checker),
  ...lift(CONNECTION_ONLY, (state: SmtpHostState) => state.host),
};

interface HttpSpecific {
  kind: 'HTTP_GET' | 'SSL_GET';
  httpProtocol: HttpCheck['httpProtocol'];
  urls: HttpUrl[];
  fastRecovery: boolean;
  enableSni: boolean;
}
interface UdpSpecific {
  kind: 'UDP_CHECK';
  payload?: string;
  requireReply: boolean;
  requireReplyPattern?: string;
  minReplyLength: number;
  maxReplyLength: number;
}
interface DnsSpecific { kind: 'DNS_CHECK'; type: DnsQueryType; name: string }
interface SmtpSpecific { kind: 'SMTP_CHECK'; heloName?: string; hosts: { at: SourceLocation; settings: ConnectionSettings }[] }
interface MiscSpecific { kind: 'MISC_CHECK'; script?: ScriptCommand; timeoutMs?: number; dynamic: boolean; user?: Pick<ScriptCommand, 'user' | 'group'> }
interface FileSpecific { kind: 'FILE_CHECK'; trackFile?: string; weight?: number; reverse: boolean }

type Specific = { kind: 'TCP_CHECK' | 'PING_CHECK' } | HttpSpecific | UdpSpecific | DnsSpecific | SmtpSpecific | MiscSpecific | FileSpecific;

export interface ParsedChecker {
  readonly at: SourceLocation;
  readonly settings: ConnectionSettings;
  readonly specific: Specific;
}

const DNS_TYPES: readonly DnsQueryType[] = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA'];
const DEFAULT_STATUS_CODES: readonly HttpStatusRange[] = [{ from: 200, to: 299 }];

/** keepalived's free-form hex: groups split on spaces, an odd group's last digit is its own byte. */
function hexString(s: Statement, d: Diagnostics, allowWildcard: boolean): string | undefined {
  const digit = allowWildcard ? /^[0-9a-fA-FxX]+$/ : /^[0-9a-fA-F]+$/;
  let hex = '';
  for (const token of s.args) {
    if (!digit.test(token.text)) {
      d.error(token.at, `'${name(s)}' expects hex digits${allowWildcard ? ' (or x)' : ''}, got '${token.text}'`);
      return undefined;
    }
    const group = token.text.toLowerCase();
    const even = group.length - (group.length % 2);
    hex += group.slice(0, even) + (group.length % 2 ? '0' + group.slice(even) : '');
  }
  return hex;
}

function parseStatusCodes(s: Statement, d: Diagnostics): HttpStatusRange[] | undefined {
  const ranges: HttpStatusRange[] = [];
  if (s.args.length === 0) {
    d.error(s.at, "'status_code' needs at least one code or range");
    return undefined;
  }
  for (const token of s.args) {
    const match = /^(\d{3})(?:-(\d{3}))?$/.exec(token.text);
    const from = Number(match?.[1]);
    const to = match?.[2] === undefined ? from : Number(match[2]);
    if (!match || from < 100 || to > 999 || to < from) {
      d.error(token.at, `invalid HTTP status code or range '${token.text}'`);
      return undefined;
    }
    ranges.push({ from, to });
  }
  return ranges;
}

interface UrlState {
  url: Mutable<Partial<HttpUrl>>;
  statusCodes: HttpStatusRange[];
  regexOptions: string[];
}

const URL: HandlerTable<UrlState> = {
  path: (s, t, d) => { t.url.path = text(s, 0, d, 'a path') ?? t.url.path; },
  digest: (s, t, d) => {
    const digest = text(s, 0, d, 'an MD5 digest');
    if (digest === undefined) return;
    if (/^[0-9a-fA-F]{32}$/.test(digest)) t.url.digest = digest.toLowerCase();
    else d.error(s.args[0]!.at, `digest must be 32 hex digits (an MD5 sum), got '${digest}'`);
  },
  status_code: (s, t, d) => { t.statusCodes.push(...(parseStatusCodes(s, d) ?? [])); },
  virtualhost: (s, t, d) => { t.url.virtualhost = text(s, 0, d, 'a host name') ?? t.url.virtualhost; },
  regex: (s, t, d) => {
    const pattern = text(s, 0, d, 'a regular expression');
    if (pattern === undefined) return;
    try {
      new RegExp(pattern);
      t.url.regex = pattern;
    } catch (e) {
      d.error(s.args[0]!.at, `invalid regex: ${(e as Error).message}`);
    }
  },
  regex_no_match: (s, t, d) => {
    warnOfIgnoredArgument(s, d, 'a url');
    t.url.regexNoMatch = true;
  },
  regex_options: (s, t) => { t.regexOptions = s.args.map((a) => a.text); },
  // A PCRE JIT stack size: nothing to size in a JavaScript RegExp.
  regex_stack: () => undefined,
  regex_min_offset: (s, t, d) => { t.url.regexMinOffset = integer(s, 0, d, 0, 0x7fffffff); },
  regex_max_offset: (s, t, d) => { t.url.regexMaxOffset = integer(s, 0, d, 0, 0x7fffffff); },
};

function parseUrl(s: Statement, d: Diagnostics): HttpUrl | undefined {
  const state: UrlState = { url: {}, statusCodes: [], regexOptions: [] };
  dispatchTo(block(s, d) ?? [], URL, state, d, 'url');
  const { url, statusCodes, regexOptions } = state;
  if (url.path === undefined) {
    d.error(s.at, "url block has no 'path'");
    return undefined;
  }
  return {
    at: s.at,
    path: url.path,
    digest: url.digest,
    statusCodes: statusCodes.length > 0 ? statusCodes : DEFAULT_STATUS_CODES,
    virtualhost: url.virtualhost,
    regex: url.regex,
    regexNoMatch: url.regexNoMatch ?? false,
    regexOptions,
    regexMinOffset: url.regexMinOffset,
    regexMaxOffset: url.regexMaxOffset,
  };
}

interface CheckerState<S extends Specific> {
  readonly settings: ConnectionSettings;
  readonly specific: S;
}

function withSpecific<S extends Specific>(common: HandlerTable<ConnectionSettings>, table: HandlerTable<S>): HandlerTable<CheckerState<S>> {
  return { ...lift(common, (c: CheckerState<S>) => c.settings), ...lift(table, (c: CheckerState<S>) => c.specific) };
}

/** keepalived 2.2.7 reads nb_get_retry and virtualhost in HTTP_GET and SSL_GET alone (install_http_ssl_check_keyword). */
const HTTP_CONNECTION: HandlerTable<ConnectionSettings> = {
  ...CONNECTION,
  nb_get_retry: (s, t, d) => {
    d.warn(s.at, "'nb_get_retry' is deprecated, use 'retry'");
    readCheckerRetry(s, t, d);
  },
  virtualhost: readVirtualhost,
};

const HTTP: HandlerTable<HttpSpecific> = {
  url: (s, t, d) => {
    const url = parseUrl(s, d);
    if (url) t.urls.push(url);
  },
  http_protocol: (s, t, d) => {
    t.httpProtocol = oneOf(s, 0, d, ['1.0', '1.0C', '1.1'] as const, (w) => (w === '1.0c' ? '1.0C' : w)) ?? t.httpProtocol;
  },
  fast_recovery: (s, t, d) => { t.fastRecovery = trueFalse(s, d, (word) => `Invalid fast_recovery parameter ${word}`) ?? t.fastRecovery; },
  // keepalived installs it for HTTP_GET too, where it changes nothing.
  enable_sni: (s, t, d) => { t.enableSni = trueFalse(s, d, (word) => `Invalid enable_sni parameter ${word}`) ?? t.enableSni; },
};

/** Keyword tables per checker kind, built once. MISC_CHECK has no connection options, FILE_CHECK no common ones at all. */
const CHECKER_TABLES: { readonly [K in CheckerKind]: HandlerTable<CheckerState<Specific>> } = {
  TCP_CHECK: withSpecific(CONNECTION, {}),
  PING_CHECK: withSpecific(CONNECTION, {}),
  HTTP_GET: withSpecific(HTTP_CONNECTION, HTTP) as HandlerTable<CheckerState<Specific>>,
  SSL_GET: withSpecific(HTTP_CONNECTION, HTTP) as HandlerTable<CheckerState<Specific>>,
  UDP_CHECK: withSpecific<UdpSpecific>(CONNECTION, {
    payload: (s, t, d) => { t.payload = hexString(s, d, false) ?? t.payload; },
    require_reply: (s, t, d) => {
      t.requireReply = true;
      if (s.args.length > 0) t.requireReplyPattern = hexString(s, d, true);
    },
    min_reply_length: (s, t, d) => { t.minReplyLength = integer(s, 0, d, 0, 65535) ?? t.minReplyLength; },
    max_reply_length: (s, t, d) => { t.maxReplyLength = integer(s, 0, d, 0, 65535) ?? t.maxReplyLength; },
  }) as HandlerTable<CheckerState<Specific>>,
  DNS_CHECK: withSpecific<DnsSpecific>(CONNECTION, {
    type: (s, t, d) => { t.type = oneOf(s, 0, d, DNS_TYPES, (w) => w.toUpperCase()) ?? t.type; },
    name: (s, t, d) => { t.name = text(s, 0, d, 'a domain name') ?? t.name; },
  }) as HandlerTable<CheckerState<Specific>>,
  SMTP_CHECK: {
    ...withSpecific<SmtpSpecific>(CONNECTION, {
      helo_name: (s, t, d) => { t.heloName = text(s, 0, d, 'a name') ?? t.heloName; },
    }),
    host: (s, checker: CheckerState<SmtpSpecific>, d) => {
      const host: ConnectionSettings = {};
      dispatchTo(block(s, d) ?? [], SMTP_HOST, { host, checker: checker.settings }, d, 'SMTP_CHECK host');
      checker.specific.hosts.push({ at: s.at, settings: host });
    },
  } as HandlerTable<CheckerState<Specific>>,
  MISC_CHECK: withSpecific<MiscSpecific>(CHECKER_COMMON, {
    misc_path: (s, t, d) => { t.script = script(s, d) ?? t.script; },
    misc_timeout: (s, t, d) => { t.timeoutMs = timerMs(s, 0, d) ?? t.timeoutMs; },
    misc_dynamic: (s, t, d) => {
      warnOfIgnoredArgument(s, d, 'a MISC_CHECK');
      t.dynamic = true;
    },
    // keepalived sets the script's user wherever the line is, before misc_path too.
    user: (s, t, d) => {
      const user = text(s, 0, d, 'a user name');
      const group = s.args[1]?.text;
      if (user !== undefined) t.user = { user, ...(group !== undefined && { group }) };
    },
  }) as HandlerTable<CheckerState<Specific>>,
  FILE_CHECK: withSpecific<FileSpecific>({}, {
    track_file: (s, t, d) => { t.trackFile = text(s, 0, d, 'a track_file name') ?? t.trackFile; },
    weight: (s, t, d) => {
      t.weight = integer(s, 0, d, -2147483647, 2147483647) ?? t.weight;
      t.reverse = s.args[1]?.text === 'reverse';
    },
  }) as HandlerTable<CheckerState<Specific>>,
};

export const CHECKER_KINDS = Object.keys(CHECKER_TABLES) as CheckerKind[];

function emptySpecific(kind: CheckerKind): Specific {
  switch (kind) {
    case 'TCP_CHECK':
    case 'PING_CHECK':
      return { kind };
    case 'HTTP_GET':
    case 'SSL_GET':
      return { kind, httpProtocol: '1.0', urls: [], fastRecovery: false, enableSni: false };
    case 'UDP_CHECK':
      return { kind, requireReply: false, minReplyLength: 0, maxReplyLength: 255 };
    case 'DNS_CHECK':
      return { kind, type: 'SOA', name: '.' };
    case 'SMTP_CHECK':
      return { kind, hosts: [] };
    case 'MISC_CHECK':
      return { kind, dynamic: false };
    case 'FILE_CHECK':
      return { kind, reverse: false };
  }
}

export function parseChecker(s: Statement, kind: CheckerKind, d: Diagnostics): ParsedChecker {
  const state: CheckerState<Specific> = { settings: {}, specific: emptySpecific(kind) };
  dispatchTo(block(s, d) ?? [], CHECKER_TABLES[kind], state, d, kind);
  return { at: s.at, settings: state.settings, specific: state.specific };
}

// ---------------------------------------------------------------- resolution

export interface CheckerContext {
  readonly address: IpAddress;
  /** The real server's port as configured (before any DR/TUN reset). */
  readonly port: number;
  readonly realServer: Inheritable;
  readonly virtualServer: Inheritable;
  readonly trackFiles: ReadonlyMap<string, TrackFile>;
}

const DEFAULT_DELAY_LOOP_MS = 60_000;
/** keepalived's SMTP_CHECK default; the global smtp_helo_name is only for its alert mail. */
const DEFAULT_SMTP_CHECK_HELO = 'smtpchecker.keepalived.org';
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export function defaultDelayLoopMs(...levels: Inheritable[]): number {
  return levels.find((l) => l.delayLoopMs !== undefined)?.delayLoopMs ?? DEFAULT_DELAY_LOOP_MS;
}

function pick<K extends keyof Inheritable>(key: K, levels: readonly Inheritable[]): Inheritable[K] {
  for (const level of levels) {
    const value = level[key];
    if (value !== undefined) return value;
  }
  return undefined;
}

function checkerTiming(kind: CheckerKind, levels: readonly Inheritable[], logAllFailures: boolean): CheckerTiming {
  const delayLoopMs = pick('delayLoopMs', levels) ?? DEFAULT_DELAY_LOOP_MS;
  const kindRetry = kind === 'DNS_CHECK' ? 3 : kind === 'MISC_CHECK' ? 0 : 1;
  const kindDelayBeforeRetry = kind === 'HTTP_GET' || kind === 'SSL_GET' ? 3000 : kind === 'DNS_CHECK' ? delayLoopMs : 1000;
  return {
    delayLoopMs,
    warmupMs: pick('warmupMs', levels) ?? delayLoopMs,
    retry: pick('retry', levels) ?? kindRetry,
    delayBeforeRetryMs: pick('delayBeforeRetryMs', levels) ?? kindDelayBeforeRetry,
    alpha: pick('alpha', levels) ?? false,
    logAllFailures,
  };
}

function connect(
  settings: ConnectionSettings & Inheritable,
  levels: readonly Inheritable[],
  context: CheckerContext,
  at: SourceLocation,
  needsPort: boolean,
  d: Diagnostics,
): CheckerConnection | undefined {
  const connectIp = settings.connectIp ?? context.address;
  const connectPort = settings.connectPort ?? context.port;
  if (needsPort && connectPort === 0) {
    // keepalived accepts this silently and the check can only fail; say so instead.
    d.warn(at, 'checker has no port to connect to (no connect_port, real server without port): it will always fail');
  }
  if (settings.bindTo && settings.bindTo.family !== connectIp.family) {
    d.error(at, `bindto ${settings.bindTo.text} is not in the address family of ${connectIp.text}`);
    return undefined;
  }
  return {
    connectIp: connectIp.text,
    connectPort,
    family: connectIp.family,
    bindTo: settings.bindTo?.text,
    bindPort: settings.bindPort,
    bindInterface: settings.bindInterface,
    fwmark: settings.fwmark,
    connectTimeoutMs: pick('connectTimeoutMs', levels) ?? DEFAULT_CONNECT_TIMEOUT_MS,
  };
}

/**
 * keepalived checks the real server itself besides the `host` blocks when the SMTP_CHECK block
 * has a connection setting of its own.
 */
function setsConnection(settings: ConnectionSettings): boolean {
  const { connectIp, connectPort, bindTo, bindPort, bindInterface, fwmark, connectTimeoutMs } = settings;
  return [connectIp, connectPort, bindTo, bindPort, bindInterface, fwmark, connectTimeoutMs].some((value) => value !== undefined);
}

/**
 * Resolves one parsed checker into `into`; SMTP_CHECK `host` blocks each
 * become a checker, after the block's own connection (see setsConnection).
 * Invalid checkers are reported and left out.
 */
export function resolveChecker(parsed: ParsedChecker, context: CheckerContext, d: Diagnostics, into: Checker[]): void {
  const { settings, specific, at } = parsed;
  const levels = [settings, context.realServer, context.virtualServer];
  if (specific.kind === 'SMTP_CHECK') {
    const heloName = specific.heloName ?? DEFAULT_SMTP_CHECK_HELO;
    const targets = specific.hosts.length === 0 || setsConnection(settings) ? [{ at, settings }, ...specific.hosts] : specific.hosts;
    for (const host of specific.hosts) {
      if (host.settings.connectTimeoutMs === undefined) {
        d.warn(
          host.at,
          "SMTP_CHECK host without its own connect_timeout: keepalived 2.2.7 gives it a 0 s timeout, so there the check always fails; lvsd uses the checker's connect_timeout",
        );
      }
    }
    const timing = checkerTiming('SMTP_CHECK', levels, settings.logAllFailures ?? false);
    for (const target of targets) {
      // A host without connect_timeout takes the checker's, on purpose (see the warning above).
      const connection = connect(target.settings, [target.settings, ...levels], context, target.at, true, d);
      if (connection) into.push({ at: target.at, timing, kind: 'SMTP_CHECK', connection, heloName });
    }
    return;
  }
  const timing = checkerTiming(specific.kind, levels, settings.logAllFailures ?? false);
  switch (specific.kind) {
    case 'MISC_CHECK':
      if (!specific.script) d.error(at, "MISC_CHECK has no 'misc_path'");
      else into.push({ at, timing, kind: 'MISC_CHECK', script: { ...specific.script, ...specific.user }, timeoutMs: specific.timeoutMs ?? timing.delayLoopMs, dynamic: specific.dynamic });
      return;
    case 'FILE_CHECK': {
      if (specific.trackFile === undefined) {
        d.error(at, "FILE_CHECK has no 'track_file'");
        return;
      }
      const tracked = context.trackFiles.get(specific.trackFile);
      if (!tracked) {
        d.error(at, `FILE_CHECK refers to track_file '${specific.trackFile}', which is not defined`);
        return;
      }
      // Without a weight of its own the checker takes the track_file's, reverse and all (keepalived's file_end_handler).
      const { weight, reverse } = specific.weight === undefined ? tracked : { weight: specific.weight, reverse: specific.reverse };
      into.push({ at, timing, kind: 'FILE_CHECK', trackFile: specific.trackFile, weight, reverse });
      return;
    }
    case 'HTTP_GET':
    case 'SSL_GET':
      if (specific.urls.length === 0) {
        d.warn(at, `${specific.kind} checker has no urls specified - ignoring`);
        return;
      }
      break;
    case 'UDP_CHECK':
      if (specific.minReplyLength > specific.maxReplyLength) {
        d.error(at, `min_reply_length ${specific.minReplyLength} is greater than max_reply_length ${specific.maxReplyLength}`);
        return;
      }
      break;
  }
  const connection = connect(settings, levels, context, at, specific.kind !== 'PING_CHECK', d);
  if (!connection) return;
  switch (specific.kind) {
    case 'TCP_CHECK':
    case 'PING_CHECK':
      into.push({ at, timing, kind: specific.kind, connection });
      return;
    case 'HTTP_GET':
    case 'SSL_GET': {
      const { kind, httpProtocol, urls, fastRecovery, enableSni } = specific;
      // check_ssl.c:ssl_connect names the TLS server after the checker, then the virtual server, never the real server.
      const sniVirtualhost = pick('virtualhost', [settings, context.virtualServer]);
      into.push({ at, timing, kind, connection, httpProtocol, urls, virtualhost: pick('virtualhost', levels), sniVirtualhost, fastRecovery, enableSni });
      return;
    }
    case 'UDP_CHECK': {
      const { kind, payload, requireReply, requireReplyPattern, minReplyLength, maxReplyLength } = specific;
      into.push({ at, timing, kind, connection, payload, requireReply, requireReplyPattern, minReplyLength, maxReplyLength });
      return;
    }
    case 'DNS_CHECK':
      into.push({ at, timing, kind: 'DNS_CHECK', connection, type: specific.type, name: specific.name });
      return;
  }
}
