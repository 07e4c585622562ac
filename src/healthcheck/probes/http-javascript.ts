// HTTP_GET / SSL_GET exchanged in JavaScript, where the native probe engine does not load (and in the
// tests that hold the two side by side). Node's TLS stack loads only when this runs.
import { createSecureContext } from 'node:tls';
import type { HttpProbeOptions, HttpUrlExpectation } from './http.ts';
import { httpWireGet, type HttpWireResult, type TlsReuse } from './http-wire.ts';

/** One TLS context per checker, and its last session under each server name to resume. */
const tlsReuse = new WeakMap<HttpProbeOptions, TlsReuse>();

function tlsReuseOf(options: HttpProbeOptions): TlsReuse {
  let reuse = tlsReuse.get(options);
  if (reuse === undefined) {
    const context = createSecureContext({});
    reuse = { context, sessions: new Map() };
    tlsReuse.set(options, reuse);
  }
  return reuse;
}

export function fetchUrl(url: HttpUrlExpectation, options: HttpProbeOptions): Promise<HttpWireResult> {
  const virtualhost = url.virtualhost ?? options.virtualhost;
  return httpWireGet({
    tls: options.tls,
    host: options.host,
    port: options.port,
    path: url.path,
    protocol: options.httpProtocol,
    verifyCertificate: options.verifyCertificate,
    timeoutMs: options.timeoutMs,
    keepBody: url.regex !== undefined,
    hashBody: url.digest !== undefined,
    ...(options.bindTo === undefined ? {} : { bindTo: options.bindTo }),
    ...(virtualhost === undefined ? {} : { virtualhost }),
    ...(url.sni === undefined ? {} : { sni: url.sni }),
    ...(options.tls ? { tlsReuse: tlsReuseOf(options) } : {}),
  });
}

