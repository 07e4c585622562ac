import { type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLan, deleteLan, lanNamespace, LVSCTL, promtoolCheck, run, scrape, startLvsd as startInNs, VRRP, WITH_VIRTUAL_SERVER } from './netns-lvsd.js';

// This host's kernel has no IPVS: lvsd's VRRP part must run anyway, in a namespace of its own.
const LVSCTL_BUNDLE = fileURLToPath(new URL('../../bin/lvsctl.cjs', import.meta.url));
const ns = lanNamespace(`lvsd-vrrp-${process.pid}`);
const inNs = ns.exec;
const startLvsd = (config: string, args: string[]) => startInNs(ns, config, args);

async function waitFor(condition: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

const vipPresent = async () => (await inNs('ip', '-4', 'addr', 'show', 'dev', 'lan0')).stdout.includes('192.0.2.100/24');

async function stop(daemon: ChildProcess): Promise<number | null> {
  daemon.kill('SIGTERM');
  return new Promise((resolve) => (daemon.exitCode !== null ? resolve(daemon.exitCode) : daemon.once('exit', (code) => resolve(code))));
}

describe('lvsd with VRRP on a kernel without IPVS', () => {
  beforeAll(async () => {
    await createLan(ns);
    await inNs('ip', 'link', 'add', 'bare0', 'type', 'veth', 'peer', 'name', 'bare1');
    await inNs('ip', 'link', 'set', 'bare0', 'up');
  });
  afterAll(async () => deleteLan(ns));

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
    const metrics = await scrape(ns, 9651);
    expect(metrics).toMatch(/^lvsd_vrrp_master\{vrrp_instance="VI_1"\} 1$/m);
    expect(metrics).toMatch(/^lvsd_vrrp_transitions_total\{vrrp_instance="VI_1",state="MASTER"\} 1$/m);
    expect(metrics).toMatch(/^lvsd_vrrp_split_brains_total\{vrrp_instance="VI_1"\} 0$/m);
    expect(metrics).toMatch(/^lvsd_reloads_total\{result="failure"\} 0$/m);
    expect(metrics).toMatch(/^lvsd_process_resident_memory_bytes \d+$/m);
    expect(metrics).toMatch(/^lvsd_nodejs_eventloop_lag_p99_seconds /m);
    const lint = await promtoolCheck(metrics);
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
