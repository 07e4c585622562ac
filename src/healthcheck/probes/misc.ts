import { spawn } from 'node:child_process';
import type { ProbeResult } from '../state.ts';
import { ProbeClock, describeError } from './result.ts';

export interface MiscProbeOptions {
  /** Program and arguments, never passed through a shell. */
  readonly argv: readonly string[];
  readonly timeoutMs: number;
  /** misc_dynamic: exit codes 2..255 mean "up with weight code - 2". */
  readonly dynamic: boolean;
  /** The uid:gid to run as (keepalived's `user`, script_user or keepalived_script); absent: lvsd's own. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

/**
 * MISC_CHECK: exit 0 is up, anything else down; with misc_dynamic exit 1 is
 * down and 2..255 up with weight code-2 (exit 0 takes this checker's change of
 * the weight back; state.ts adds up several). A script still running at the
 * timeout is killed and counts as down.
 */
export function miscProbe(options: MiscProbeOptions): Promise<ProbeResult> {
  const clock = new ProbeClock();
  const [program, ...args] = options.argv;
  if (program === undefined) return Promise.resolve(clock.fail('empty misc_path'));
  return new Promise((resolve) => {
    let timedOut = false;
    const child = spawn(program, args, { stdio: 'ignore', ...options.user });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve(clock.fail(`cannot run ${program}: ${describeError(error)}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve(clock.fail(`timeout after ${options.timeoutMs} ms`));
      else if (code === null) resolve(clock.fail(`killed by ${signal ?? 'signal'}`));
      else resolve(exitCodeResult(code, options.dynamic, clock));
    });
  });
}

function exitCodeResult(code: number, dynamic: boolean, clock: ProbeClock): ProbeResult {
  if (code === 0) return dynamic ? clock.ok({ kind: 'restore' }) : clock.ok();
  if (dynamic && code >= 2) return clock.ok({ kind: 'set', weight: code - 2 });
  return clock.fail(`exit code ${code}`);
}
