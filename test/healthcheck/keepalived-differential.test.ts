import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText, type KeepalivedConfig, type RealServer } from '../../src/config/index.ts';
import { checkSpecsFromConfig } from '../../src/healthcheck/from-config.ts';
import { CheckerPool, type Verdict } from '../../src/healthcheck/pool.ts';
import { wantedDestinations, type RealServerVerdict, type TableVirtualServer } from '../../src/healthcheck/table.ts';
import { buildNoIpvsShim, startKeepalivedChecker, type KeepalivedChecker } from './keepalived.ts';
import { listen, type Closer } from './servers.ts';

// The same keepalived.conf runs in Debian's keepalived 2.2.7 (-C, with the
// no-IPVS shim because this host's kernel has no IPVS) and in lvsd's pool,
// against the same loopback listeners; both must take the same real servers
// out of and back into service, in the same order. Timing is not compared.

const closers: Closer[] = [];
let dir: string;
let shim: string;
const running: { keepalived: KeepalivedChecker[]; pools: CheckerPool[] } = { keepalived: [], pools: [] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hc-diff-'));
  shim = await buildNoIpvsShim(dir);
}, 60_000);
afterAll(async () => {
  for (const k of running.keepalived) await k.stop();
  for (const p of running.pools) await p.stop();
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

/** Writes the config where keepalived will read it, and parses it as lvsd does. */
async function writeConfig(conf: string, name: string): Promise<{ file: string; config: KeepalivedConfig }> {
  const file = join(dir, name);
  await writeFile(file, conf);
  const parsed = parseConfigText(conf, file, () => '', () => [], { hostname: 'hcdiff' });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
  return { file, config: parsed.config };
}

/** One virtual server, its real servers named by port. */
const BY_PORT = { virtualServer: () => 'vs', realServer: (rs: RealServer) => String(rs.port) };

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
    const { file, config } = await writeConfig(conf, 'keepalived.conf');
    const { specs } = checkSpecsFromConfig(config, BY_PORT);
    const lvsdEvents: string[] = [];
    const initial = new Map<string, boolean>();
    const pool = new CheckerPool(specs, {
      onVerdict: (v: Verdict) => {
        if (!initial.has(v.realServer)) initial.set(v.realServer, v.up);
        else lvsdEvents.push(`${v.up ? 'join' : 'leave'} ${v.realServer}`);
      },
    });

    running.pools.push(pool);
    const keepalived = await startKeepalivedChecker(file, dir, shim);
    running.keepalived.push(keepalived);
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
    await keepalived.stop();
    await pool.stop();
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

  it('quorum, sorry_server, inhibit_on_failure and misc_dynamic weights', async () => {
    const both = await switchableListener(true);
    const failing = await switchableListener(true);
    const inhibited = await switchableListener(true);
    const sorryPort = (await switchableListener(false)).port;
    const codeFile = join(dir, 'misc-exit-code');
    const script = join(dir, 'misc.sh');
    await writeFile(codeFile, '5\n');
    await writeFile(script, `#!/bin/sh\nexit $(cat ${codeFile})\n`);
    await chmod(script, 0o755);
    const tcp = (port: number, extra = '') =>
      `  real_server 127.0.0.1 ${port} {\n    weight ${extra ? 4 : 1}\n${extra}    TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }\n`;
    const conf =
      'global_defs {\n  router_id hcdiff2\n}\n' +
      `virtual_server 192.0.2.81 80 {\n  delay_loop 1\n  lb_kind NAT\n  protocol TCP\n  quorum 2\n  sorry_server 127.0.0.1 ${sorryPort}\n` +
      tcp(both.port) + tcp(failing.port) + '}\n' +
      'virtual_server 192.0.2.82 80 {\n  delay_loop 1\n  lb_kind NAT\n  protocol TCP\n' +
      tcp(inhibited.port, '    inhibit_on_failure\n') +
      `  real_server 127.0.0.1 ${both.port} {\n    weight 7\n    MISC_CHECK {\n      misc_path ${script}\n      misc_dynamic\n    }\n  }\n` +
      '}\n';
    const { file, config } = await writeConfig(conf, 'keepalived-quorum.conf');
    const vsName = (address: string) => address.split('.').at(-1)!;

    // lvsd: verdicts feed wantedDestinations per virtual server; changes are
    // described in keepalived's vocabulary.
    const tables = new Map<string, TableVirtualServer>();
    for (const vs of config.virtualServers) {
      if (vs.key.kind !== 'address') throw new Error('address services only');
      tables.set(vsName(vs.key.address), {
        fwd: vs.lbKind,
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        realServers: vs.realServers.map((rs) => ({ key: String(rs.port), address: rs.address, port: rs.port, inhibitOnFailure: rs.inhibitOnFailure })),
        ...(vs.sorryServer ? { sorryServer: { address: vs.sorryServer.address, port: vs.sorryServer.port, weight: 1, inhibit: vs.sorryServer.inhibit } } : {}),
      });
    }
    const health = new Map([...tables.keys()].map((k) => [k, new Map<string, RealServerVerdict>()]));
    const quorum = new Map<string, { up: boolean; sorry: boolean }>();
    const lvsdEvents: string[] = [];
    const evaluate = (vs: string): void => {
      const before = quorum.get(vs);
      const wanted = wantedDestinations(tables.get(vs)!, health.get(vs)!, before?.up);
      if (before?.up !== wanted.quorumUp) lvsdEvents.push(`${vs} quorum ${wanted.quorumUp ? 'up' : 'down'}`);
      if ((before?.sorry ?? false) !== wanted.sorryServerActive) lvsdEvents.push(`${vs} sorry ${wanted.sorryServerActive ? 'on' : 'off'}`);
      quorum.set(vs, { up: wanted.quorumUp, sorry: wanted.sorryServerActive });
    };
    let started = false;
    const { specs } = checkSpecsFromConfig(config, {
      virtualServer: (vs) => (vs.key.kind === 'address' ? vsName(vs.key.address) : ''),
      realServer: (rs) => String(rs.port),
    });
    const pool = new CheckerPool(specs, {
      onVerdict: (v: Verdict) => {
        const verdicts = health.get(v.virtualServer)!;
        const before = verdicts.get(v.realServer);
        verdicts.set(v.realServer, { up: v.up, weight: v.weight });
        if (!started) return;
        const inhibit = tables.get(v.virtualServer)!.realServers.find((rs) => rs.key === v.realServer)!.inhibitOnFailure;
        if (before?.up && !v.up) lvsdEvents.push(`${v.virtualServer} ${inhibit ? 'disable' : 'remove'} ${v.realServer}`);
        else if (!before?.up && v.up) lvsdEvents.push(`${v.virtualServer} ${inhibit ? 'enable' : 'add'} ${v.realServer}`);
        else if (v.up && before?.weight !== v.weight) lvsdEvents.push(`${v.virtualServer} weight ${v.realServer} ${v.weight}`);
        evaluate(v.virtualServer);
      },
    });
    running.pools.push(pool);
    const keepalived = await startKeepalivedChecker(file, dir, shim);
    running.keepalived.push(keepalived);
    await keepalived.waitForLine(/Startup complete/, 20_000);
    await pool.start();
    for (const vs of tables.keys()) evaluate(vs);
    started = true;

    await sleep(2500);
    await failing.stop();
    await inhibited.stop();
    await sleep(2500);
    await writeFile(codeFile, '0\n');
    await sleep(2500);
    await writeFile(codeFile, '1\n');
    await sleep(2500);

    const patterns: [RegExp, (m: RegExpExecArray) => string][] = [
      [/^(?:Gained|Lost) quorum .* for VS \[192\.0\.2\.(\d+)\]/, (m) => `${m[1]} quorum ${m[0].startsWith('Gained') ? 'up' : 'down'}`],
      [/^Starting with quorum down .* for VS \[192\.0\.2\.(\d+)\]/, (m) => `${m[1]} quorum down`],
      [/^(Adding|Removing) sorry server .* VS \[192\.0\.2\.(\d+)\]/, (m) => `${m[2]} sorry ${m[1] === 'Adding' ? 'on' : 'off'}`],
      [/^(Adding|Removing|Disabling|Enabling) service \[127\.0\.0\.1\]:tcp:(\d+) (?:to|from|of) VS \[192\.0\.2\.(\d+)\]/,
        (m) => `${m[3]} ${({ Adding: 'add', Removing: 'remove', Disabling: 'disable', Enabling: 'enable' } as Record<string, string>)[m[1]!]} ${m[2]}`],
      [/^Changing weight from \d+ to (\d+) for active service \[127\.0\.0\.1\]:tcp:(\d+) of VS \[192\.0\.2\.(\d+)\]/, (m) => `${m[3]} weight ${m[2]} ${m[1]}`],
    ];
    const keepalivedEvents = keepalived.lines.flatMap((line) => {
      for (const [re, describe] of patterns) {
        const m = re.exec(line);
        if (m) return [describe(m)];
      }
      return [];
    });
    await keepalived.stop();
    await pool.stop();
    const of = (events: string[], vs: string) => events.filter((e) => e.startsWith(`${vs} `));
    expect({ lvsd: of(lvsdEvents, '81') }).toEqual({ lvsd: of(keepalivedEvents, '81') });
    expect({ lvsd: of(lvsdEvents, '82') }).toEqual({ lvsd: of(keepalivedEvents, '82') });
    expect(of(keepalivedEvents, '81')).toEqual(['81 quorum up', `81 remove ${failing.port}`, '81 quorum down', '81 sorry on']);
    expect(of(keepalivedEvents, '82')).toEqual([
      '82 quorum up',
      `82 weight ${both.port} 3`,
      `82 disable ${inhibited.port}`,
      `82 weight ${both.port} 7`,
      `82 remove ${both.port}`,
      '82 quorum down',
    ]);
  }, 60_000);
  it('two misc_dynamic checkers on one real server: their weights add up', async () => {
    const listener = await switchableListener(true);
    const codes = [join(dir, 'dynamic-a'), join(dir, 'dynamic-b')];
    const misc = await Promise.all(codes.map(async (codeFile, i) => {
      const script = join(dir, `dynamic-${i}.sh`);
      await writeFile(codeFile, '0\n');
      await writeFile(script, `#!/bin/sh\nexit $(cat ${codeFile})\n`);
      await chmod(script, 0o755);
      return `    MISC_CHECK {\n      misc_path ${script}\n      misc_dynamic\n    }\n`;
    }));
    const conf =
      'global_defs {\n  router_id hcdiff3\n}\n' +
      `virtual_server 192.0.2.83 80 {\n  delay_loop 1\n  lb_kind NAT\n  protocol TCP\n  real_server 127.0.0.1 ${listener.port} {\n    weight 10\n${misc.join('')}  }\n}\n`;
    const { file, config } = await writeConfig(conf, 'keepalived-dynamic.conf');
    const { specs } = checkSpecsFromConfig(config, BY_PORT);
    const lvsdWeights: number[] = [];
    const pool = new CheckerPool(specs, {
      onVerdict: (v: Verdict) => {
        if (v.up && v.weight !== (lvsdWeights.at(-1) ?? 10)) lvsdWeights.push(v.weight);
      },
    });
    running.pools.push(pool);
    const keepalived = await startKeepalivedChecker(file, dir, shim);
    running.keepalived.push(keepalived);
    await keepalived.waitForLine(/Startup complete/, 20_000);
    await pool.start();

    for (const [index, code] of [[0, 5], [1, 22], [0, 0], [1, 0]] as const) {
      await sleep(2500);
      await writeFile(codes[index]!, `${code}\n`);
    }
    await sleep(2500);

    const keepalivedWeights = keepalived.lines.flatMap((line) => {
      const m = /^Changing weight from \d+ to (\d+) for active service/.exec(line);
      return m ? [Number(m[1])] : [];
    });
    await keepalived.stop();
    await pool.stop();
    expect({ lvsd: lvsdWeights }).toEqual({ lvsd: keepalivedWeights });
    // 10 + (5 - 2 - 10), then + (22 - 2 - 10); exit 0 takes each one's move back.
    expect(keepalivedWeights).toEqual([3, 13, 20, 10]);
  }, 60_000);
});
