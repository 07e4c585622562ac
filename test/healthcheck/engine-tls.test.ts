// SSL_GET through the native probe engine, on real TLS servers on loopback: each verdict with the
// reason lvsd gives, the JavaScript probe's verdict beside it, and what the engine keeps between
// probes of one checker (its session, offered again).
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeSpec } from '../../src/healthcheck/probe-runner.ts';
import type { HttpProbeOptions, HttpUrlExpectation } from '../../src/healthcheck/probes/http.ts';
import { listen, selfSignedCertificate, type Closer } from './servers.ts';
import { httpSpec, sideBySide } from './side-by-side.ts';

const BODY = 'hello over TLS\n';
const BODY_MD5 = createHash('md5').update(BODY).digest('hex');
const closers: Closer[] = [];
const { native, both, close: closeRunners } = sideBySide();
let dir: string;
let credentials: { key: Buffer; cert: Buffer };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lvsd-engine-tls-'));
  credentials = await selfSignedCertificate(dir);
});
afterAll(async () => {
  await closeRunners();
  for (const close of closers.reverse()) await close();
  await rm(dir, { recursive: true, force: true });
});

interface Seen {
  readonly serverNames: (string | false | null)[];
  readonly resumed: boolean[];
}

/** A TLS server answering each request line with `reply`; what each connection offered is kept. */
async function tlsServer(reply: (socket: tls.TLSSocket, path: string) => void, options: tls.TlsOptions = {}): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { serverNames: [], resumed: [] };
  const server = tls.createServer({ ...credentials, ...options }, (socket) => {
    socket.on('error', () => undefined);
    seen.serverNames.push(socket.servername);
    seen.resumed.push(socket.isSessionReused());
    socket.once('data', (request) => reply(socket, request.toString('latin1').split(' ')[1] ?? ''));
  });
  return { port: await listen(server, closers), seen };
}

const answer = (status: string, body = BODY) => (socket: tls.TLSSocket) =>
  socket.end(`HTTP/1.0 ${status}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);

/** A TLS handshake takes longer than a plain exchange's step: 1 s unless `over` says otherwise. */
const sslGet = (port: number, url: Partial<HttpUrlExpectation> = {}, over: Partial<HttpProbeOptions> = {}): ProbeSpec =>
  httpSpec('SSL_GET', port, { path: '/health', ...url }, { timeoutMs: 1000, ...over });

describe('SSL_GET in the native engine', () => {
  it('is up with the status and digest over TLS 1.3 and 1.2, the certificate unverified as in keepalived', async () => {
    const { port } = await tlsServer(answer('200 OK'));
    const { port: port12 } = await tlsServer(answer('200 OK'), { maxVersion: 'TLSv1.2' });
    expect(await both(sslGet(port, { digest: BODY_MD5 }))).toMatchObject({ ok: true });
    expect(await both(sslGet(port12, { digest: BODY_MD5, statusCodes: [{ from: 200, to: 200 }] }))).toMatchObject({ ok: true });
    expect(await both(sslGet(port, { digest: '0'.repeat(32) }))).toMatchObject({ ok: false, reason: `/health: MD5 digest ${BODY_MD5} differs from ${'0'.repeat(32)}` });
    expect(await both(sslGet(port, { regex: /over TLS/ }))).toMatchObject({ ok: true });
  });

  it('is down on a 404, on a plain HTTP server, on a refused port and on a server that never speaks TLS', async () => {
    const { port } = await tlsServer(answer('404 Not Found'));
    expect(await both(sslGet(port))).toMatchObject({ ok: false, reason: '/health: HTTP status 404' });
    const plain = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.end('HTTP/1.0 400 Bad Request\r\n\r\n'));
    });
    const plainPort = await listen(plain, closers);
    expect(await both(sslGet(plainPort))).toMatchObject({ ok: false, reason: '/health: TLS handshake: wrong version number' });
    expect(await both(sslGet(1))).toMatchObject({ ok: false, reason: '/health: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1' });
    const silent = net.createServer((socket) => socket.on('error', () => undefined));
    const silentPort = await listen(silent, closers);
    expect(await both(sslGet(silentPort, {}, { timeoutMs: 300 }))).toMatchObject({ ok: false, reason: '/health: timeout after 300 ms' });
  });

  it('reads a response that ends without close_notify, and one that ends before its header', async () => {
    const { port } = await tlsServer((socket) => socket.write('HTTP/1.0 200 OK\r\n\r\nbye', () => socket.destroy()));
    expect(await both(sslGet(port))).toMatchObject({ ok: true });
    const { port: cut } = await tlsServer((socket) => socket.end('HTTP/1.0 200 OK\r\n'));
    expect(await both(sslGet(cut))).toMatchObject({ ok: false, reason: '/health: connection closed before the response header' });
  });

  it('sends a server name only when enable_sni gives one', async () => {
    const { port, seen } = await tlsServer(answer('200 OK'));
    expect(await native.run(sslGet(port))).toMatchObject({ ok: true });
    expect(await native.run(sslGet(port, { sni: 'hc.test' }))).toMatchObject({ ok: true });
    expect(seen.serverNames).toEqual([false, 'hc.test']);
  });

  it("resumes the checker's last session, over TLS 1.3 and 1.2", async () => {
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const { port, seen } = await tlsServer(answer('200 OK'), { maxVersion });
      const checker = sslGet(port);
      for (let i = 0; i < 3; i++) expect(await native.run(checker)).toMatchObject({ ok: true });
      expect(await native.run(sslGet(port))).toMatchObject({ ok: true });
      // The fourth probe is another checker's: it has no session of its own yet.
      expect(seen.resumed, maxVersion).toEqual([false, true, true, false]);
    }
  });

  it('offers a session only to a handshake under the server name it was made with', async () => {
    // A TLS 1.2 server resuming a session keeps the session's name: one made for another url's name
    // would hide this url's from it.
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const { port, seen } = await tlsServer(answer('200 OK'), { maxVersion });
      const urls = ['a', 'b'].map((name) => ({ path: `/${name}`, statusCodes: [], regexNoMatch: false, sni: `${name}.test` }));
      const twoNames = sslGet(port, {}, { urls });
      for (let i = 0; i < 2; i++) expect(await native.run(twoNames)).toMatchObject({ ok: true });
      expect(seen.resumed, maxVersion).toEqual([false, false, true, true]);
      expect(seen.serverNames.slice(0, 2), maxVersion).toEqual(['a.test', 'b.test']);
    }
  });

  it('runs 200 TLS probes at once and leaves no descriptor behind', async () => {
    const { port } = await tlsServer(answer('200 OK'));
    const openFds = (): number => readdirSync('/proc/self/fd').length;
    const before = openFds();
    const results = await Promise.all(Array.from({ length: 200 }, () => native.run(sslGet(port, {}, { timeoutMs: 10_000 }))));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    // The servers' ends of connections are in this process too, and close a moment after the probe's.
    for (let wait = 0; wait < 20 && openFds() > before; wait++) await new Promise((r) => setTimeout(r, 50));
    expect(openFds()).toBeLessThanOrEqual(before);
  });
});
