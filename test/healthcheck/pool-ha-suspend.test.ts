import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import { checkSpecsFromConfig } from '../../src/healthcheck/from-config.ts';
import { CheckerPool, type RealServerCheckSpec, type Verdict } from '../../src/healthcheck/pool.ts';
import { listen, type Closer } from './servers.ts';

// ha_suspend on real sockets: a real server's checks run only while its virtual server's address
// is on the host (the pool asks isLocalAddress, which the daemon answers from rtnetlink).

const closers: Closer[] = [];
const pools: CheckerPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.stop();
  for (const c of closers.splice(0).reverse()) await c();
});

const VIP = '192.0.2.80';
const timing = { delayLoopMs: 100, retry: 0, delayBeforeRetryMs: 50, alpha: false };

async function countingListener() {
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    s.destroy();
  });
  const port = await listen(server, closers);
  return { port, accepted: () => accepted, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function spec(virtualServer: string, port: number, haSuspend?: RealServerCheckSpec['haSuspend']): RealServerCheckSpec {
  return {
    virtualServer,
    realServer: `127.0.0.1:${port}`,
    weight: 1,
    checkers: [{ id: 'TCP_CHECK#0', timing, warmupMs: 0, probe: { kind: 'TCP_CHECK', options: { host: '127.0.0.1', port, timeoutMs: 500, closeWithFin: true } } }],
    ...(haSuspend ? { haSuspend } : {}),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('CheckerPool with ha_suspend', () => {
  it('checks nothing while the address is away, keeps the real server as it was, and checks again once the address is back', async () => {
    const target = await countingListener();
    const local = new Set<string>();
    const verdicts: Verdict[] = [];
    const pool = new CheckerPool([spec('vs', target.port, { address: VIP })], { onVerdict: (v) => verdicts.push(v), isLocalAddress: (a) => local.has(a) });
    pools.push(pool);
    await pool.start();
    await sleep(450);
    expect(target.accepted()).toBe(0);
    expect(verdicts.map((v) => [v.up, v.reason])).toEqual([[true, 'initial state']]);

    local.add(VIP);
    await waitFor('checks once the address is on the host', () => target.accepted() >= 2);

    // The address leaves, then the real server dies: keepalived's suspended checkers see nothing.
    local.delete(VIP);
    await sleep(250);
    await target.close();
    await sleep(450);
    expect(verdicts.filter((v) => !v.up)).toEqual([]);
    // Back on the host, the next check finds it down.
    local.add(VIP);
    await waitFor('the down verdict', () => verdicts.some((v) => !v.up));
    expect(verdicts.filter((v) => !v.up).length).toBe(1);
  });

  it('never checks a virtual_server_group with ha_suspend (keepalived 2.2.7 never finds a group address), while the same real server elsewhere is checked', async () => {
    const target = await countingListener();
    const verdicts: Verdict[] = [];
    const pool = new CheckerPool([spec('group', target.port, { address: null }), spec('plain', target.port)], {
      onVerdict: (v) => verdicts.push(v),
      isLocalAddress: () => true,
    });
    pools.push(pool);
    await pool.start();
    await target.close();
    await waitFor('the plain virtual server to see it down', () => verdicts.some((v) => !v.up));
    await sleep(300);
    expect(verdicts.filter((v) => !v.up).map((v) => v.virtualServer)).toEqual(['plain']);
  });
  it('finds a virtual server address written in any form among the host addresses, which rtnetlink reports in canonical form', async () => {
    const closed = await countingListener();
    await closed.close();
    const conf = `virtual_server 2001:DB8:0:0::50 80 {
  protocol TCP
  lb_algo rr
  lb_kind DR
  ha_suspend
  delay_loop 0.1
  real_server 2001:db8::10 80 {
    TCP_CHECK {
      connect_ip 127.0.0.1
      connect_port ${closed.port}
      retry 0
    }
  }
}
`;
    const parsed = parseConfigText(conf, '/etc/keepalived/keepalived.conf', () => '', () => [], { hostname: 'director' });
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
    const { specs } = checkSpecsFromConfig(parsed.config, { virtualServer: () => 'vs', realServer: () => 'rs' });
    const hostAddresses = new Set(['2001:db8::50']);
    const verdicts: Verdict[] = [];
    const pool = new CheckerPool(specs, { onVerdict: (v) => verdicts.push(v), isLocalAddress: (a) => hostAddresses.has(a) });
    pools.push(pool);
    await pool.start();
    await waitFor('the check to run and find the port closed', () => verdicts.some((v) => !v.up));
  });
});
