import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How many jobs the VM may run at once, from how much of the host's CPU its emulated CPUs get.
 *
 * The kernel tests run cases side by side at a concurrency chosen on an unloaded host, where
 * QEMU's threads get ~0.93 of the time they are runnable. When other work on the host takes CPU
 * (two busy loops on a 2-core machine leave it ~0.5), every emulated process runs that much
 * slower, and the same concurrency starves keepalived and lvsd alike until their checks and
 * the runner's snapshots miss each other. Admitting fewer jobs at once keeps each job's CPU what
 * it is on an unloaded host; the suite takes longer instead of failing.
 */
export const JOB_SLOTS_FILE = 'job-slots';

/** Jobs the busiest kernel test file (the conformance suite) runs at once on an unloaded host. */
const UNLOADED_JOBS = 12;
/** At or above this share the host counts as unloaded: no limit. */
const UNLOADED_SHARE = 0.8;
/** Below this much CPU wanted in a window the VM was idle, and its share says nothing. */
const MIN_BUSY_CPU_SECONDS = 0.5;
const WINDOW_MS = 5_000;

interface CpuTimes {
  runNs: number;
  waitNs: number;
}

/** Time a process's threads ran and waited runnable in the run queue (/proc/PID/task/TID/schedstat). */
function cpuTimesOf(pid: number): CpuTimes {
  const times = { runNs: 0, waitNs: 0 };
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ').map(Number);
      times.runNs += run!;
      times.waitNs += wait!;
    } catch {
      // the thread exited between listing and reading
    }
  }
  return times;
}

function jobSlotsFor(share: number): number | undefined {
  return share >= UNLOADED_SHARE ? undefined : Math.max(2, Math.round(UNLOADED_JOBS * share));
}

/**
 * Samples QEMU's share of the CPU every few seconds and writes the job limit into the exchange
 * directory, where the VM's agent reads it before starting a queued job. Returns the stopper.
 */
export function publishJobSlots(qemuPid: number, exchangeDir: string): () => void {
  let last: CpuTimes;
  try {
    last = cpuTimesOf(qemuPid);
  } catch {
    return () => {};
  }
  const file = join(exchangeDir, JOB_SLOTS_FILE);
  const timer = setInterval(() => {
    let now: CpuTimes;
    try {
      now = cpuTimesOf(qemuPid);
    } catch {
      return clearInterval(timer);
    }
    const runNs = now.runNs - last.runNs;
    const waitNs = now.waitNs - last.waitNs;
    last = now;
    if ((runNs + waitNs) / 1e9 < MIN_BUSY_CPU_SECONDS) return;
    const slots = jobSlotsFor(runNs / (runNs + waitNs));
    writeFileSync(`${file}.tmp`, slots === undefined ? '' : String(slots));
    renameSync(`${file}.tmp`, file);
  }, WINDOW_MS);
  timer.unref();
  return () => clearInterval(timer);
}
