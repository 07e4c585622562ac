// One HTTP GET on a fresh connection, written and read by hand the way
// keepalived's HTTP_GET / SSL_GET and genhash do: the same request line and
// headers, and an MD5 over the raw bytes after the response header (no
// chunked decoding), so a digest printed by genhash or `lvsctl digest`
// matches what the checker computes.
import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { requestText, type HttpProtocol } from './http-request.ts';
import { startDeadline } from './result.ts';

export interface HttpWireRequest {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly bindTo?: string;
  readonly path: string;
  /** Host header; `host:port` when undefined. */
  readonly virtualhost?: string;
  readonly protocol: HttpProtocol;
  /** TLS server name; none when undefined. */
  readonly sni?: string;
  readonly verifyCertificate: boolean;
  readonly timeoutMs: number;
  /** Keep the body bytes (for a regex). */
  readonly keepBody: boolean;
  /** Compute the body's MD5 (for a digest). */
  readonly hashBody: boolean;
  readonly tlsReuse?: TlsReuse;
}

/**
 * What successive TLS checks of one checker share: its context, and the session to resume under each
 * server name ('' for none). A session is offered only to a handshake under the name it was made with:
 * a TLS 1.2 server resuming it would keep the session's name and not see the new one (RFC 6066 s. 3).
 */
export interface TlsReuse {
  readonly context: tls.SecureContext;
  readonly sessions: Map<string, Buffer>;
}

export type HttpWireResult =
  | { readonly ok: true; readonly status: number; readonly md5: string | null; readonly body: Buffer | null }
  | { readonly ok: false; readonly error: string };

const HEADER_END = Buffer.from('\r\n\r\n');
/** A response header larger than this is not an HTTP server we can check. */
const MAX_HEADER_BYTES = 64 * 1024;

export function httpWireGet(r: HttpWireRequest): Promise<HttpWireResult> {
  return new Promise((resolve) => {
    const local = r.bindTo === undefined ? {} : { localAddress: r.bindTo };
    const socket = r.tls
      ? tls.connect({
          host: r.host,
          port: r.port,
          rejectUnauthorized: r.verifyCertificate,
          ...(r.sni === undefined ? {} : { servername: r.sni }),
          ...(r.tlsReuse === undefined ? {} : { secureContext: r.tlsReuse.context, session: r.tlsReuse.sessions.get(r.sni ?? '') }),
          ...local,
        })
      : net.connect({ host: r.host, port: r.port, ...local });
    if (r.tlsReuse !== undefined) {
      const reuse = r.tlsReuse;
      socket.on('session', (session: Buffer) => {
        reuse.sessions.set(r.sni ?? '', session);
      });
    }
    let settled = false;
    const finish = (result: HttpWireResult): void => {
      if (settled) return;
      settled = true;
      deadline.cancel();
      socket.destroy();
      resolve(result);
    };
    const deadline = startDeadline(r.timeoutMs, () => finish({ ok: false, error: `timeout after ${r.timeoutMs} ms` }));

    let header: Buffer | null = Buffer.alloc(0);
    let status = 0;
    const hash = r.hashBody ? createHash('md5') : null;
    const body: Buffer[] = [];
    const onBody = (chunk: Buffer): void => {
      hash?.update(chunk);
      if (r.keepBody) body.push(chunk);
    };
    socket.once(r.tls ? 'secureConnect' : 'connect', () => {
      deadline.restart();
      socket.write(requestText(r));
    });
    socket.on('data', (chunk: Buffer) => {
      deadline.restart();
      if (header === null) return onBody(chunk);
      header = header.length === 0 ? chunk : Buffer.concat([header, chunk]);
      const end = header.indexOf(HEADER_END);
      if (end < 0) {
        if (header.length > MAX_HEADER_BYTES) finish({ ok: false, error: 'response header too large' });
        return;
      }
      const statusLine = /^HTTP\/\d\.\d (\d{3})/.exec(header.toString('latin1', 0, Math.min(end, 64)));
      if (statusLine === null) return finish({ ok: false, error: 'not an HTTP response' });
      status = Number(statusLine[1]);
      const rest = header.subarray(end + HEADER_END.length);
      header = null;
      if (rest.length > 0) onBody(rest);
    });
    socket.once('end', () => {
      if (header !== null) finish({ ok: false, error: 'connection closed before the response header' });
      else finish({ ok: true, status, md5: hash?.digest('hex') ?? null, body: r.keepBody ? Buffer.concat(body) : null });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      finish({ ok: false, error: error.code === undefined ? error.message : `${error.code}: ${error.message}` });
    });
  });
}
