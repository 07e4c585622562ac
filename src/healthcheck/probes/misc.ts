import { spawn } from 'node:child_process';
import type { ProbeResult } from '../state.ts';
import { ProbeClock, describeError } from './result.ts';

export interface MiscProbeOptions {
  /** Program and arguments, never passed through a shell. */
  readonly argv: readonly string[];
  readonly timeoutMs: number;
  /** misc_dynamic: exit codes 2..255 mean "up with weight code - 2". */
  readonly dynamic: boolean;
}

/**
 * MISC_CHECK: exit 0 is up, anything else down; with misc_dynamic exit 1 is
 * down and 2..255 up with weight code-2 (exit 0 restores the configured
 * weight). A script still running at the timeout is killed and counts as down.
 */
export function miscProbe(options: MiscProbeOptions): Promise<ProbeResult> {
  const clock = new ProbeClock();
  const [program, ...args] = options.argv;
  if (program === undefined) return Promise.resolve(clock.fail('empty misc_path'));
  return new Promise((resolve) => {
    let timedOut = false;
    const child = spawn(program, args, { stdio: 'ignore' });
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

/**
 * Splits a misc_path command line into an argument vector the way keepalived
 * does: whitespace separates words, single and double quotes group them,
 * backslash escapes the next character.
 */
export function splitCommandLine(commandLine: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < commandLine.length; i++) {
    const ch = commandLine[i] as string;
    if (quote !== null) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < commandLine.length) word += commandLine[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < commandLine.length) {
      word += commandLine[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
