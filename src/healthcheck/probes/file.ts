import { readFile, writeFile } from 'node:fs/promises';
import type { ProbeResult } from '../state.ts';
import { ProbeClock, describeError } from './result.ts';

export interface FileProbeOptions {
  readonly path: string;
  /** The file's value is multiplied by this; 0 means "any non-zero value is a failure". */
  readonly weight: number;
  readonly reverse: boolean;
}

/** keepalived treats a tracked value at or below this as a failure. */
const FAILED_AT_OR_BELOW = -254;

/**
 * FILE_CHECK / track_file: the number in the file, times the weight (negated
 * with reverse), is added to the real server's weight (keepalived 2.2.7 always
 * does; the `dynamic` of its manual is an unknown keyword to it); a result at or below
 * -254, or any non-zero value with weight 0, fails the checker. A missing or
 * non-numeric file reads as 0, as in keepalived.
 */
export async function fileProbe(options: FileProbeOptions): Promise<ProbeResult> {
  const clock = new ProbeClock();
  const value = await readTrackedValue(options.path);
  if (options.weight === 0) {
    return value === 0 ? clock.ok({ kind: 'add', delta: 0 }) : clock.fail(`${options.path} holds ${value}`);
  }
  const delta = value * options.weight * (options.reverse ? -1 : 1);
  if (delta <= FAILED_AT_OR_BELOW) return clock.fail(`${options.path} holds ${value} (weight ${delta})`);
  return clock.ok({ kind: 'add', delta });
}

async function readTrackedValue(path: string): Promise<number> {
  try {
    const text = await readFile(path, 'utf8');
    const value = Number.parseInt(text.trim(), 10);
    return Number.isNaN(value) ? 0 : value;
  } catch {
    return 0;
  }
}

/** track_file init_file: create the file with a value unless it exists (or always with overwrite). */
export async function initTrackedFile(path: string, value: number, overwrite: boolean): Promise<string | null> {
  try {
    await writeFile(path, `${value}\n`, { flag: overwrite ? 'w' : 'wx' });
    return null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    return describeError(error);
  }
}
