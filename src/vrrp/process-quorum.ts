import type { TrackedProcess } from './types.ts';

/** Pure core of track_process: which running processes count, and when a quorum is held. */

export interface RunningProcess {
  /** /proc/PID/stat's comm (at most 15 characters). */
  comm: string;
  /** /proc/PID/cmdline split at its NULs. */
  argv: string[];
}

/**
 * keepalived 2.2.7 (track_process.c): the name is compared with comm, or with argv[0] under
 * full_command. Arguments: exact wants the same list; partial wants the configured ones first;
 * initial also lets the last configured one be the start of the process's argument.
 */
export function matchesProcess(spec: TrackedProcess, running: RunningProcess): boolean {
  const name = spec.fullCommand ? (running.argv[0] ?? '') : running.comm;
  if (name !== spec.process) return false;
  const wanted = spec.params;
  const actual = running.argv.slice(1);
  switch (spec.paramMatch) {
    case 'none':
      return true;
    case 'exact':
      return actual.length === wanted.length && wanted.every((param, i) => actual[i] === param);
    case 'partial':
      return actual.length >= wanted.length && wanted.every((param, i) => actual[i] === param);
    case 'initial': {
      if (actual.length < wanted.length) return false;
      const last = wanted.length - 1;
      return wanted.every((param, i) => (i === last ? actual[i]!.startsWith(param) : actual[i] === param));
    }
  }
}

export interface QuorumState {
  held: boolean;
  /** A change waiting out fork_delay or terminate_delay; undone if the count comes back first. */
  pending: { dueAt: number } | undefined;
}

type QuorumRule = Pick<TrackedProcess, 'quorum' | 'quorumMax' | 'forkDelayMs' | 'terminateDelayMs'>;

function inQuorum(rule: QuorumRule, count: number): boolean {
  return count >= rule.quorum && count <= rule.quorumMax;
}

/** At start keepalived counts the processes and takes the result without a delay. */
export function initialQuorum(rule: QuorumRule, count: number): QuorumState {
  return { held: inQuorum(rule, count), pending: undefined };
}

/** The quorum after seeing `count` matching processes at `now`. */
export function observeCount(rule: QuorumRule, state: QuorumState, count: number, now: number): QuorumState {
  const wanted = inQuorum(rule, count);
  if (wanted === state.held) return { held: state.held, pending: undefined };
  if (state.pending) return state.pending.dueAt <= now ? { held: wanted, pending: undefined } : state;
  const delayMs = wanted ? rule.forkDelayMs : rule.terminateDelayMs;
  return delayMs > 0 ? { held: state.held, pending: { dueAt: now + delayMs } } : { held: wanted, pending: undefined };
}
