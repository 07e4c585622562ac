// TCP_CHECK and HTTP_GET through the native probe engine, on real sockets: every verdict an
// operator can meet, with the reason lvsd gives, and the JavaScript probes' verdict beside it.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeSpec } from '../../src/healthcheck/probe-runner.ts';
import { loadProbeEngineAddon, ProbeEngine } from '../../src/healthcheck/probe-engine.ts';
import type { HttpProbeOptions, HttpUrlExpectation } from '../../src/healthcheck/probes/http.ts';
import { createNetns, type TestNetns } from './netns.ts';
import { listen, type Closer } from './servers.ts';
import { httpSpec, sideBySide } from './side-by-side.ts';

const BODY = 'hello from the real server\n';
const BODY_MD5 = createHash('md5').update(BODY).digest('hex');
const closers: Closer[] = [];
const { native, both, close: closeRunners } = sideBySide();
let ns: TestNetns;

beforeAll(async () => {
  ns = await createNetns('engine', 236);
});
afterAll(async () => {
  await closeRunners();
  for (const close of closers.reverse()) await close();
  await ns?.destroy();
});

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** A TCP server that answers each connection with `reply`, after the request arrived. */
async function server(reply: (socket: net.Socket) => void, host = '127.0.0.1'): Promise<{ port: number; seen: net.Socket[] }> {
  const seen: net.Socket[] = [];
  const s = net.createServer((socket) => {
    seen.push(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => reply(socket));
  });
  return { port: await listen(s, closers, host), seen };
}

const ok = (socket: net.Socket, status = '200 OK', body = BODY): void => {
  socket.end(`HTTP/1.0 ${status}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
};

const http = (port: number, url: Partial<HttpUrlExpectation> = {}, over: Partial<HttpProbeOptions> = {}): ProbeSpec => httpSpec('HTTP_GET', port, url, over);

const tcp = (host: string, port: number, over: object = {}): ProbeSpec => ({ kind: 'TCP_CHECK', options: { host, port, timeoutMs: 300, ...over } });

describe('TCP_CHECK in the native engine', () => {
  it('is up when the port answers, down with the reason when it refuses, over IPv4 and IPv6', async () => {
    const { port } = await server(() => undefined);
    const { port: port6 } = await server(() => undefined, '::1');
    expect(await both(tcp('127.0.0.1', port))).toMatchObject({ ok: true });
    expect(await both(tcp('::1', port6))).toMatchObject({ ok: true });
    expect(await native.run(tcp('127.0.0.1', 1))).toMatchObject({ ok: false, reason: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1' });
    expect(await native.run(tcp('::1', 1))).toMatchObject({ ok: false, reason: 'ECONNREFUSED: connect ECONNREFUSED ::1:1' });
  });

  it('is down after connect_timeout when SYNs are dropped', async () => {
    expect(await native.run(tcp(ns.silentAddress, 80))).toMatchObject({ ok: false, reason: 'connect timeout after 300 ms' });
  });

  it('connects from bind_to and bind_port', async () => {
    const peers: string[] = [];
    const s = net.createServer((socket) => {
      peers.push(`${socket.remoteAddress}:${socket.remotePort}`);
      socket.on('error', () => undefined);
    });
    const port = await listen(s, closers);
    // Only a connection that is accepted shows its peer: keepalived's close (FIN) lets it through.
    // It leaves the source port in TIME_WAIT, so a run soon after this one needs another.
    const bindPort = 40000 + Math.floor(Math.random() * 10000);
    expect(await native.run(tcp('127.0.0.1', port, { bindTo: '127.0.0.2', bindPort, closeWithFin: true }))).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(peers).toEqual([`127.0.0.2:${bindPort}`]);
    await expect(native.run(tcp('127.0.0.1', port, { bindTo: '::1' }))).resolves.toMatchObject({ ok: false, reason: expect.stringContaining("bind_to ::1 is not an address of 127.0.0.1's family") });
  });

  it("ends with a reset before the real server's application accepts, and with a FIN under lvsd_probe_close fin", async () => {
    let accepted = 0;
    const s = net.createServer((socket) => {
      accepted++;
      socket.on('error', () => undefined);
    });
    const port = await listen(s, closers);
    for (let i = 0; i < 20; i++) expect(await native.run(tcp('127.0.0.1', port))).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 100));
    expect(accepted).toBe(0);
    expect(await native.run(tcp('127.0.0.1', port, { closeWithFin: true }))).toMatchObject({ ok: true });
    await new Promise((r) => setTimeout(r, 100));
    expect(accepted).toBe(1);
  });

  it('runs 500 probes at once and leaves no descriptor behind', async () => {
    const { port } = await server(() => undefined);
    const before = openFds();
    const results = await Promise.all(Array.from({ length: 500 }, () => native.run(tcp('127.0.0.1', port))));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(openFds()).toBe(before);
  });
});

describe('HTTP_GET in the native engine', () => {
  it('is up with the status and the MD5 digest genhash prints', async () => {
    const { port } = await server((s) => ok(s));
    expect(await both(http(port, { digest: BODY_MD5, statusCodes: [{ from: 200, to: 200 }] }))).toMatchObject({ ok: true });
  });

  it('is down on a wrong status, a wrong digest and a regex that does not match, like the JavaScript probe', async () => {
    const { port } = await server((s) => ok(s, '500 Internal Server Error'));
    expect(await both(http(port))).toMatchObject({ ok: false, reason: '/: HTTP status 500' });
    const { port: good } = await server((s) => ok(s));
    expect(await both(http(good, { digest: '0'.repeat(32) }))).toMatchObject({ ok: false, reason: `/: MD5 digest ${BODY_MD5} differs from ${'0'.repeat(32)}` });
    expect(await both(http(good, { regex: /real server/ }))).toMatchObject({ ok: true });
    expect(await both(http(good, { regex: /nothing like it/ }))).toMatchObject({ ok: false, reason: '/: body does not match regex nothing like it' });
    expect(await both(http(good, { regex: /real server/, regexNoMatch: true }))).toMatchObject({ ok: false, reason: '/: body matches regex real server' });
  });

  it('is down when the server resets after the request', async () => {
    const { port } = await server((s) => s.resetAndDestroy());
    expect(await both(http(port))).toMatchObject({ ok: false, reason: `/: ECONNRESET: read ECONNRESET 127.0.0.1:${port}` });
  });

  it('times out on a silent server, per step: a header that keeps coming stays up', async () => {
    const { port } = await server(() => undefined);
    expect(await both(http(port))).toMatchObject({ ok: false, reason: '/: timeout after 300 ms' });
    const response = `HTTP/1.0 200 OK\r\nX-Slow: ${'.'.repeat(4)}\r\n\r\n`;
    const { port: slow } = await server((socket) => {
      let at = 0;
      const drip = setInterval(() => {
        if (socket.destroyed) return clearInterval(drip);
        socket.write(response.slice(at, at + 5));
        at += 5;
        if (at >= response.length) {
          clearInterval(drip);
          socket.end();
        }
      }, 100);
    });
    expect(await both(http(slow))).toMatchObject({ ok: true });
  });

  it('a body cut short fails a digest and passes a status-only check, as in keepalived', async () => {
    const { port } = await server((s) => s.end(`HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n${BODY.slice(0, 10)}`));
    expect(await both(http(port))).toMatchObject({ ok: true });
    expect(await both(http(port, { digest: BODY_MD5 }))).toMatchObject({ ok: false, reason: expect.stringContaining('MD5 digest') });
  });

  it('names what is wrong with an answer that is not HTTP', async () => {
    const { port: ssh } = await server((s) => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
    expect(await both(http(ssh))).toMatchObject({ ok: false, reason: '/: not an HTTP response' });
    const { port: huge } = await server((s) => s.end(`HTTP/1.0 200 OK\r\nX: ${'a'.repeat(70_000)}`));
    expect(await both(http(huge))).toMatchObject({ ok: false, reason: '/: response header too large' });
    const { port: closed } = await server((s) => s.end('HTTP/1.0 200 OK\r\n'));
    expect(await both(http(closed))).toMatchObject({ ok: false, reason: '/: connection closed before the response header' });
  });

  it('sends the virtualhost, and works over IPv6 and from bind_to', async () => {
    const requests: string[] = [];
    const record = (socket: net.Socket): void => {
      socket.once('data', (d) => requests.push(d.toString('latin1')));
    };
    const s6 = net.createServer((socket) => {
      record(socket);
      socket.on('error', () => undefined);
      socket.once('data', () => ok(socket));
    });
    const port6 = await listen(s6, closers, '::1');
    expect(await native.run(http(port6, { virtualhost: 'www.example.test' }, { host: '::1' }))).toMatchObject({ ok: true });
    expect(requests.at(-1)).toBe('GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: www.example.test\r\n\r\n');
    const peers: string[] = [];
    const s = net.createServer((socket) => {
      peers.push(socket.remoteAddress ?? '');
      socket.on('error', () => undefined);
      socket.once('data', () => ok(socket));
    });
    const port = await listen(s, closers);
    expect(await native.run(http(port, {}, { bindTo: '127.0.0.3' }))).toMatchObject({ ok: true });
    expect(peers).toEqual(['127.0.0.3']);
  });
});

describe('the engine itself', () => {
  it('settles probes in flight when it closes, and refuses new ones', async () => {
    const engine = new ProbeEngine(loadProbeEngineAddon());
    const pending = engine.tcp({ host: ns.silentAddress, port: 80, timeoutMs: 10_000 });
    engine.close();
    expect(await pending).toMatchObject({ ok: false });
    await expect(engine.tcp({ host: '127.0.0.1', port: 1, timeoutMs: 100 })).rejects.toThrow('the probe engine is closed');
  });
});
