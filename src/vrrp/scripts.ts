import { open } from 'node:fs/promises';
import { constants } from 'node:fs';

/** keepalived's notify conventions: the generic `notify` script's arguments and the notify_fifo line. */

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
