import { open } from 'node:fs/promises';
import { constants } from 'node:fs';
import type { Logger } from 'pino';
import { runCommand, splitCommandLine } from '../util/command.ts';
import type { NotifySettings } from './types.ts';

/** keepalived's notify conventions: the generic `notify` script's arguments and the notify_fifo line, and running them. */

const NOTIFY_TIMEOUT_MS = 10_000;
const SCRIPT_OF_STATE = { MASTER: 'master', BACKUP: 'backup', FAULT: 'fault', STOP: 'stop' } as const;

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';
/** notify_priority_changes: FIFO-only events, named after the state the instance is in. */
export type PriorityEvent = 'MASTER_PRIORITY' | 'BACKUP_PRIORITY';

/** keepalived's arguments to the generic `notify` script and its notify_fifo line. */
export function notifyArguments(instance: string, state: NotifyState, priority: number): string[] {
  return ['INSTANCE', instance, state, String(priority)];
}

export function notifyFifoLine(instance: string, state: NotifyState | PriorityEvent, priority: number): string {
  return `INSTANCE "${instance}" ${state} ${priority}\n`;
}

/** Appends to a FIFO without blocking when no reader has it open (ENXIO is then ignored). */
export async function writeFifo(path: string, line: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') return;
    throw error;
  }
  try {
    await handle.write(line);
  } finally {
    await handle.close();
  }
}

/** An instance entered `state`: its script for that state and the generic `notify` run side by side, and the FIFO gets its line. */
export async function notifyState(instance: string, notify: NotifySettings, state: NotifyState, priority: number, logger: Logger): Promise<void> {
  const key = SCRIPT_OF_STATE[state];
  const specific = notify[key];
  const runs: Promise<unknown>[] = [];
  if (specific) runs.push(runNotify(splitCommandLine(specific), notify.runAs?.[key], logger));
  if (notify.any) runs.push(runNotify([...splitCommandLine(notify.any), ...notifyArguments(instance, state, priority)], notify.runAs?.any, logger));
  if (notify.fifo) runs.push(writeFifo(notify.fifo, notifyFifoLine(instance, state, priority)));
  await Promise.all(runs);
}

async function runNotify(argv: string[], user: { uid: number; gid: number } | undefined, logger: Logger): Promise<void> {
  const outcome = await runCommand(argv, { timeoutMs: NOTIFY_TIMEOUT_MS, user });
  if (!outcome.succeeded) logger.warn({ argv, why: outcome.why }, 'notify script failed');
}
