import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { onTestFinished } from 'vitest';

// This host's kernel has no IPVS, so these tests run lvsd's VRRP part, each in a namespace of its own.
export const LVSD = fileURLToPath(new URL('../../bin/lvsd', import.meta.url));
export const LVSCTL = fileURLToPath(new URL('../../bin/lvsctl', import.meta.url));
/** Unpacked from Debian's prometheus package by scripts/setup. */
const PROMTOOL = fileURLToPath(new URL('../../.cache/prometheus/usr/bin/promtool', import.meta.url));
export const run = promisify(execFile);

export const VRRP = `
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
export const WITH_VIRTUAL_SERVER = `${VRRP}
virtual_server 192.0.2.100 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.10 80 { }
}
`;

export interface LanNamespace {
  name: string;
  exec(...argv: string[]): Promise<{ stdout: string; stderr: string }>;
}

export function lanNamespace(name: string): LanNamespace {
  return { name, exec: (...argv) => run('ip', ['netns', 'exec', name, ...argv], { timeout: 10_000 }) };
}

/** A namespace with lo up and a veth pair lan0/lan1, lan0 at 192.0.2.1/24: where VRRP's VI_1 runs. */
export async function createLan(ns: LanNamespace): Promise<void> {
  await run('ip', ['netns', 'add', ns.name]);
  await ns.exec('ip', 'link', 'set', 'lo', 'up');
  await ns.exec('ip', 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1');
  await ns.exec('ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'lan0');
  await ns.exec('ip', 'link', 'set', 'lan0', 'up');
  await ns.exec('ip', 'link', 'set', 'lan1', 'up');
}

export async function deleteLan(ns: LanNamespace): Promise<void> {
  await run('ip', ['netns', 'del', ns.name], { timeout: 10_000 }).catch(() => undefined);
}

export interface RunningLvsd {
  daemon: ChildProcess;
  socket: string;
  output: () => string;
}

export function startLvsd(ns: LanNamespace, config: string, args: string[]): RunningLvsd {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-netns-'));
  writeFileSync(join(dir, 'keepalived.conf'), config);
  const socket = join(dir, 's.sock');
  const daemon = spawn('ip', ['netns', 'exec', ns.name, LVSD, '-f', join(dir, 'keepalived.conf'), '--socket', socket, ...args]);
  // A failed assertion must not leave it holding the VIP for the next test.
  onTestFinished(() => void daemon.kill('SIGKILL'));
  let output = '';
  daemon.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  daemon.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { daemon, socket, output: () => output };
}

export async function scrape(ns: LanNamespace, port: number): Promise<string> {
  const fetch = `fetch("http://127.0.0.1:${port}/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))`;
  return (await ns.exec(process.execPath, '-e', fetch)).stdout;
}

/** `promtool check metrics` on a scrape: exit code 0 and no output when it finds nothing to fault. */
export async function promtoolCheck(metrics: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const promtool = spawn(PROMTOOL, ['check', 'metrics'], { timeout: 30_000 });
    let text = '';
    promtool.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    promtool.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    promtool.on('exit', (code) => resolve({ code, output: text }));
    promtool.on('error', (error) => resolve({ code: null, output: `${PROMTOOL}: ${error.message} (scripts/setup unpacks it)` }));
    promtool.stdin.end(metrics);
  });
}
