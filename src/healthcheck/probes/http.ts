import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import type { ProbeResult } from '../state.ts';
import { ProbeClock, describeError } from './result.ts';

export interface StatusRange {
  readonly from: number;
  readonly to: number;
}

export interface HttpUrlExpectation {
  readonly path: string;
  /** Lower-case hex MD5 of the body. */
  readonly digest?: string;
  /** Empty means keepalived's default 200-299. */
  readonly statusCodes: readonly StatusRange[];
  readonly virtualhost?: string;
  readonly regex?: RegExp;
  /** Fail when `regex` matches instead of when it does not. */
  readonly regexNoMatch: boolean;
}

export interface HttpProbeOptions {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly bindTo?: string;
  readonly timeoutMs: number;
  /** Host header when a url has none of its own. */
  readonly virtualhost?: string;
  /** TLS server name to send; none when undefined (keepalived without enable_sni). */
  readonly sni?: string;
  readonly verifyCertificate: boolean;
  /** '1.0' and '1.0C' close the connection after the request; '1.1' too (one check, one connection). */
  readonly httpProtocol: '1.0' | '1.0C' | '1.1';
  readonly urls: readonly HttpUrlExpectation[];
}

const DEFAULT_STATUS: readonly StatusRange[] = [{ from: 200, to: 299 }];

/**
 * HTTP_GET / SSL_GET: every url must answer with an accepted status, the
 * expected MD5 digest and regex outcome. Like keepalived, each check opens a
 * fresh connection. undici always speaks HTTP/1.1 on the wire.
 */
export async function httpProbe(options: HttpProbeOptions, agents: HttpAgents): Promise<ProbeResult> {
  const clock = new ProbeClock();
  const dispatcher = agents.agentFor(options);
  const signal = AbortSignal.timeout(options.timeoutMs);
  const origin = `${options.tls ? 'https' : 'http'}://${isIPv6(options.host) ? `[${options.host}]` : options.host}:${options.port}`;
  for (const url of options.urls) {
    const failure = await checkUrl(origin, url, options, dispatcher, signal);
    if (failure !== null) return clock.fail(failure);
  }
  return clock.ok();
}

async function checkUrl(
  origin: string,
  url: HttpUrlExpectation,
  options: HttpProbeOptions,
  dispatcher: Agent,
  signal: AbortSignal,
): Promise<string | null> {
  const vhost = url.virtualhost ?? options.virtualhost;
  try {
    const response = await request(origin + url.path, {
      method: 'GET',
      dispatcher,
      signal,
      reset: true,
      headers: {
        'user-agent': 'KeepAliveClient',
        ...(vhost === undefined ? {} : { host: vhost }),
      },
    });
    const statusOk = (url.statusCodes.length === 0 ? DEFAULT_STATUS : url.statusCodes).some(
      (r) => response.statusCode >= r.from && response.statusCode <= r.to,
    );
    if (!statusOk && url.digest === undefined && url.regex === undefined) {
      await response.body.dump();
      return `${url.path}: HTTP status ${response.statusCode}`;
    }
    const hash = createHash('md5');
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) {
      hash.update(chunk as Buffer);
      if (url.regex !== undefined) chunks.push(chunk as Buffer);
    }
    if (!statusOk) return `${url.path}: HTTP status ${response.statusCode}`;
    if (url.digest !== undefined) {
      const digest = hash.digest('hex');
      if (digest !== url.digest) return `${url.path}: MD5 digest ${digest} differs from ${url.digest}`;
    }
    if (url.regex !== undefined) {
      const matched = url.regex.test(Buffer.concat(chunks).toString('latin1'));
      if (matched === url.regexNoMatch) {
        return `${url.path}: body ${matched ? 'matches' : 'does not match'} regex ${url.regex.source}`;
      }
    }
    return null;
  } catch (error) {
    if (signal.aborted) return `${url.path}: timeout after ${options.timeoutMs} ms`;
    return `${url.path}: ${describeError(error)}`;
  }
}

/** undici agents shared by all HTTP checks, one per distinct source address / TLS setting. */
export class HttpAgents {
  private readonly agents = new Map<string, Agent>();

  agentFor(options: Pick<HttpProbeOptions, 'bindTo' | 'sni' | 'verifyCertificate' | 'timeoutMs'>): Agent {
    const key = `${options.bindTo ?? ''}|${options.sni ?? ''}|${options.verifyCertificate}|${options.timeoutMs}`;
    let agent = this.agents.get(key);
    if (agent === undefined) {
      const base = buildConnector({
        rejectUnauthorized: options.verifyCertificate,
        timeout: options.timeoutMs,
        ...(options.bindTo === undefined ? {} : { localAddress: options.bindTo }),
      });
      const sni = options.sni;
      agent = new Agent({
        // undici would derive the TLS server name from the Host header; keepalived
        // sends one only with enable_sni, so the checker decides.
        connect: (connectOptions, callback) => base({ ...connectOptions, servername: sni }, callback),
        keepAliveTimeout: 1,
        keepAliveMaxTimeout: 1,
      });
      this.agents.set(key, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.close()));
  }
}
