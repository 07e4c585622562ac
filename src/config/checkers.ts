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
  block, dispatch, flag, integer, ip, name, oneOf, port, script, text, timerMs, type Handlers, type Mutable,
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

export function inheritableHandlers(target: Mutable<Inheritable>, d: Diagnostics): Handlers {
  const retry = (s: Statement) => {
    target.retry = integer(s, 0, d, 0, 0xffff) ?? target.retry;
  };
  return {
    delay_loop: (s) => { target.delayLoopMs = timerMs(s, 0, d) ?? target.delayLoopMs; },
    connect_timeout: (s) => { target.connectTimeoutMs = timerMs(s, 0, d) ?? target.connectTimeoutMs; },
    retry,
    nb_get_retry: (s) => {
      d.warn(s.at, "'nb_get_retry' is deprecated, use 'retry'");
      retry(s);
    },
    delay_before_retry: (s) => { target.delayBeforeRetryMs = timerMs(s, 0, d) ?? target.delayBeforeRetryMs; },
    warmup: (s) => { target.warmupMs = timerMs(s, 0, d) ?? target.warmupMs; },
    alpha: (s) => { target.alpha = flag(s, 0, d) ?? target.alpha; },
    virtualhost: (s) => { target.virtualhost = text(s, 0, d, 'a host name') ?? target.virtualhost; },
  };
}

interface ConnectionSettings {
  connectIp?: IpAddress;
  connectPort?: number;
  bindTo?: IpAddress;
  bindPort?: number;
  bindInterface?: string;
  fwmark?: number;
  logAllFailures?: boolean;
}

function connectionHandlers(target: ConnectionSettings, d: Diagnostics): Handlers {
  return {
    connect_ip: (s) => { target.connectIp = ip(s, 0, d) ?? target.connectIp; },
    connect_port: (s) => { target.connectPort = port(s, 0, d) ?? target.connectPort; },
    bindto: (s) => { target.bindTo = ip(s, 0, d) ?? target.bindTo; },
    bind_port: (s) => { target.bindPort = port(s, 0, d) ?? target.bindPort; },
    bind_if: (s) => { target.bindInterface = text(s, 0, d, 'an interface') ?? target.bindInterface; },
    fwmark: (s) => { target.fwmark = integer(s, 0, d, 0, 0xffffffff) ?? target.fwmark; },
    log_all_failures: (s) => { target.logAllFailures = flag(s, 0, d) ?? target.logAllFailures; },
  };
}

type Specific =
  | { kind: 'TCP_CHECK' | 'PING_CHECK' }
  | {
      kind: 'HTTP_GET' | 'SSL_GET';
      httpProtocol: HttpCheck['httpProtocol'];
      urls: HttpUrl[];
      fastRecovery: boolean;
      enableSni: boolean;
    }
  | {
      kind: 'UDP_CHECK';
      payload?: string;
      requireReply: boolean;
      requireReplyPattern?: string;
      minReplyLength: number;
      maxReplyLength: number;
    }
  | { kind: 'DNS_CHECK'; type: DnsQueryType; name: string }
  | { kind: 'SMTP_CHECK'; heloName?: string; hosts: { at: SourceLocation; settings: ConnectionSettings & Mutable<Inheritable> }[] }
  | { kind: 'MISC_CHECK'; script?: ScriptCommand; timeoutMs?: number; dynamic: boolean }
  | { kind: 'FILE_CHECK'; trackFile?: string; weight?: number; reverse: boolean; dynamic: boolean };

export interface ParsedChecker {
  readonly at: SourceLocation;
  readonly settings: ConnectionSettings & Mutable<Inheritable>;
  readonly specific: Specific;
}

export const CHECKER_KINDS: readonly CheckerKind[] = [
  'TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'PING_CHECK', 'UDP_CHECK', 'DNS_CHECK', 'SMTP_CHECK', 'MISC_CHECK', 'FILE_CHECK',
];

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

function parseUrl(s: Statement, d: Diagnostics): HttpUrl | undefined {
  const url: Mutable<Partial<HttpUrl>> = { at: s.at };
  const statusCodes: HttpStatusRange[] = [];
  let regexOptions: string[] = [];
  dispatch(block(s, d) ?? [], {
    path: (t) => { url.path = text(t, 0, d, 'a path') ?? url.path; },
    digest: (t) => {
      const digest = text(t, 0, d, 'an MD5 digest');
      if (digest === undefined) return;
      if (/^[0-9a-fA-F]{32}$/.test(digest)) url.digest = digest.toLowerCase();
      else d.error(t.args[0]!.at, `digest must be 32 hex digits (an MD5 sum), got '${digest}'`);
    },
    status_code: (t) => { statusCodes.push(...(parseStatusCodes(t, d) ?? [])); },
    virtualhost: (t) => { url.virtualhost = text(t, 0, d, 'a host name') ?? url.virtualhost; },
    regex: (t) => {
      const pattern = text(t, 0, d, 'a regular expression');
      if (pattern === undefined) return;
      try {
        new RegExp(pattern);
        url.regex = pattern;
      } catch (e) {
        d.error(t.args[0]!.at, `invalid regex: ${(e as Error).message}`);
      }
    },
    regex_no_match: (t) => { url.regexNoMatch = flag(t, 0, d) ?? false; },
    regex_options: (t) => { regexOptions = t.args.map((a) => a.text); },
    regex_stack: () => undefined,
    regex_min_offset: (t) => { url.regexMinOffset = integer(t, 0, d, 0, 0x7fffffff); },
    regex_max_offset: (t) => { url.regexMaxOffset = integer(t, 0, d, 0, 0x7fffffff); },
  }, d, 'url');
  if (url.path === undefined) {
    d.error(s.at, "url block has no 'path'");
    return undefined;
  }
  return {
    at: s.at,
    path: url.path,
    ...(url.digest !== undefined && { digest: url.digest }),
    statusCodes: statusCodes.length > 0 ? statusCodes : DEFAULT_STATUS_CODES,
    ...(url.virtualhost !== undefined && { virtualhost: url.virtualhost }),
    ...(url.regex !== undefined && { regex: url.regex }),
    regexNoMatch: url.regexNoMatch ?? false,
    regexOptions,
    ...(url.regexMinOffset !== undefined && { regexMinOffset: url.regexMinOffset }),
    ...(url.regexMaxOffset !== undefined && { regexMaxOffset: url.regexMaxOffset }),
  };
}

function specificHandlers(specific: Specific, d: Diagnostics): Handlers {
  switch (specific.kind) {
    case 'TCP_CHECK':
    case 'PING_CHECK':
      return {};
    case 'HTTP_GET':
    case 'SSL_GET':
      return {
        url: (s) => {
          const url = parseUrl(s, d);
          if (url) specific.urls.push(url);
        },
        http_protocol: (s) => {
          specific.httpProtocol = oneOf(s, 0, d, ['1.0', '1.0C', '1.1'] as const, (w) => (w === '1.0c' ? '1.0C' : w)) ?? specific.httpProtocol;
        },
        fast_recovery: (s) => { specific.fastRecovery = flag(s, 0, d) ?? specific.fastRecovery; },
        ...(specific.kind === 'SSL_GET' && {
          enable_sni: (s: Statement) => { specific.enableSni = flag(s, 0, d) ?? specific.enableSni; },
        }),
      };
    case 'UDP_CHECK':
      return {
        payload: (s) => { specific.payload = hexString(s, d, false) ?? specific.payload; },
        require_reply: (s) => {
          specific.requireReply = true;
          if (s.args.length > 0) specific.requireReplyPattern = hexString(s, d, true);
        },
        min_reply_length: (s) => { specific.minReplyLength = integer(s, 0, d, 0, 65535) ?? specific.minReplyLength; },
        max_reply_length: (s) => { specific.maxReplyLength = integer(s, 0, d, 0, 65535) ?? specific.maxReplyLength; },
      };
    case 'DNS_CHECK':
      return {
        type: (s) => { specific.type = oneOf(s, 0, d, DNS_TYPES, (w) => w.toUpperCase()) ?? specific.type; },
        name: (s) => { specific.name = text(s, 0, d, 'a domain name') ?? specific.name; },
      };
    case 'SMTP_CHECK':
      return {
        helo_name: (s) => { specific.heloName = text(s, 0, d, 'a name') ?? specific.heloName; },
        host: (s) => {
          const settings: ConnectionSettings & Mutable<Inheritable> = {};
          dispatch(block(s, d) ?? [], { ...connectionHandlers(settings, d), ...inheritableHandlers(settings, d) }, d, 'SMTP_CHECK host');
          specific.hosts.push({ at: s.at, settings });
        },
      };
    case 'MISC_CHECK':
      return {
        misc_path: (s) => { specific.script = script(s, d) ?? specific.script; },
        misc_timeout: (s) => { specific.timeoutMs = timerMs(s, 0, d) ?? specific.timeoutMs; },
        misc_dynamic: (s) => { specific.dynamic = flag(s, 0, d) ?? specific.dynamic; },
        user: (s) => {
          const user = text(s, 0, d, 'a user name');
          const group = s.args[1]?.text;
          if (user !== undefined && specific.script) {
            specific.script = { ...specific.script, user, ...(group !== undefined && { group }) };
          } else if (user !== undefined) d.error(s.at, "'user' must come after 'misc_path'");
        },
      };
    case 'FILE_CHECK':
      return {
        track_file: (s) => { specific.trackFile = text(s, 0, d, 'a track_file name') ?? specific.trackFile; },
        file: (s) => { specific.trackFile = text(s, 0, d, 'a track_file name') ?? specific.trackFile; },
        weight: (s) => {
          specific.weight = integer(s, 0, d, -2147483647, 2147483647) ?? specific.weight;
          specific.reverse = s.args[1]?.text === 'reverse';
        },
        dynamic: (s) => { specific.dynamic = flag(s, 0, d) ?? specific.dynamic; },
      };
  }
}

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
      return { kind, reverse: false, dynamic: false };
  }
}

export function parseChecker(s: Statement, kind: CheckerKind, d: Diagnostics): ParsedChecker {
  const settings: ConnectionSettings & Mutable<Inheritable> = {};
  const specific = emptySpecific(kind);
  const common: Handlers =
    kind === 'MISC_CHECK'
      ? inheritableHandlers(settings, d)
      : kind === 'FILE_CHECK'
        ? {}
        : { ...connectionHandlers(settings, d), ...inheritableHandlers(settings, d) };
  dispatch(block(s, d) ?? [], { ...common, ...specificHandlers(specific, d) }, d, kind);
  return { at: s.at, settings, specific };
}

// ---------------------------------------------------------------- resolution

export interface CheckerContext {
  readonly address: IpAddress;
  /** The real server's port as configured (before any DR/TUN reset). */
  readonly port: number;
  readonly realServer: Inheritable;
  readonly virtualServer: Inheritable;
  readonly trackFiles: ReadonlyMap<string, TrackFile>;
  readonly heloName: string;
}

const DEFAULT_DELAY_LOOP_MS = 60_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export function defaultDelayLoopMs(...levels: Inheritable[]): number {
  return levels.find((l) => l.delayLoopMs !== undefined)?.delayLoopMs ?? DEFAULT_DELAY_LOOP_MS;
}

function pick<K extends keyof Inheritable>(key: K, levels: readonly Inheritable[]): Inheritable[K] {
  return levels.find((l) => l[key] !== undefined)?.[key];
}

function timing(kind: CheckerKind, levels: readonly Inheritable[], logAllFailures: boolean): CheckerTiming {
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

function connection(
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
    d.error(at, 'checker has no port to connect to: set connect_port or give the real server a port');
    return undefined;
  }
  if (settings.bindTo && settings.bindTo.family !== connectIp.family) {
    d.error(at, `bindto ${settings.bindTo.text} is not in the address family of ${connectIp.text}`);
    return undefined;
  }
  return {
    connectIp: connectIp.text,
    connectPort,
    family: connectIp.family,
    ...(settings.bindTo && { bindTo: settings.bindTo.text }),
    ...(settings.bindPort !== undefined && { bindPort: settings.bindPort }),
    ...(settings.bindInterface !== undefined && { bindInterface: settings.bindInterface }),
    ...(settings.fwmark !== undefined && { fwmark: settings.fwmark }),
    connectTimeoutMs: pick('connectTimeoutMs', levels) ?? DEFAULT_CONNECT_TIMEOUT_MS,
  };
}

/** Resolves one parsed checker; SMTP_CHECK `host` blocks each become a checker. Invalid checkers are reported and dropped. */
export function resolveChecker(parsed: ParsedChecker, context: CheckerContext, d: Diagnostics): Checker[] {
  const { settings, specific, at } = parsed;
  const levels = [settings, context.realServer, context.virtualServer];
  const base = { at, timing: timing(specific.kind, levels, settings.logAllFailures ?? false) };
  const conn = () => connection(settings, levels, context, at, specific.kind !== 'PING_CHECK', d);
  switch (specific.kind) {
    case 'TCP_CHECK':
    case 'PING_CHECK': {
      const c = conn();
      return c ? [{ ...base, kind: specific.kind, connection: c }] : [];
    }
    case 'HTTP_GET':
    case 'SSL_GET': {
      if (specific.urls.length === 0) {
        d.warn(at, `${specific.kind} has no url block, checker ignored`);
        return [];
      }
      const c = conn();
      const virtualhost = pick('virtualhost', levels);
      return c
        ? [{
            ...base,
            kind: specific.kind,
            connection: c,
            httpProtocol: specific.httpProtocol,
            urls: specific.urls,
            ...(virtualhost !== undefined && { virtualhost }),
            fastRecovery: specific.fastRecovery,
            enableSni: specific.enableSni,
          }]
        : [];
    }
    case 'UDP_CHECK': {
      const c = conn();
      const { kind, payload, requireReply, requireReplyPattern, minReplyLength, maxReplyLength } = specific;
      if (minReplyLength > maxReplyLength) {
        d.error(at, `min_reply_length ${minReplyLength} is greater than max_reply_length ${maxReplyLength}`);
        return [];
      }
      return c
        ? [{
            ...base, kind, connection: c, requireReply, minReplyLength, maxReplyLength,
            ...(payload !== undefined && { payload }),
            ...(requireReplyPattern !== undefined && { requireReplyPattern }),
          }]
        : [];
    }
    case 'DNS_CHECK': {
      const c = conn();
      return c ? [{ ...base, kind: 'DNS_CHECK', connection: c, type: specific.type, name: specific.name }] : [];
    }
    case 'SMTP_CHECK': {
      const heloName = specific.heloName ?? context.heloName;
      const hosts = specific.hosts.length > 0 ? specific.hosts : [{ at, settings: {} }];
      return hosts.flatMap((host) => {
        const hostLevels = [host.settings, ...levels];
        const merged = { ...settings, ...host.settings };
        const c = connection(merged, hostLevels, context, host.at, true, d);
        return c
          ? [{ at: host.at, timing: timing('SMTP_CHECK', hostLevels, merged.logAllFailures ?? false), kind: 'SMTP_CHECK' as const, connection: c, heloName }]
          : [];
      });
    }
    case 'MISC_CHECK': {
      if (!specific.script) {
        d.error(at, "MISC_CHECK has no 'misc_path'");
        return [];
      }
      return [{ ...base, kind: 'MISC_CHECK', script: specific.script, timeoutMs: specific.timeoutMs ?? base.timing.delayLoopMs, dynamic: specific.dynamic }];
    }
    case 'FILE_CHECK': {
      if (specific.trackFile === undefined) {
        d.error(at, "FILE_CHECK has no 'track_file'");
        return [];
      }
      const tracked = context.trackFiles.get(specific.trackFile);
      if (!tracked) {
        d.error(at, `FILE_CHECK refers to track_file '${specific.trackFile}', which is not defined`);
        return [];
      }
      return [{
        ...base,
        kind: 'FILE_CHECK',
        trackFile: specific.trackFile,
        weight: specific.weight ?? tracked.weight,
        reverse: specific.reverse,
        dynamic: specific.dynamic,
      }];
    }
  }
}
