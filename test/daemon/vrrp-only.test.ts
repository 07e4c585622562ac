import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

// This host's kernel has no IPVS: lvsd's VRRP part must run anyway, in a namespace of its own.
const LVSD = fileURLToPath(new URL('../../bin/lvsd', import.meta.url));
const LVSCTL = fileURLToPath(new URL('../../bin/lvsctl', import.meta.url));
const LVSCTL_BUNDLE = fileURLToPath(new URL('../../bin/lvsctl.cjs', import.meta.url));
const NS = `lvsd-vrrp-${process.pid}`;
/** Unpacked from Debian's prometheus package by scripts/setup. */
const PROMTOOL = fileURLToPath(new URL('../../.cache/prometheus/usr/bin/promtool', import.meta.url));
const run = promisify(execFile);
const inNs = (...argv: string[]) => run('ip', ['netns', 'exec', NS, ...argv], { timeout: 10_000 });

const VRRP = `
vrrp_instance VI_1 {
  state MASTER
  interface lan0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`;
const WITH_VIRTUAL_SERVER = `${VRRP}
virtual_server 192.0.2.100 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.10 80 { }
}
`;

async function waitFor(condition: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

const vipPresent = async () => (await inNs('ip', '-4', 'addr', 'show', 'dev', 'lan0')).stdout.includes('192.0.2.100/24');

async function startLvsd(config: string, args: string[]): Promise<{ daemon: ChildProcess; socket: string; output: () => string }> {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-vrrp-'));
  writeFileSync(join(dir, 'keepalived.conf'), config);
  const socket = join(dir, 's.sock');
  const daemon = spawn('ip', ['netns', 'exec', NS, LVSD, '-f', join(dir, 'keepalived.conf'), '--socket', socket, ...args]);
  // A failed assertion must not leave it holding the VIP for the next test.
  onTestFinished(() => void daemon.kill('SIGKILL'));
  let output = '';
  daemon.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  daemon.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { daemon, socket, output: () => output };
}

async function stop(daemon: ChildProcess): Promise<number | null> {
  daemon.kill('SIGTERM');
  return new Promise((resolve) => (daemon.exitCode !== null ? resolve(daemon.exitCode) : daemon.once('exit', (code) => resolve(code))));
}

describe('lvsd with VRRP on a kernel without IPVS', () => {
  beforeAll(async () => {
    await run('ip', ['netns', 'add', NS]);
    await inNs('ip', 'link', 'set', 'lo', 'up');
    await inNs('ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1');
    await inNs('ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'lan0');
    await inNs('ip', 'link', 'set', 'lan0', 'up');
    await inNs('ip', 'link', 'set', 'lan1', 'up');
    await inNs('ip', 'link', 'add', 'bare0', 'type', 'veth', 'peer', 'name', 'bare1');
    await inNs('ip', 'link', 'set', 'bare0', 'up');
  });
  afterAll(async () => {
    await run('ip', ['netns', 'del', NS]).catch(() => undefined);
  });

  it('lvsd -P becomes master, holds the VIP, shows it in lvsctl status and removes it at stop', async () => {
    const { daemon, socket, output } = await startLvsd(VRRP, ['-P']);
    expect(await waitFor(vipPresent, 20_000), output()).toBe(true);
    const status = await run(LVSCTL, ['status', '--socket', socket]);
    expect(status.stdout).toMatch(/VI_1\s+lan0\s+51\s+MASTER\s+150/);
    // bin/lvsctl prints a status through native/lvsctl; the bundle prints the same table and JSON.
    const tables = (text: string) => text.split('\n').slice(1).join('\n');
    expect(tables((await run(LVSCTL_BUNDLE, ['status', '--socket', socket])).stdout)).toBe(tables(status.stdout));
    const [nativeJson, bundleJson] = await Promise.all([run(LVSCTL, ['status', '--json', '--socket', socket]), run(LVSCTL_BUNDLE, ['status', '--json', '--socket', socket])]);
    const identity = (json: string) => {
      const { pid, startedAt, configFile, vrrp } = JSON.parse(json) as { pid: number; startedAt: string; configFile: string; vrrp: Array<{ name: string; state: string }> };
      return { pid, startedAt, configFile, vrrp: vrrp.map(({ name, state }) => ({ name, state })) };
    };
    expect(identity(nativeJson.stdout)).toEqual(identity(bundleJson.stdout));
    expect(await stop(daemon)).toBe(0);
    expect(await vipPresent()).toBe(false);
  });

  it('serves metrics that promtool finds nothing to fault in, with the process metrics of prom-client', async () => {
    const { daemon, output } = await startLvsd(VRRP, ['-P', '--metrics', '127.0.0.1:9651']);
    expect(await waitFor(vipPresent, 20_000), output()).toBe(true);
    const fetch = 'fetch("http://127.0.0.1:9651/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))';
    const { stdout: metrics } = await inNs(process.execPath, '-e', fetch);
    expect(metrics).toMatch(/^lvsd_vrrp_master\{vrrp_instance="VI_1"\} 1$/m);
    expect(metrics).toMatch(/^lvsd_reloads_total\{result="failure"\} 0$/m);
    expect(metrics).toMatch(/^lvsd_process_resident_memory_bytes \d+$/m);
    expect(metrics).toMatch(/^lvsd_nodejs_eventloop_lag_p99_seconds /m);
    const lint = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const promtool = spawn(PROMTOOL, ['check', 'metrics']);
      let text = '';
      promtool.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      promtool.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      promtool.on('exit', (code) => resolve({ code, output: text }));
      promtool.on('error', (error) => resolve({ code: null, output: `${PROMTOOL}: ${error.message} (scripts/setup unpacks it)` }));
      promtool.stdin.end(metrics);
    });
    expect(lint).toEqual({ code: 0, output: '' });
    expect(await stop(daemon)).toBe(0);
  });

  it('exits 1 with the reason, not a stack trace, when the interface has no IPv4 address', async () => {
    const { daemon, socket, output } = await startLvsd(VRRP.replace('interface lan0', 'interface bare0'), ['-P']);
    const code = await new Promise((resolve) => (daemon.exitCode !== null ? resolve(daemon.exitCode) : daemon.once('exit', resolve)));
    expect(code, output()).toBe(1);
    expect(output()).toBe('lvsd: VRRP cannot start: vrrp_instance VI_1: no IPv4 address on bare0\n');
    expect(existsSync(socket)).toBe(false);
  });

  it('with virtual servers too, runs VRRP and reports that IPVS is missing', async () => {
    const { daemon, socket, output } = await startLvsd(WITH_VIRTUAL_SERVER, []);
    expect(await waitFor(vipPresent, 20_000), output()).toBe(true);
    const status = await run(LVSCTL, ['status', '--socket', socket]);
    expect(status.stdout).toMatch(/IPVS unavailable: .*modprobe ip_vs/);
    expect(status.stdout).toMatch(/VI_1\s+lan0\s+51\s+MASTER/);
    expect(output()).toMatch(/IPVS unavailable, running VRRP only/);
    expect(await stop(daemon)).toBe(0);
  });
});
