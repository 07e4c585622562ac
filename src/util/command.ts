import type * as ChildProcess from 'node:child_process';
import { builtin } from './builtin.ts';

/** Running keepalived's scripts (notify, quorum, vrrp_script, misc_path): argument vectors, never a shell. */

/** Splits a keepalived command line into words; double or single quotes group, backslash escapes. */
export function splitCommandLine(command: string): string[] {
  const words: string[] = [];
  let current: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < command.length; index++) {
    const char = command[index] ?? '';
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && index + 1 < command.length) current = (current ?? '') + (command[++index] ?? '');
      else current = (current ?? '') + char;
    } else if (char === '"' || char === "'") {
      quote = char;
      current ??= '';
    } else if (char === '\\' && index + 1 < command.length) {
      current = (current ?? '') + (command[++index] ?? '');
    } else if (/\s/.test(char)) {
      if (current !== undefined) words.push(current);
      current = undefined;
    } else {
      current = (current ?? '') + char;
    }
  }
  if (current !== undefined) words.push(current);
  return words;
}

export interface RunOptions {
  timeoutMs: number;
  user?: { uid: number; gid: number } | undefined;
}

export type ScriptOutcome = { succeeded: true } | { succeeded: false; why: string };

/** node:child_process (with net and dgram under it) loads with the first script, not at every start. */
export function runCommand(argv: string[], options: RunOptions): Promise<ScriptOutcome> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.resolve({ succeeded: false, why: 'empty command' });
  const { execFile } = builtin<typeof ChildProcess>('node:child_process');
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: options.timeoutMs, killSignal: 'SIGKILL', ...(options.user ?? {}) },
      (error) => {
        if (!error) resolve({ succeeded: true });
        else if (error.killed) resolve({ succeeded: false, why: `timed out after ${options.timeoutMs} ms` });
        else resolve({ succeeded: false, why: error.code === undefined ? error.message : `exit ${String(error.code)}` });
      },
    );
  });
}
