// SSL_GET with enable_sni: the name a real TLS server receives in each url's handshake, and the Host
// header of the request that follows, from lvsd (native engine and JavaScript probe) and from Debian's
// keepalived 2.2.7 (-C, with the no-IPVS shim) on the same keepalived.conf and the same servers.
// keepalived's check_ssl.c:ssl_connect names the handshake after the url's virtualhost, else the
// checker's, else the virtual server's, and never the real server's; http_request_thread's Host
// header takes the url's, the checker's, the real server's, then the virtual server's.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import { checkSpecsFromConfig } from '../../src/healthcheck/from-config.ts';
import { NetworkProbeRunner, type ProbeSpec } from '../../src/healthcheck/probe-runner.ts';
import type { ProbeResult } from '../../src/healthcheck/state.ts';
import { buildNoIpvsShim, startKeepalivedChecker, type KeepalivedChecker } from './keepalived.ts';
import { listen, selfSignedCertificate, type Closer } from './servers.ts';

const closers: Closer[] = [];
const runners = { native: new NetworkProbeRunner(), javascript: new NetworkProbeRunner({ javascriptOnly: true }) };
let dir: string;
let shim: string;
let keepalived: KeepalivedChecker | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hc-sni-'));
  shim = await buildNoIpvsShim(dir);
}, 60_000);
afterAll(async () => {
  await keepalived?.stop();
  await runners.native.close();
  await runners.javascript.close();
  for (const close of closers.reverse()) await close();
  await rm(dir, { recursive: true, force: true });
});

/** What one TLS server was asked: per request, the name its SNICallback was given (or none) and the Host header. */
interface Recorder {
  readonly port: number;
  /** `<server name or -> <Host header>`, in arrival order. */
  readonly requests: string[];
  /** Every name the server's SNICallback was called with (Node calls it on full handshakes only). */
  readonly sniCallback: string[];
  /** The server names of the requests that came in a full handshake. */
  readonly fullHandshakes: string[];
}

async function recordingTlsServer(credentials: { key: Buffer; cert: Buffer }): Promise<Recorder> {
  const requests: string[] = [];
  const sniCallback: string[] = [];
  const fullHandshakes: string[] = [];
  const server = tls.createServer(
    {
      ...credentials,
      SNICallback: (name, done) => {
        sniCallback.push(name);
        done(null, undefined);
      },
    },
    (socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (request) => {
        const host = /\r\nHost: ([^\r]*)\r\n/i.exec(request.toString('latin1'))?.[1] ?? '(no Host)';
        requests.push(`${socket.servername || '-'} ${host}`);
        if (socket.servername && !socket.isSessionReused()) fullHandshakes.push(socket.servername);
        socket.end('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n');
      });
    },
  );
  return { port: await listen(server, closers), requests, sniCallback, fullHandshakes };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const probeOnce = (runner: NetworkProbeRunner, spec: ProbeSpec) => new Promise<ProbeResult>((done) => runner.run(spec, done));

describe('SSL_GET with enable_sni names the TLS server as keepalived 2.2.7 does', () => {
  it("per url: the url's virtualhost, the checker's, the virtual server's, never the real server's", async () => {
    const credentials = await selfSignedCertificate(dir);
    const byUrl = await recordingTlsServer(credentials);
    const byChecker = await recordingTlsServer(credentials);
    const realServerOnly = await recordingTlsServer(credentials);
    const byVirtualServer = await recordingTlsServer(credentials);
    const rs = (server: Recorder, rsHost: string, checkerHost: string | null, urls: string[]) =>
      `  real_server 127.0.0.1 ${server.port} {\n    virtualhost ${rsHost}\n    SSL_GET {\n      enable_sni\n      connect_timeout 2\n` +
      (checkerHost === null ? '' : `      virtualhost ${checkerHost}\n`) +
      urls.map((url) => `      url {\n${url}      }\n`).join('') +
      '    }\n  }\n';
    const conf =
      'global_defs {\n  router_id hcsni\n}\n' +
      'virtual_server 192.0.2.90 443 {\n  delay_loop 1\n  lb_kind NAT\n  protocol TCP\n' +
      rs(byUrl, 'rs-url.test', 'checker-url.test', ['        path /own\n        virtualhost url.test\n', '        path /inherited\n']) +
      rs(byChecker, 'rs-checker.test', 'checker.test', ['        path /\n']) +
      rs(realServerOnly, 'rs-only.test', null, ['        path /\n']) +
      '}\n' +
      'virtual_server 192.0.2.91 443 {\n  delay_loop 1\n  lb_kind NAT\n  protocol TCP\n  virtualhost vs.test\n' +
      rs(byVirtualServer, 'rs-vs.test', null, ['        path /\n']) +
      '}\n';
    const file = join(dir, 'keepalived-sni.conf');
    await writeFile(file, conf);
    const parsed = parseConfigText(conf, file, () => '', () => [], { hostname: 'hcsni' });
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
    const servers = [byUrl, byChecker, realServerOnly, byVirtualServer];
    // Two rounds of every checker's urls: the second may resume the first's TLS session.
    const twoRounds = [4, 2, 2, 2];
    const taken = () => servers.map((s, i) => s.requests.slice(0, twoRounds[i]));
    const clear = () => {
      for (const server of servers) for (const list of [server.requests, server.sniCallback, server.fullHandshakes]) list.splice(0);
    };

    // lvsd, through the native engine and through the JavaScript probe.
    const probes = checkSpecsFromConfig(parsed.config, { virtualServer: () => 'vs', realServer: (r) => String(r.port) })
      .specs.flatMap((spec) => spec.checkers.map((c) => c.probe));
    expect(probes).toHaveLength(4);
    const lvsd: Record<string, string[][]> = {};
    for (const [path, runner] of Object.entries(runners)) {
      clear();
      for (let round = 0; round < 2; round++) {
        for (const probe of probes) expect(await probeOnce(runner, probe), path).toMatchObject({ ok: true });
      }
      lvsd[path] = taken();
      // The name of every full handshake reached the server's SNICallback.
      for (const server of servers) expect(server.sniCallback, path).toEqual(server.fullHandshakes);
    }

    // keepalived, on the same servers, until each has had two rounds.
    clear();
    keepalived = await startKeepalivedChecker(file, dir, shim);
    await keepalived.waitForLine(/Startup complete/, 20_000);
    for (let waited = 0; servers.some((s, i) => s.requests.length < twoRounds[i]!) && waited < 15_000; waited += 100) await sleep(100);
    await keepalived.stop();
    const fromKeepalived = taken();

    const expected = [
      ['url.test url.test', 'checker-url.test checker-url.test', 'url.test url.test', 'checker-url.test checker-url.test'],
      ['checker.test checker.test', 'checker.test checker.test'],
      // The real server's virtualhost is the Host header's, but no server name.
      ['- rs-only.test', '- rs-only.test'],
      ['vs.test rs-vs.test', 'vs.test rs-vs.test'],
    ];
    expect(fromKeepalived).toEqual(expected);
    expect(lvsd).toEqual({ native: expected, javascript: expected });
  }, 60_000);
});
