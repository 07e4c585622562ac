import { readFile, writeFile } from 'node:fs/promises';
import type { ProbeResult } from '../state.ts';
import { trackedFileOutcome, trackedValueOf, type TrackedFileRule } from '../tracked-file.ts';
import { ProbeClock, describeError } from './result.ts';

export type FileProbeOptions = TrackedFileRule;

/** FILE_CHECK / track_file: see trackedFileOutcome. A missing or unreadable file reads as 0, as in keepalived. */
export async function fileProbe(options: FileProbeOptions): Promise<ProbeResult> {
  const clock = new ProbeClock();
  const text = await readFile(options.path, 'utf8').catch(() => undefined);
  const outcome = trackedFileOutcome(options, trackedValueOf(text));
  return outcome.ok ? clock.ok({ kind: 'add', delta: outcome.delta }) : clock.fail(outcome.reason);
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
