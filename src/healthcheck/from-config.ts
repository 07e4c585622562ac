// The one place that knows the config model: turns resolved virtual servers
// into the pool's narrow check specs, and says what it cannot honour.
import type {
  Checker,
  CheckerConnection,
  FileCheck,
  HttpCheck,
  HttpUrl,
  KeepalivedConfig,
  RealServer,
  TrackFile,
  VirtualServer,
} from '../config/model.ts';
import type { PoolCheckerSpec, RealServerCheckSpec } from './pool.ts';
import type { ProbeSpec } from './probe-runner.ts';
import type { HttpUrlExpectation } from './probes/http.ts';
import { splitCommandLine } from '../util/command.ts';
import { canonicalAddress } from '../vrrp/ip.ts';
import type { TcpProbeOptions } from './probes/tcp.ts';
import type { TrackedFileRule } from './tracked-file.ts';

export interface CheckSpecNaming {
  /** The daemon's name for a virtual server (verdicts carry it back). */
  readonly virtualServer: (vs: VirtualServer) => string;
  readonly realServer: (rs: RealServer) => string;
}

export interface CheckSpecs {
  readonly specs: RealServerCheckSpec[];
  /** Settings lvsd does not honour, one line each, to be logged at start and reload. */
  readonly warnings: string[];
}

export function checkSpecsFromConfig(config: KeepalivedConfig, naming: CheckSpecNaming): CheckSpecs {
  const specs: RealServerCheckSpec[] = [];
  for (const vs of config.virtualServers) {
    const virtualServer = naming.virtualServer(vs);
    const haSuspend = haSuspendOf(vs);
    for (const rs of vs.realServers) {
      const checkers = rs.checkers.map((checker, index): PoolCheckerSpec => ({
        id: checkerId(checker, index),
        timing: {
          delayLoopMs: checker.timing.delayLoopMs,
          // keepalived sets a FILE_CHECK from the file as it reads it, at start and at each change
          // (check_file.c set_track_file_checkers_down, track_file.c): no retry delays a fault.
          retry: checker.kind === 'FILE_CHECK' ? 0 : checker.timing.retry,
          delayBeforeRetryMs: checker.timing.delayBeforeRetryMs,
          alpha: checker.timing.alpha,
        },
        warmupMs: checker.timing.warmupMs,
        probe: probeSpec(checker, config),
      }));
      specs.push({ virtualServer, realServer: naming.realServer(rs), weight: rs.weight, checkers, ...haSuspend });
    }
  }
  return { specs, warnings: checkerWarnings(config, naming) };
}

/**
 * The warnings of checkSpecsFromConfig without its specs: what `lvsd -t` prints, where building
 * the specs of 10,000 real servers only to drop them was a tenth of its time.
 */
export function checkerWarnings(config: KeepalivedConfig, naming: CheckSpecNaming): string[] {
  const warnings: string[] = [];
  for (const vs of config.virtualServers) {
    for (const rs of vs.realServers) {
      for (let index = 0; index < rs.checkers.length; index++) {
        const checker = rs.checkers[index]!;
        for (const message of unhonoured(checker, config)) {
          const where = `${naming.virtualServer(vs)} real_server ${naming.realServer(rs)} ${checkerId(checker, index)}`;
          warnings.push(`${checker.at.file}:${checker.at.line}: ${where}: ${message}`);
        }
      }
    }
  }
  return warnings;
}

function checkerId(checker: Checker, index: number): string {
  return `${checker.kind}#${index}`;
}

/** A checker's settings that lvsd reads but does not honour, in the order the checker is built. */
function unhonoured(checker: Checker, config: KeepalivedConfig): string[] {
  switch (checker.kind) {
    case 'TCP_CHECK':
    case 'PING_CHECK':
    case 'UDP_CHECK':
    case 'DNS_CHECK':
    case 'SMTP_CHECK':
      return unhonouredConnection(checker.connection);
    case 'HTTP_GET':
    case 'SSL_GET':
      return [
        ...unhonouredConnection(checker.connection),
        ...(checker.fastRecovery ? ['fast_recovery is not supported'] : []),
        ...checker.urls.flatMap(unhonouredRegex),
      ];
    case 'MISC_CHECK':
      return [];
    case 'FILE_CHECK':
      return trackedFileOf(config, checker).defined ? [] : [`track_file ${checker.trackFile} is not defined; reading it as a path`];
  }
}

function unhonouredConnection(c: CheckerConnection): string[] {
  const messages: string[] = [];
  if (c.bindInterface !== undefined) messages.push(`bind_if ${c.bindInterface} is not supported`);
  if (c.fwmark !== undefined) messages.push(`fwmark ${c.fwmark} is not supported (no SO_MARK from Node)`);
  return messages;
}

function unhonouredRegex(url: HttpUrl): string[] {
  if (url.regex === undefined) return [];
  const messages = url.regexOptions.filter((option) => REGEX_FLAGS[option] === undefined).map((option) => `url ${url.path}: regex_options ${option} is not supported`);
  if (url.regexMinOffset !== undefined || url.regexMaxOffset !== undefined) {
    messages.push(`url ${url.path}: regex_min_offset/regex_max_offset are not supported; the whole body is searched`);
  }
  const regex = compileRegex(url.regex, url.regexOptions);
  if (regex instanceof Error) messages.push(`url ${url.path}: regex ${url.regex} is not a valid JavaScript regex (${regex.message}); the check fails`);
  return messages;
}

function haSuspendOf(vs: VirtualServer): Pick<RealServerCheckSpec, 'haSuspend'> {
  if (!vs.haSuspend) return {};
  return { haSuspend: { address: vs.key.kind === 'address' ? canonicalAddress(vs.key.address) : null } };
}

function probeSpec(checker: Checker, config: KeepalivedConfig): ProbeSpec {
  switch (checker.kind) {
    case 'TCP_CHECK':
      return { kind: 'TCP_CHECK', options: { ...target(checker.connection), ...closeMode(config), ...tcpMode(config) } };
    case 'HTTP_GET':
    case 'SSL_GET':
      return { kind: checker.kind, options: { ...httpOptions(checker), ...closeMode(config) } };
    case 'PING_CHECK': {
      const { host, timeoutMs } = target(checker.connection);
      return { kind: 'PING_CHECK', options: { host, timeoutMs } };
    }
    case 'UDP_CHECK':
      return {
        kind: 'UDP_CHECK',
        options: {
          ...target(checker.connection),
          ...(checker.payload === undefined ? {} : { payloadHex: checker.payload }),
          requireReply: checker.requireReply,
          ...(checker.requireReplyPattern === undefined ? {} : { replyPattern: checker.requireReplyPattern }),
          minReplyLength: checker.minReplyLength,
          maxReplyLength: checker.maxReplyLength,
        },
      };
    case 'DNS_CHECK':
      return { kind: 'DNS_CHECK', options: { ...target(checker.connection), type: checker.type, name: checker.name } };
    case 'SMTP_CHECK':
      return { kind: 'SMTP_CHECK', options: { ...target(checker.connection), heloName: checker.heloName } };
    case 'MISC_CHECK':
      return {
        kind: 'MISC_CHECK',
        options: {
          argv: splitCommandLine(checker.script.command),
          timeoutMs: checker.timeoutMs,
          dynamic: checker.dynamic,
          ...(checker.script.runAs && { user: checker.script.runAs }),
        },
      };
    case 'FILE_CHECK': {
      const tracked = trackedFileOf(config, checker);
      return { kind: 'FILE_CHECK', options: tracked.rule, ...(tracked.initFile === undefined ? {} : { initFile: tracked.initFile }) };
    }
  }
}

/** The file a FILE_CHECK reads and its rule; `defined` is false where no track_file has its name. */
export function trackedFileOf(config: KeepalivedConfig, checker: FileCheck): { rule: TrackedFileRule; initFile?: TrackFile['initFile']; defined: boolean } {
  const tracked = config.trackFiles.find((t) => t.name === checker.trackFile);
  return {
    rule: { path: tracked?.file ?? checker.trackFile, weight: checker.weight, reverse: checker.reverse },
    ...(tracked?.initFile === undefined ? {} : { initFile: tracked.initFile }),
    defined: tracked !== undefined,
  };
}

function closeMode(config: KeepalivedConfig): { closeWithFin?: true } {
  return config.globalDefs.probeClose === 'fin' ? { closeWithFin: true } : {};
}

/** Half-open where asked, except under keepalived's close, which wants whole connections (warned at the keyword). */
function tcpMode(config: KeepalivedConfig): { halfOpen?: true } {
  return config.globalDefs.tcpCheck === 'syn' && config.globalDefs.probeClose !== 'fin' ? { halfOpen: true } : {};
}

function target(c: CheckerConnection): TcpProbeOptions {
  return {
    host: c.connectIp,
    port: c.connectPort,
    timeoutMs: c.connectTimeoutMs,
    ...(c.bindTo === undefined ? {} : { bindTo: c.bindTo }),
    ...(c.bindPort === undefined ? {} : { bindPort: c.bindPort }),
  };
}

function httpOptions(checker: HttpCheck) {
  const { host, port, timeoutMs, bindTo } = target(checker.connection);
  return {
    tls: checker.kind === 'SSL_GET',
    host,
    port,
    timeoutMs,
    ...(bindTo === undefined ? {} : { bindTo }),
    ...(checker.virtualhost === undefined ? {} : { virtualhost: checker.virtualhost }),
    // keepalived 2.2.7 does not verify the real server's certificate.
    verifyCertificate: false,
    httpProtocol: checker.httpProtocol,
    urls: checker.urls.map((url) => urlExpectation(url, serverNameOf(checker, url))),
  };
}

/**
 * The TLS server name keepalived 2.2.7 sends for one url (check_ssl.c:ssl_connect): with enable_sni,
 * the url's virtualhost, else the checker's, else the virtual server's, never the real server's.
 */
function serverNameOf(checker: HttpCheck, url: HttpUrl): string | undefined {
  if (checker.kind !== 'SSL_GET' || !checker.enableSni) return undefined;
  return url.virtualhost ?? checker.sniVirtualhost;
}

/** PCRE2 options keepalived accepts in regex_options that a JavaScript RegExp can express. */
const REGEX_FLAGS: Readonly<Record<string, string>> = { caseless: 'i', multiline: 'm', dotall: 's' };

/** A url's regex with the regex_options a JavaScript RegExp can express, or why it does not compile. */
function compileRegex(pattern: string, options: readonly string[]): RegExp | Error {
  let flags = '';
  for (const option of options) flags += REGEX_FLAGS[option] ?? '';
  try {
    return new RegExp(pattern, flags);
  } catch (error) {
    return error as Error;
  }
}

function urlExpectation(url: HttpUrl, sni: string | undefined): HttpUrlExpectation {
  const expectation: HttpUrlExpectation = {
    path: url.path,
    statusCodes: url.statusCodes,
    regexNoMatch: url.regexNoMatch,
    ...(url.digest === undefined ? {} : { digest: url.digest }),
    ...(url.virtualhost === undefined ? {} : { virtualhost: url.virtualhost }),
    ...(sni === undefined ? {} : { sni }),
  };
  if (url.regex === undefined) return expectation;
  const regex = compileRegex(url.regex, url.regexOptions);
  // A regex we cannot compile must not turn into "no regex": fail the url instead (see unhonouredRegex).
  return regex instanceof Error ? { ...expectation, regex: /(?!)/, regexNoMatch: false } : { ...expectation, regex };
}
