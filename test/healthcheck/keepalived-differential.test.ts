import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import { checkSpecsFromConfig } from '../../src/healthcheck/from-config.ts';
import { CheckerPool, type Verdict } from '../../src/healthcheck/pool.ts';
import { buildNoIpvsShim, startKeepalivedChecker, type KeepalivedChecker } from './keepalived.ts';
import { listen, type Closer } from './servers.ts';

// The same keepalived.conf runs in Debian's keepalived 2.2.7 (-C, with the
// no-IPVS shim because this host's kernel has no IPVS) and in lvsd's pool,
// against the same loopback listeners; both must take the same real servers
// out of and back into service, in the same order. Timing is not compared.

const closers: Closer[] = [];
let dir: string;
let shim: string;
let keepalived: KeepalivedChecker | undefined;
let pool: CheckerPool | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hc-diff-'));
  shim = await buildNoIpvsShim(dir);
}, 60_000);
afterAll(async () => {
  await keepalived?.stop();
  await pool?.stop();
  for (const c of closers.reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

/** A TCP listener on 127.0.0.1 that can be stopped and started again on the same port. */
async function switchableListener(startUp: boolean) {
  const make = () => net.createServer((s) => { s.on('error', () => undefined); s.destroy(); });
  let server = make();
  const port = await listen(server, closers);
  const stop = () => new Promise<void>((r) => server.close(() => r()));
  if (!startUp) await stop();
  return {
    port,
    stop,
    start: async () => {
      server = make();
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      closers.push(() => new Promise<void>((r) => server.close(() => r())));
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('lvsd and keepalived 2.2.7 agree on when real servers leave and join', () => {
  it('TCP_CHECK with retry, alpha, a failure and a recovery', async () => {
    const steady = await switchableListener(true);
    const deadFromStart = await switchableListener(false);
    const flapping = await switchableListener(true);
    const alpha = await switchableListener(true);
    const rs = (port: number, extra = '') =>
      `  real_server 127.0.0.1 ${port} {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n${extra}    }\n  }\n`;
    const conf =
      'global_defs {\n  router_id hcdiff\n}\n' +
      'virtual_server 192.0.2.77 80 {\n  delay_loop 1\n  lb_kind NAT\n  protocol TCP\n' +
      rs(steady.port) + rs(deadFromStart.port) + rs(flapping.port) + rs(alpha.port, '      alpha\n') +
      '}\n';
    const file = join(dir, 'keepalived.conf');
    await writeFile(file, conf);

    const parsed = parseConfigText(conf, file, () => '', () => [], { hostname: 'hcdiff' });
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
    const { specs } = checkSpecsFromConfig(parsed.config, { virtualServer: () => 'vs', realServer: (r) => String(r.port) });
    const lvsdEvents: string[] = [];
    const initial = new Map<string, boolean>();
    pool = new CheckerPool(specs, {
      onVerdict: (v: Verdict) => {
        if (!initial.has(v.realServer)) initial.set(v.realServer, v.up);
        else lvsdEvents.push(`${v.up ? 'join' : 'leave'} ${v.realServer}`);
      },
    });

    keepalived = await startKeepalivedChecker(file, dir, shim);
    await keepalived.waitForLine(/Startup complete/, 20_000);
    await pool.start();

    await sleep(4000);
    await flapping.stop();
    await sleep(4500);
    await flapping.start();
    await sleep(3500);

    const keepalivedEvents = keepalived.lines.flatMap((line) => {
      const m = /^(Adding|Removing) service \[127\.0\.0\.1\]:tcp:(\d+) (to|from) VS/.exec(line);
      return m ? [`${m[1] === 'Adding' ? 'join' : 'leave'} ${m[2]}`] : [];
    });
    const perServer = (events: string[], port: number) => events.filter((e) => e.endsWith(` ${port}`));
    for (const port of [steady.port, deadFromStart.port, flapping.port, alpha.port]) {
      expect({ port, lvsd: perServer(lvsdEvents, port) }).toEqual({ port, lvsd: perServer(keepalivedEvents, port) });
    }
    // And the sequences are the ones keepalived's semantics call for.
    expect(perServer(keepalivedEvents, deadFromStart.port)).toEqual([`leave ${deadFromStart.port}`]);
    expect(perServer(keepalivedEvents, flapping.port)).toEqual([`leave ${flapping.port}`, `join ${flapping.port}`]);
    expect(perServer(keepalivedEvents, alpha.port)).toEqual([`join ${alpha.port}`]);
    expect(initial.get(String(alpha.port))).toBe(false);
    expect(initial.get(String(deadFromStart.port))).toBe(true);
  }, 60_000);
});
