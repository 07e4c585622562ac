import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveMetrics } from '../../src/daemon/metrics.ts';
import type { DirectorStatus, RealServerStatus } from '../../src/daemon/status.ts';
import { listen, REPO, startModelLvsd, stop, waitFor } from './model-lvsd.ts';
import { createLan, deleteLan, lanNamespace, LVSCTL, run, VRRP } from './netns-lvsd.ts';

/** Screenshots of the runs: test artifacts, ignored by git with the rest of .cache. */
const ARTIFACTS = join(REPO, '.cache/artifacts');

describe('the --metrics listener routes', () => {
  const STATUS_JSON = '{"what":"the control socket renders"}\n';
  let base: string;
  let close: () => void;
  beforeAll(async () => {
    const noScrape = () => Promise.reject(new Error('not scraped here'));
    const { server } = await serveMetrics({ host: '127.0.0.1', port: 0 }, noScrape, async () => STATUS_JSON);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  afterAll(() => close());

  it('/status.json to the status JSON, unchanged', async () => {
    const response = await fetch(`${base}/status.json`);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe(STATUS_JSON);
  });

  it('/ to an HTML page that loads nothing from elsewhere', async () => {
    const response = await fetch(`${base}/`);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/\b(src|href)=|url\(|@import|https?:/i);
    expect((await fetch(`${base}/?refresh=1`)).status).toBe(200);
  });

  it('HEAD as GET without a body; an unknown path to 404, another method to 405', async () => {
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    expect((await fetch(`${base}/index.html`)).status).toBe(404);
    const post = await fetch(`${base}/status.json`, { method: 'POST', body: '{}' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });
});

// This host's kernel has no IPVS, the one thing missing here: without it lvsd runs VRRP only and
// starts no checker. So this lvsd runs from source with src/ipvs's model of IPVS in the kernel's
// place (model-ipvs.mjs). That is fine for this test: the page shows the states and reasons of
// real checks of a real listener; IPVS gives only the weight column.
// Everything runs in a namespace of its own, Chromium too: it reaches nothing but lvsd there.
const ns = lanNamespace(`lvsd-page-${process.pid}`);
const PORT = 9652;
const PAGE = `http://127.0.0.1:${PORT}/`;
const DOOMED = '192.0.2.1:8080';
const CONFIG = `${VRRP}
virtual_server 192.0.2.100 80 {
  delay_loop 1
  lb_algo wrr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.1 8080 { weight 2
    TCP_CHECK { connect_timeout 1 } }
  real_server 192.0.2.1 8081 { TCP_CHECK { connect_timeout 1 } }
}
virtual_server 192.0.2.100 443 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.1 8443 { TCP_CHECK { connect_timeout 1 } }
}
`;

describe('the status page in headless Chromium, against a running lvsd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-page-'));
  const socket = join(dir, 's.sock');
  let lvsd: ChildProcess;
  let lvsdOutput = () => '';
  let doomed: ChildProcess;
  let steady: ChildProcess;

  const status = async (): Promise<DirectorStatus> => JSON.parse((await run(LVSCTL, ['status', '--json', '--socket', socket], { timeout: 10_000 })).stdout) as DirectorStatus;
  const realServer = async (address: string): Promise<RealServerStatus | undefined> =>
    (await status()).virtualServers.flatMap((vs) => vs.realServers).find((rs) => rs.address === address);
  const chromium = (...args: string[]) =>
    ns.exec('chromium', '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', `--user-data-dir=${join(dir, 'chromium')}`,
      // Virtual time runs the page's scripts, waiting for its fetch of status.json, before the dump or shot.
      '--virtual-time-budget=4000', ...args, PAGE);
  /** The page's DOM once its script has rendered the status: the row of one real server. */
  const rowOf = async (address: string): Promise<string> => {
    const { stdout } = await chromium('--dump-dom');
    return stdout.match(new RegExp(`<tr class="rs"><td>${address.replaceAll('.', '\\.')}</td>.*?</tr>`))?.[0] ?? `no row for ${address} in:\n${stdout}`;
  };
  const screenshot = (name: string) => chromium(`--screenshot=${join(ARTIFACTS, name)}`, '--window-size=1000,600');

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await createLan(ns);
    doomed = listen(ns, '192.0.2.1', [8080]);
    steady = listen(ns, '192.0.2.1', [8081, 8443]);
    writeFileSync(join(dir, 'keepalived.conf'), CONFIG);
    ({ daemon: lvsd, output: lvsdOutput } = startModelLvsd(ns, ['-f', join(dir, 'keepalived.conf'), '--socket', socket, '--metrics', `127.0.0.1:${PORT}`]));
    // VRRP starts after the checkers: its instance too, for the page to show.
    const started = await waitFor(async () => {
      const { virtualServers, vrrp } = await status();
      return vrrp.length > 0 && virtualServers.flatMap((vs) => vs.realServers).every((rs) => rs.up) ? true : undefined;
    }, 20_000);
    expect(started, lvsdOutput()).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([lvsd, doomed, steady].filter(Boolean).map(stop));
    await deleteLan(ns);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves at /status.json what lvsctl status --json prints', async () => {
    const get = `fetch("${PAGE}status.json").then((r) => r.text()).then((t) => process.stdout.write(t))`;
    const [served, printed] = await Promise.all([ns.exec(process.execPath, '-e', get), run(LVSCTL, ['status', '--json', '--socket', socket], { timeout: 10_000 })]);
    // Ages and check latencies move between the two reads (a latency appears with the first check).
    const timeless = (json: string) => JSON.stringify(JSON.parse(json), (key, value: unknown) => (/AgeMs$|LatencyMs$|^sinceMs$/.test(key) ? undefined : value));
    expect(timeless(served.stdout)).toBe(timeless(printed.stdout));
  });

  it('shows a real server UP, then DOWN with the reason lvsctl status gives once its listener stops', async () => {
    expect(await rowOf(DOOMED)).toMatch(/<td class="good">UP<\/td>/);
    await screenshot('status-page-up.png');
    await stop(doomed);
    const down = await waitFor(async () => {
      const rs = await realServer(DOOMED);
      return rs && !rs.up ? rs : undefined;
    }, 20_000);
    expect(down?.failure, lvsdOutput()).toBeDefined();
    const reason = `${down!.failure!.checker}: ${down!.failure!.reason}`.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
    const row = await rowOf(DOOMED);
    expect(row).toMatch(/<td class="bad">DOWN<\/td>/);
    expect(row).toContain(`<td class="bad reason">${reason}</td>`);
    await screenshot('status-page-down.png');
  }, 60_000);
});
