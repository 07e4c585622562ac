// lvsd from source over the model of IPVS (model-ipvs.mjs), so that its checkers run for real on
// this host, whose kernel has no IPVS; and the real servers they check. Each runs in a namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LanNamespace } from './netns-lvsd.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface ModelLvsd {
  daemon: ChildProcess;
  output: () => string;
}

/**
 * `lvsd ARGS` in the namespace, from source, with the model of IPVS in the kernel's place; `env` is
 * added to this process's, and `timeoutMs` ends it with SIGTERM (a soak's bound).
 */
export function startModelLvsd(ns: Pick<LanNamespace, 'name'>, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): ModelLvsd {
  const argv = ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', '--import', './test/daemon/model-ipvs.mjs', 'src/cli/lvsd.ts', ...args];
  const daemon = spawn('ip', argv, { cwd: REPO, env: { ...process.env, ...options.env }, timeout: options.timeoutMs });
  let output = '';
  daemon.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  daemon.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { daemon, output: () => output };
}

/** TCP listeners in the namespace, as real servers: each accepts and closes. One process for all the ports. */
export function listen(ns: LanNamespace, address: string, ports: number[]): ChildProcess {
  const script = `for (const port of process.argv.slice(2)) require('node:net').createServer((s) => s.end()).listen(Number(port), process.argv[1]);`;
  return spawn('ip', ['netns', 'exec', ns.name, process.execPath, '-e', script, address, ...ports.map(String)], { stdio: 'ignore' });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export async function waitFor<T>(read: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 200))) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
  }
  return undefined;
}
