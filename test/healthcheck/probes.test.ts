import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tcpProbe } from '../../src/healthcheck/probes/tcp.ts';
import { httpProbe, type HttpProbeOptions } from '../../src/healthcheck/probes/http.ts';
import { smtpProbe } from '../../src/healthcheck/probes/smtp.ts';
import { dnsProbe } from '../../src/healthcheck/probes/dns.ts';
import { udpProbe } from '../../src/healthcheck/probes/udp.ts';
import { miscProbe } from '../../src/healthcheck/probes/misc.ts';
import { splitCommandLine } from '../../src/util/command.ts';
import { fileProbe, initTrackedFile } from '../../src/healthcheck/probes/file.ts';
import { Pinger } from '../../src/healthcheck/probes/ping.ts';
import { createNetns, type TestNetns } from './netns.ts';
import { listen, selfSignedCertificate, startDnsResponder, startSmtpServer, type Closer } from './servers.ts';

const BODY = 'hello from the real server\n';
const BODY_MD5 = createHash('md5').update(BODY).digest('hex');

let dir: string;
const closers: Closer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hc-probes-'));
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await rm(dir, { recursive: true, force: true });
});

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url === '/ok') {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-host': req.headers.host ?? '' });
    res.end(BODY);
  } else if (req.url === '/host') {
    res.end(`host=${req.headers.host}`);
  } else if (req.url === '/slow') {
    setTimeout(() => res.end('late'), 2000);
  } else {
    res.writeHead(404);
    res.end('not found');
  }
}

const httpOptions = (port: number, over: Partial<HttpProbeOptions> = {}): HttpProbeOptions => ({
  tls: false,
  host: '127.0.0.1',
  port,
  timeoutMs: 1000,
  verifyCertificate: false,
  httpProtocol: '1.0',
  urls: [{ path: '/ok', statusCodes: [], regexNoMatch: false }],
  ...over,
});

describe('TCP_CHECK probe', () => {
  it('is up against a listener and down on refusal', async () => {
    const server = net.createServer((s) => s.destroy());
    const port = await listen(server, closers);
    expect((await tcpProbe({ host: '127.0.0.1', port, timeoutMs: 1000 })).ok).toBe(true);
    const refused = await tcpProbe({ host: '127.0.0.1', port: 1, timeoutMs: 1000 });
    expect(refused).toMatchObject({ ok: false, reason: expect.stringContaining('ECONNREFUSED') });
  });

  it('an answer that arrived while the event loop was busy past the timeout still counts (overload must not mean "down")', async () => {
    const server = net.createServer((c) => c.destroy());
    const port = await listen(server, closers);
    const probe = tcpProbe({ host: '127.0.0.1', port, timeoutMs: 20 });
    const busyUntil = Date.now() + 150;
    while (Date.now() < busyUntil) {
      // a director busy with other work: the connection completes in the kernel meanwhile
    }
    expect((await probe).ok).toBe(true);
  });

  it('binds to the given source address and port', async () => {
    let seenFrom = '';
    const server = net.createServer((s) => {
      seenFrom = `${s.remoteAddress}:${s.remotePort}`;
      s.destroy();
    });
    const port = await listen(server, closers);
    const bindPort = 40000 + (process.pid % 20000);
    expect((await tcpProbe({ host: '127.0.0.1', port, bindTo: '127.0.0.2', bindPort, timeoutMs: 1000 })).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(seenFrom).toBe(`127.0.0.2:${bindPort}`);
  });
});

describe('HTTP_GET probe', () => {
  let port = 0;
  beforeAll(async () => {
    port = await listen(http.createServer(handler), closers);
  });

  it('accepts 2xx by default and matches the MD5 digest of the body', async () => {
    expect((await httpProbe(httpOptions(port))).ok).toBe(true);
    const withDigest = httpOptions(port, { urls: [{ path: '/ok', digest: BODY_MD5, statusCodes: [], regexNoMatch: false }] });
    expect((await httpProbe(withDigest)).ok).toBe(true);
  });

  it('fails on a wrong digest, a refused status, and names the url', async () => {
    const wrong = await httpProbe(httpOptions(port, { urls: [{ path: '/ok', digest: '0'.repeat(32), statusCodes: [], regexNoMatch: false }] }));
    expect(wrong).toMatchObject({ ok: false, reason: expect.stringContaining('/ok: MD5 digest') });
    const notFound = await httpProbe(httpOptions(port, { urls: [{ path: '/missing', statusCodes: [], regexNoMatch: false }] }));
    expect(notFound).toMatchObject({ ok: false, reason: '/missing: HTTP status 404' });
  });

  it('status_code lists and ranges decide which codes are up', async () => {
    const accept404 = httpOptions(port, { urls: [{ path: '/missing', statusCodes: [{ from: 200, to: 200 }, { from: 400, to: 404 }], regexNoMatch: false }] });
    expect((await httpProbe(accept404)).ok).toBe(true);
    const only201 = httpOptions(port, { urls: [{ path: '/ok', statusCodes: [{ from: 201, to: 201 }], regexNoMatch: false }] });
    expect((await httpProbe(only201)).ok).toBe(false);
  });

  it('every url must pass', async () => {
    const urls = [
      { path: '/ok', statusCodes: [], regexNoMatch: false },
      { path: '/missing', statusCodes: [], regexNoMatch: false },
    ];
    expect(await httpProbe(httpOptions(port, { urls }))).toMatchObject({ ok: false, reason: '/missing: HTTP status 404' });
  });

  it('regex and regex_no_match', async () => {
    const match = { path: '/ok', statusCodes: [], regex: /real server/, regexNoMatch: false };
    expect((await httpProbe(httpOptions(port, { urls: [match] }))).ok).toBe(true);
    expect((await httpProbe(httpOptions(port, { urls: [{ ...match, regexNoMatch: true }] }))).ok).toBe(false);
    expect((await httpProbe(httpOptions(port, { urls: [{ ...match, regex: /absent/ }] }))).ok).toBe(false);
  });

  it('sends the virtualhost as Host header, a url virtualhost overriding the checker one', async () => {
    const vhost = /host=www\.example\.test$/;
    const urls = [{ path: '/host', statusCodes: [], regex: vhost, regexNoMatch: false }];
    expect((await httpProbe(httpOptions(port, { virtualhost: 'www.example.test', urls }))).ok).toBe(true);
    const overridden = [{ ...urls[0]!, virtualhost: 'other.test' }];
    expect((await httpProbe(httpOptions(port, { virtualhost: 'www.example.test', urls: overridden }))).ok).toBe(false);
  });

  it('times out on a slow server', async () => {
    const slow = await httpProbe(httpOptions(port, { timeoutMs: 300, urls: [{ path: '/slow', statusCodes: [], regexNoMatch: false }] }));
    expect(slow).toMatchObject({ ok: false, reason: '/slow: timeout after 300 ms' });
  });
});

describe('SSL_GET probe', () => {
  let port = 0;
  let sniSeen: string | false | null | undefined;
  beforeAll(async () => {
    const server = https.createServer(await selfSignedCertificate(dir), (req, res) => {
      sniSeen = (req.socket as import('node:tls').TLSSocket).servername;
      handler(req, res);
    });
    port = await listen(server, closers);
  });

  it('checks status and digest over TLS with an unverified self-signed certificate', async () => {
    const options = httpOptions(port, { tls: true, urls: [{ path: '/ok', digest: BODY_MD5, statusCodes: [], regexNoMatch: false }] });
    expect((await httpProbe(options)).ok).toBe(true);
    expect(sniSeen).toBe(false);
  });

  it('sends SNI only when asked, and fails verification of a self-signed certificate when asked to verify', async () => {
    expect((await httpProbe(httpOptions(port, { tls: true, urls: [{ path: '/ok', statusCodes: [], regexNoMatch: false, sni: 'hc.test' }] }))).ok).toBe(true);
    expect(sniSeen).toBe('hc.test');
    const verified = await httpProbe(httpOptions(port, { tls: true, verifyCertificate: true }));
    expect(verified).toMatchObject({ ok: false, reason: expect.stringContaining('SELF_SIGNED') });
  });
});

describe('SMTP_CHECK probe', () => {
  it('completes the HELO dialogue with a real SMTP server', async () => {
    const smtp = await startSmtpServer(closers, { greeting: '220 mx.test ESMTP ready' });
    expect((await smtpProbe({ host: '127.0.0.1', port: smtp.port, timeoutMs: 1000, heloName: 'director.test' })).ok).toBe(true);
    expect(smtp.received).toEqual(['HELO director.test', 'QUIT']);
  });

  it('accepts a multi-line greeting and fails on a 554 greeting', async () => {
    const multi = await startSmtpServer(closers, { greeting: '220-mx.test first line\r\n220 mx.test ready' });
    expect((await smtpProbe({ host: '127.0.0.1', port: multi.port, timeoutMs: 1000, heloName: 'd' })).ok).toBe(true);
    const busy = await startSmtpServer(closers, { greeting: '554 no service' });
    const result = await smtpProbe({ host: '127.0.0.1', port: busy.port, timeoutMs: 1000, heloName: 'd' });
    expect(result).toMatchObject({ ok: false, reason: 'SMTP greeting: expected 220, got "554 no service"' });
  });
});

describe('DNS_CHECK probe', () => {
  it('is up on an answer and down on NXDOMAIN or an empty answer', async () => {
    const dns = await startDnsResponder(closers, { 'www.example.test': 1 });
    const probe = (name: string) => dnsProbe({ host: '127.0.0.1', port: dns.port, timeoutMs: 1000, type: 'A', name });
    expect((await probe('www.example.test')).ok).toBe(true);
    expect(dns.questions.at(-1)).toEqual({ name: 'www.example.test', type: 1 });
    expect(await probe('missing.example.test')).toMatchObject({ ok: false, reason: 'DNS rcode 3' });
  });

  it('is down when nothing answers in time', async () => {
    const mute = dgram.createSocket('udp4');
    await new Promise<void>((r) => mute.bind(0, '127.0.0.1', r));
    closers.push(async () => { mute.close(); });
    const result = await dnsProbe({ host: '127.0.0.1', port: mute.address().port, timeoutMs: 200, type: 'SOA', name: '.' });
    expect(result).toMatchObject({ ok: false, reason: 'no reply within 200 ms' });
  });
});

describe('UDP_CHECK probe', () => {
  let echoPort = 0;
  beforeAll(async () => {
    const echo = dgram.createSocket('udp4');
    echo.on('message', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
    echoPort = echo.address().port;
    closers.push(async () => { echo.close(); });
  });
  const base = { host: '127.0.0.1', timeoutMs: 500, requireReply: true, minReplyLength: 0, maxReplyLength: 255 };

  it('is up when the echo server replies with the required pattern', async () => {
    const r = await udpProbe({ ...base, port: echoPort, payloadHex: 'cafe0102', replyPattern: 'cafexx02' });
    expect(r.ok).toBe(true);
    const mismatch = await udpProbe({ ...base, port: echoPort, payloadHex: 'cafe0102', replyPattern: 'beef' });
    expect(mismatch).toMatchObject({ ok: false, reason: 'reply does not match require_reply pattern' });
  });

  it('checks length and content only against a pattern, and only as many bytes as the reply holds (keepalived)', async () => {
    const longer = await udpProbe({ ...base, port: echoPort, payloadHex: 'cafe0102', replyPattern: 'cafe010203' });
    expect(longer.ok).toBe(true);
    const noPattern = await udpProbe({ ...base, port: echoPort, payloadHex: 'cafe0102', maxReplyLength: 2 });
    expect(noPattern.ok).toBe(true);
    const tooLong = await udpProbe({ ...base, port: echoPort, payloadHex: 'cafe0102', replyPattern: 'cafe', maxReplyLength: 2 });
    expect(tooLong).toMatchObject({ ok: false, reason: 'reply length 4 outside 0..2' });
  });

  it("sends keepalived's datagram without a payload: 32 bytes of \"keepalived check - \"", async () => {
    const keepalived = Buffer.from('keepalived check - keepalived ch').toString('hex');
    expect((await udpProbe({ ...base, port: echoPort, replyPattern: keepalived, minReplyLength: 32, maxReplyLength: 32 })).ok).toBe(true);
  });

  it('is down on ICMP port unreachable, with or without require_reply', async () => {
    const closed = dgram.createSocket('udp4');
    await new Promise<void>((r) => closed.bind(0, '127.0.0.1', r));
    const port = closed.address().port;
    closed.close();
    expect(await udpProbe({ ...base, port })).toMatchObject({ ok: false, reason: expect.stringContaining('ECONNREFUSED') });
    expect((await udpProbe({ ...base, port, requireReply: false })).ok).toBe(false);
  });

  it('without require_reply a silent but open port is up', async () => {
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    closers.push(async () => { silent.close(); });
    expect((await udpProbe({ ...base, timeoutMs: 200, port: silent.address().port, requireReply: false })).ok).toBe(true);
  });
});

describe('MISC_CHECK probe', () => {
  let script: string;
  beforeAll(async () => {
    script = join(dir, 'exit with.sh');
    await writeFile(script, '#!/bin/sh\n[ "$2" = "sleep" ] && sleep 5\nexit "$1"\n');
    await chmod(script, 0o755);
  });
  const run = (code: number | string, dynamic: boolean, extra: string[] = []) =>
    miscProbe({ argv: [script, String(code), ...extra], timeoutMs: 1000, dynamic });

  it('exit 0 is up, exit 1 down; without misc_dynamic any other code is down', async () => {
    expect(await run(0, false)).toMatchObject({ ok: true });
    expect(await run(1, false)).toMatchObject({ ok: false, reason: 'exit code 1' });
    expect(await run(7, false)).toMatchObject({ ok: false, reason: 'exit code 7' });
  });

  it('with misc_dynamic, 0 restores the weight, 1 is down, 2..255 set weight code-2', async () => {
    expect(await run(0, true)).toMatchObject({ ok: true, weight: { kind: 'restore' } });
    expect(await run(1, true)).toMatchObject({ ok: false });
    for (const code of [2, 3, 12, 255]) {
      expect(await run(code, true)).toMatchObject({ ok: true, weight: { kind: 'set', weight: code - 2 } });
    }
  });

  it('kills a script that outlives misc_timeout and reports down; a missing program is down', async () => {
    const r = await miscProbe({ argv: [script, '0', 'sleep'], timeoutMs: 200, dynamic: false });
    expect(r).toMatchObject({ ok: false, reason: 'timeout after 200 ms' });
    expect(r.latencyMs).toBeLessThan(2000);
    expect(await miscProbe({ argv: [join(dir, 'nope')], timeoutMs: 500, dynamic: false })).toMatchObject({ ok: false });
  });

  it('splits misc_path into an argument vector with quotes and escapes, no shell', () => {
    expect(splitCommandLine(`"${script}" 3 'two words' a\\ b`)).toEqual([script, '3', 'two words', 'a b']);
    expect(splitCommandLine('/bin/check $(reboot); x')).toEqual(['/bin/check', '$(reboot);', 'x']);
  });
});

describe('FILE_CHECK probe', () => {
  it('adds value x weight, fails at -254 or below, and weight 0 fails on any non-zero value', async () => {
    const path = join(dir, 'track');
    expect(await initTrackedFile(path, 4, false)).toBeNull();
    expect(await fileProbe({ path, weight: 2, reverse: false })).toMatchObject({ ok: true, weight: { kind: 'add', delta: 8 } });
    expect(await fileProbe({ path, weight: 2, reverse: true })).toMatchObject({ ok: true, weight: { kind: 'add', delta: -8 } });
    await initTrackedFile(path, 9, false);
    expect(await readFile(path, 'utf8')).toBe('4\n');
    await initTrackedFile(path, -127, true);
    expect(await fileProbe({ path, weight: 2, reverse: false })).toMatchObject({ ok: false });
    expect(await fileProbe({ path, weight: 0, reverse: false })).toMatchObject({ ok: false });
    expect(await fileProbe({ path: join(dir, 'absent'), weight: 0, reverse: false })).toMatchObject({ ok: true });
  });
});

describe('PING_CHECK probe, and TCP_CHECK timeout (netns)', () => {
  let ns: TestNetns;
  const pinger = new Pinger();
  beforeAll(async () => {
    ns = await createNetns('ping', 231);
  });
  afterAll(async () => {
    pinger.close();
    await ns?.destroy();
  });

  it('is up for an address that answers and down for one that does not', async () => {
    const [answered, silent, loop] = await Promise.all([
      pinger.ping({ host: ns.nsAddress, timeoutMs: 1000 }),
      pinger.ping({ host: ns.silentAddress, timeoutMs: 500 }),
      pinger.ping({ host: '::1', timeoutMs: 1000 }),
    ]);
    expect(answered.ok).toBe(true);
    expect(silent).toMatchObject({ ok: false, reason: 'no echo reply within 500 ms' });
    expect(loop.ok).toBe(true);
  });

  it('TCP_CHECK is down when the connect times out', async () => {
    const r = await tcpProbe({ host: ns.silentAddress, port: 80, timeoutMs: 300 });
    expect(r).toMatchObject({ ok: false, reason: 'connect timeout after 300 ms' });
  });

  it('is down once the address stops answering', async () => {
    await ns.exec(['sysctl', '-q', '-w', 'net.ipv4.icmp_echo_ignore_all=1']);
    expect((await pinger.ping({ host: ns.nsAddress, timeoutMs: 300 })).ok).toBe(false);
  });
});
