import { readdir, readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { initialQuorum, matchesProcess, observeCount, type QuorumState, type RunningProcess } from './process-quorum.ts';
import type { TrackedProcess } from './types.ts';

/**
 * keepalived 2.2.7 learns of forks and exits from the proc connector, which needs CAP_NET_ADMIN and
 * reports only to the initial network namespace; lvsd reads /proc once a second instead, so a
 * change is seen within a second, plus fork_delay or terminate_delay.
 */
const SCAN_INTERVAL_MS = 1000;

/** The quorum of each vrrp_track_process, kept by scanning /proc. */
export class ProcessQuorums {
  private readonly quorums = new Map<string, { spec: TrackedProcess; state: QuorumState }>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly onChange: () => void,
  ) {}

  held(spec: TrackedProcess): boolean {
    return this.quorums.get(keyOf(spec))?.state.held ?? false;
  }

  /** Watches exactly `wanted`; new ones start from a scan without delay, as keepalived starts. */
  async reconcile(wanted: TrackedProcess[]): Promise<void> {
    const specs = new Map(wanted.map((spec) => [keyOf(spec), spec]));
    for (const key of this.quorums.keys()) if (!specs.has(key)) this.quorums.delete(key);
    const added = [...specs].filter(([key]) => !this.quorums.has(key));
    if (added.length > 0) {
      const running = await runningProcesses(added.map(([, spec]) => spec));
      for (const [key, spec] of added) this.quorums.set(key, { spec, state: initialQuorum(spec, countOf(spec, running)) });
    }
    clearTimeout(this.timer);
    if (this.quorums.size > 0 && !this.closed) this.timer = setTimeout(() => void this.scan(), SCAN_INTERVAL_MS);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async scan(): Promise<void> {
    try {
      const entries = [...this.quorums.values()];
      const running = await runningProcesses(entries.map((entry) => entry.spec));
      let changed = false;
      for (const entry of entries) {
        const count = countOf(entry.spec, running);
        const next = observeCount(entry.spec, entry.state, count, this.now());
        if (next.held !== entry.state.held) {
          this.logger.info({ trackProcess: entry.spec.name, processes: count }, `quorum ${next.held ? 'gained' : 'lost'} for tracked process ${entry.spec.name}`);
          changed = true;
        }
        entry.state = next;
      }
      if (changed) this.onChange();
    } catch (error) {
      this.logger.error({ err: error }, 'cannot read /proc for track_process');
    }
    if (!this.closed) this.timer = setTimeout(() => void this.scan(), SCAN_INTERVAL_MS);
  }
}

function keyOf(spec: TrackedProcess): string {
  const { weight: _weight, reverse: _reverse, ...rule } = spec;
  return JSON.stringify(rule);
}

function countOf(spec: TrackedProcess, running: RunningProcess[]): number {
  return running.filter((process) => matchesProcess(spec, process)).length;
}

/** Every live process, zombies left out; cmdline is read only where a full_command needs it, as keepalived does. */
async function runningProcesses(specs: TrackedProcess[]): Promise<RunningProcess[]> {
  const needArgv = specs.some((spec) => spec.fullCommand);
  const pids = (await readdir('/proc')).filter((name) => /^[1-9]\d*$/.test(name));
  const processes = await Promise.all(pids.map((pid) => readProcess(pid, needArgv)));
  return processes.filter((process): process is RunningProcess => process !== undefined);
}

async function readProcess(pid: string, needArgv: boolean): Promise<RunningProcess | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: it runs from the first '(' to the last ')'.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    if (open < 0 || close < open || stat[close + 2] === 'Z') return undefined;
    const argv = needArgv ? (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0') : [];
    if (argv.at(-1) === '') argv.pop();
    return { comm: stat.slice(open + 1, close), argv };
  } catch {
    // The process ended while we read it.
    return undefined;
  }
}
