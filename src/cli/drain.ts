// `lvsctl drain RS [--vs VS] [--wait [--timeout S]]` and `lvsctl undrain RS [--vs VS] [--over S]`.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCommandLine, UsageError } from './args.ts';
import { requestControl } from '../daemon/control.ts';
import { DEFAULT_SOCKET } from '../daemon/options.ts';
import type { DirectorStatus } from '../daemon/status.ts';

type Out = NodeJS.WritableStream;

const WAIT_POLL_MS = 1000;
const DEFAULT_WAIT_SECONDS = 300;

function seconds(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(parsed)) throw new UsageError(`${option} expects seconds, got '${value}'`);
  return parsed;
}

function target(positionals: readonly string[], command: string): string {
  if (positionals.length !== 1) throw new UsageError(`${command} needs one real server (ADDRESS or ADDRESS:PORT)`);
  return positionals[0]!;
}

export async function drainCommand(argv: readonly string[], out: Out, err: Out): Promise<number> {
  const { values, positionals } = parseCommandLine(
    argv,
    { vs: { type: 'string' }, wait: { type: 'boolean' }, timeout: { type: 'string' }, socket: { type: 'string' } },
    true,
  );
  const socket = values.socket ?? DEFAULT_SOCKET;
  const realServer = target(positionals, 'drain');
  const timeoutSeconds = seconds(values.timeout, '--timeout', DEFAULT_WAIT_SECONDS);
  if (values.timeout !== undefined && !values.wait) throw new UsageError('--timeout goes with --wait');
  const drained = (await requestControl(socket, { command: 'drain', realServer, ...(values.vs !== undefined && { virtualServer: values.vs }) })) as string[];
  for (const name of drained) out.write(`draining ${name}\n`);
  if (!values.wait) return 0;
  // Until no drained real server named here has an active connection, or the timeout.
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const status = (await requestControl(socket, { command: 'status' })) as DirectorStatus;
    const busy = status.virtualServers.flatMap((vs) =>
      vs.realServers
        .filter((rs) => drained.includes(`${rs.address} of ${vs.name}`) && (rs.drain?.connections?.activeConnections ?? 0) > 0)
        .map((rs) => `${rs.address} of ${vs.name}: ${rs.drain?.connections?.activeConnections} active`),
    );
    if (busy.length === 0) {
      out.write('no active connections left\n');
      return 0;
    }
    if (Date.now() >= deadline) {
      err.write(`lvsctl: still active after ${timeoutSeconds} s: ${busy.join(', ')}\n`);
      return 1;
    }
    await sleep(Math.min(WAIT_POLL_MS, Math.max(0, deadline - Date.now())));
  }
}

export async function undrainCommand(argv: readonly string[], out: Out): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { vs: { type: 'string' }, over: { type: 'string' }, socket: { type: 'string' } }, true);
  const realServer = target(positionals, 'undrain');
  const overSeconds = seconds(values.over, '--over', 0);
  const restored = (await requestControl(values.socket ?? DEFAULT_SOCKET, {
    command: 'undrain',
    realServer,
    overSeconds,
    ...(values.vs !== undefined && { virtualServer: values.vs }),
  })) as string[];
  for (const name of restored) out.write(`${overSeconds > 0 ? `restoring over ${overSeconds} s` : 'restored'} ${name}\n`);
  return 0;
}
