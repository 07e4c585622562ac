// TCP_CHECK's half-open mode (`lvsd_tcp_check syn`) in the native engine, on real sockets and real
// links: the verdicts and reasons of a connect, the SYN resent as the kernel resends it, the source
// address of bind_to, and a connect where no raw socket can be had.
import { execFile, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProbeEngineAddon, ProbeEngine } from '../../src/healthcheck/probe-engine.ts';
import type { TcpProbeOptions } from '../../src/healthcheck/probes/tcp.ts';
import { createNetns, ip, type TestNetns } from './netns.ts';
import { listen, type Closer } from './servers.ts';

const SUBNET = 239;
const closers: Closer[] = [];
const warnings: string[] = [];
const engine = new ProbeEngine(loadProbeEngineAddon(), (message) => warnings.push(message));
let ns: TestNetns;

beforeAll(async () => {
  ns = await createNetns('syn', SUBNET);
});
afterAll(async () => {
  engine.close();
  for (const close of closers.reverse()) await close();
  await ns?.destroy();
});

const syn = (host: string, port: number, over: Partial<TcpProbeOptions> = {}) => engine.tcp({ host, port, timeoutMs: 300, halfOpen: true, ...over });

/** A listener that counts the connections its application accepts. */
async function countingServer(host = '127.0.0.1'): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    socket.on('error', () => undefined);
  });
  return { port: await listen(server, closers, host), accepted: () => accepted };
}

/** A node listener inside the namespace, on `host`:`port`, until the test ends. */
async function listenInNamespace(host: string, port: number): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', `require('net').createServer().listen(${port}, '${host}', () => console.log('ready'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  closers.push(async () => void child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`listener exited with ${code}`)));
  });
}

describe('TCP_CHECK half-open (lvsd_tcp_check syn)', () => {
  it("is up at the SYN-ACK and refused at the RST, over IPv4 and IPv6, with a connect's reasons, and the application never sees it", async () => {
    const v4 = await countingServer();
    const v6 = await countingServer('::1');
    for (let i = 0; i < 10; i++) {
      expect(await syn('127.0.0.1', v4.port)).toMatchObject({ ok: true });
      expect(await syn('::1', v6.port)).toMatchObject({ ok: true });
    }
    expect(await syn('127.0.0.1', 1)).toMatchObject({ ok: false, reason: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1' });
    expect(await syn('::1', 1)).toMatchObject({ ok: false, reason: 'ECONNREFUSED: connect ECONNREFUSED ::1:1' });
    await new Promise((r) => setTimeout(r, 100));
    expect([v4.accepted(), v6.accepted()]).toEqual([0, 0]);
    expect(warnings).toEqual([]);
  });

  it('is down after connect_timeout when SYNs are dropped', async () => {
    expect(await syn(ns.silentAddress, 80)).toMatchObject({ ok: false, reason: 'connect timeout after 300 ms' });
  });

  it('is down with the ICMP error a connect gets: a neighbour that never answers, a router that forbids', async () => {
    const noNeighbour = `10.${SUBNET}.0.77`;
    const forbidden = `10.${SUBNET}.0.99`;
    await ip('route', 'add', `${forbidden}/32`, 'via', ns.nsAddress);
    closers.push(() => ip('route', 'del', `${forbidden}/32`).then(() => undefined));
    await ns.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    await ns.exec(['ip', 'route', 'add', 'prohibit', `${forbidden}/32`]);
    for (const host of [noNeighbour, forbidden]) {
      const [halfOpen, connect] = await Promise.all([syn(host, 80, { timeoutMs: 6000 }), engine.tcp({ host, port: 80, timeoutMs: 6000 })]);
      for (const result of [connect, halfOpen]) expect(result).toMatchObject({ ok: false, reason: `EHOSTUNREACH: connect EHOSTUNREACH ${host}:80` });
    }
  });

  it('resends an unanswered SYN after 1 s, as the kernel resends a connect', async () => {
    // The host routes .4 to the namespace, which drops it until it holds .4 and listens there.
    const late = `10.${SUBNET}.0.4`;
    await ip('route', 'add', `${late}/32`, 'via', ns.nsAddress);
    closers.push(() => ip('route', 'del', `${late}/32`).then(() => undefined));
    const probe = syn(late, 8080, { timeoutMs: 3000 });
    await new Promise((r) => setTimeout(r, 300));
    await ns.exec(['ip', 'addr', 'add', `${late}/32`, 'dev', 'lo']);
    await listenInNamespace(late, 8080);
    const result = await probe;
    expect(result).toMatchObject({ ok: true });
    expect(result.latencyMs).toBeGreaterThanOrEqual(950);
    expect(result.latencyMs).toBeLessThan(2000);
  });

  it('sends from bind_to', async () => {
    // The namespace cannot answer the host's own address, only the second one lvsd binds to.
    const second = `10.${SUBNET}.0.5`;
    const hostIf = (await ip('-o', 'addr', 'show', 'to', ns.hostAddress)).split(/\s+/)[1]!;
    await ip('addr', 'add', `${second}/32`, 'dev', hostIf);
    closers.push(() => ip('addr', 'del', `${second}/32`, 'dev', hostIf).then(() => undefined));
    await ns.exec(['ip', 'route', 'add', 'blackhole', `${ns.hostAddress}/32`]);
    await ns.exec(['ip', 'route', 'add', `${second}/32`, 'dev', (await ns.exec(['ip', '-o', 'addr', 'show', 'to', ns.nsAddress])).split(/\s+/)[1]!]);
    await listenInNamespace(ns.nsAddress, 8081);
    expect(await syn(ns.nsAddress, 8081, { bindTo: second })).toMatchObject({ ok: true });
    expect(await syn(ns.nsAddress, 8081)).toMatchObject({ ok: false, reason: 'connect timeout after 300 ms' });
    await ns.exec(['ip', 'route', 'del', 'blackhole', `${ns.hostAddress}/32`]);
    expect(await syn(ns.nsAddress, 8081)).toMatchObject({ ok: true });
  });

  it('gives each probe to one real server its own source port, connects past the ports it holds, and keeps no descriptor per probe', async () => {
    const { port, accepted } = await countingServer();
    const openFds = (): number => readdirSync('/proc/self/fd').length;
    const round = () => Promise.all(Array.from({ length: 300 }, () => syn('127.0.0.1', port, { timeoutMs: 2000 })));
    expect((await round()).filter((r) => !r.ok)).toEqual([]);
    const before = openFds();
    expect((await round()).filter((r) => !r.ok)).toEqual([]);
    expect(openFds()).toBe(before);
    await new Promise((r) => setTimeout(r, 100));
    expect(accepted()).toBe(0);
  });

  it('connects instead, with one warning, where it may not open a raw socket', async () => {
    const { port } = await countingServer();
    const script = await probeScript(`const port = ${port};`);
    const { stdout } = await promisify(execFile)(
      'setpriv',
      ['--inh-caps=-net_raw', '--bounding-set=-net_raw', process.execPath, '--import', 'tsx', script],
      { timeout: 30_000 },
    );
    expect(JSON.parse(stdout)).toEqual({
      ok: [true, true, true],
      warnings: [expect.stringMatching(/^half-open TCP_CHECK \(lvsd_tcp_check syn\): no raw socket or no source ports to hold \(EPERM\); TCP_CHECK connects instead$/)],
    });
  });

  it('holds its source ports where the free ones are scattered, as on a director with many TIME_WAITs', async () => {
    // In a namespace of its own, whose ephemeral range has every other port taken by a listener:
    // 100 ports free, but no two in a row.
    const script = await probeScript(`
const net = await import('node:net');
const taken = [];
for (let port = 40000; port < 40200; port += 2) {
  taken.push(await new Promise((resolve) => { const server = net.createServer().listen(port, '127.0.0.1', () => resolve(server)); }));
}
const port = 40000;`, 'for (const server of taken) server.close();');
    const { stdout } = await promisify(execFile)(
      'unshare',
      ['--net', 'sh', '-c', 'ip link set lo up && sysctl -q -w net.ipv4.ip_local_port_range="40000 40199" && exec "$@"', 'probe', process.execPath, '--import', 'tsx', script],
      { timeout: 30_000 },
    );
    expect(JSON.parse(stdout)).toEqual({ ok: [true, true, true], warnings: [] });
  });
});

/**
 * A script that makes three half-open checks of 127.0.0.1:port in a process of its own and prints
 * their outcomes and the engine's warnings. `setUp` defines `port`.
 */
async function probeScript(setUp: string, tearDown = ''): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'syn-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, 'probe.mts');
  await writeFile(
    script,
    `import { loadProbeEngineAddon, ProbeEngine } from ${JSON.stringify(new URL('../../src/healthcheck/probe-engine.ts', import.meta.url).pathname)};
${setUp}
const warnings = [];
const engine = new ProbeEngine(loadProbeEngineAddon(), (m) => warnings.push(m));
const results = [];
for (let i = 0; i < 3; i++) results.push(await engine.tcp({ host: '127.0.0.1', port, timeoutMs: 1000, halfOpen: true }));
engine.close();
${tearDown}
console.log(JSON.stringify({ ok: results.map((r) => r.ok), warnings }));
`,
  );
  return script;
}
