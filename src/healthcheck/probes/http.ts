import type { ProbeResult } from '../state.ts';
import type { HttpProtocol } from './http-request.ts';
import type { HttpWireResult } from './http-wire.ts';
import { ProbeClock } from './result.ts';

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
  /** Host header; the checker's `virtualhost` when undefined. */
  readonly virtualhost?: string;
  /**
   * TLS server name for this url's connection (keepalived names each url's handshake: ssl_connect
   * takes the url's virtualhost first); none when undefined (keepalived without enable_sni).
   */
  readonly sni?: string;
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
  readonly verifyCertificate: boolean;
  readonly httpProtocol: HttpProtocol;
  readonly urls: readonly HttpUrlExpectation[];
  /** keepalived's close (FIN) instead of the default reset; see native/probe. */
  readonly closeWithFin?: boolean;
}

/** Fetches one url of a checker: in JavaScript here, or through the native probe engine. */
export type UrlFetcher = (url: HttpUrlExpectation, options: HttpProbeOptions) => Promise<HttpWireResult>;

const DEFAULT_STATUS: readonly StatusRange[] = [{ from: 200, to: 299 }];

/**
 * HTTP_GET / SSL_GET: every url, in order, each on a fresh connection like
 * keepalived, must answer with an accepted status, the expected MD5 digest and
 * regex outcome.
 */
export async function httpProbe(options: HttpProbeOptions, fetch: UrlFetcher = fetchInJavaScript): Promise<ProbeResult> {
  const clock = new ProbeClock();
  for (const url of options.urls) {
    const failure = await checkUrl(url, options, fetch);
    if (failure !== null) return clock.fail(failure);
  }
  return clock.ok();
}

/** The JavaScript exchange, loaded only where it runs (the engine did not load, or a test asks for it). */
const fetchInJavaScript: UrlFetcher = async (url, options) => (await import('./http-javascript.ts')).fetchUrl(url, options);

async function checkUrl(url: HttpUrlExpectation, options: HttpProbeOptions, fetch: UrlFetcher): Promise<string | null> {
  const response = await fetch(url, options);
  if (!response.ok) return `${url.path}: ${response.error}`;
  const statusOk = (url.statusCodes.length === 0 ? DEFAULT_STATUS : url.statusCodes).some(
    (r) => response.status >= r.from && response.status <= r.to,
  );
  if (!statusOk) return `${url.path}: HTTP status ${response.status}`;
  if (url.digest !== undefined && response.md5 !== url.digest) {
    return `${url.path}: MD5 digest ${response.md5} differs from ${url.digest}`;
  }
  if (url.regex !== undefined && response.body !== null) {
    const matched = url.regex.test(response.body.toString('latin1'));
    if (matched === url.regexNoMatch) {
      return `${url.path}: body ${matched ? 'matches' : 'does not match'} regex ${url.regex.source}`;
    }
  }
  return null;
}
