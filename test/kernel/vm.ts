import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ensureInitramfs, findKernel, KernelVmSetupError } from './initramfs.ts';
import { publishJobSlots } from './job-slots.ts';

export { KernelVmSetupError } from './initramfs.ts';

const AGENT = fileURLToPath(new URL('./agent.mjs', import.meta.url));
const CHECKOUT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
/** A look for the job's result in case a change went by unseen; the directory is watched meanwhile. */
const RESULT_POLL_MS = 1_000;
const DEFAULT_JOB_TIMEOUT_MS = 120_000;
/** TCG boots take ~10 s on an idle machine; a loaded 2-core CI box needs far more headroom. */
const BOOT_TIMEOUT_MS = 180_000;
/** How long a job may wait for one of the agent's slots (see job-slots.ts) before the host gives up on the VM. */
const QUEUED_TIMEOUT_MS = 30 * 60_000;

export interface VmRunOptions {
  timeoutMs?: number;
  /** Run in a fresh network namespace (own IPVS table, loopback up). Default true. */
  netns?: boolean;
  env?: Record<string, string>;
  cwd?: string;
  /**
   * Run with the VM to itself: start once every running job has ended, and start nothing else
   * until it ends. For jobs whose load would make timing-sensitive jobs beside them miss.
   */
  exclusive?: boolean;
}

export interface VmRunResult {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface VmInfo {
  kernel: string;
  loaded: string[];
  missing: string[];
}

/**
 * A Debian kernel with IPVS booted under QEMU/TCG. The host's root is its
 * read-only root; jobs (argument vectors) travel through a shared exchange
 * directory that has the same path on both sides, so a test can hand the VM
 * files by writing them below `exchangeDir`.
 */
export class KernelVm {
  private constructor(
    readonly exchangeDir: string,
    readonly info: VmInfo,
    private readonly qemu: ChildProcess | undefined,
    private readonly stopJobSlots: () => void = () => {},
  ) {}

  /** Connects to a VM that another process booted (the vitest global setup). */
  static attach(exchangeDir: string): KernelVm {
    const info = JSON.parse(readFileSync(join(exchangeDir, 'ready.json'), 'utf8')) as VmInfo;
    return new KernelVm(exchangeDir, info, undefined);
  }

  static async boot(options: { memoryMb?: number; cpus?: number } = {}): Promise<KernelVm> {
    const kernel = findKernel();
    const initramfs = ensureInitramfs(kernel);
    const exchangeDir = mkdtempSync(join(tmpdir(), 'lvsd-vm-'));
    mkdirSync(join(exchangeDir, 'jobs'));
    const qemu = spawn(
      'qemu-system-x86_64',
      [
        '-accel', 'tcg',
        '-cpu', 'max',
        '-smp', String(options.cpus ?? 2),
        '-m', String(options.memoryMb ?? 2048),
        '-nographic', '-no-reboot', '-nodefaults',
        '-serial', `file:${join(exchangeDir, 'console.log')}`,
        '-kernel', kernel.vmlinuz,
        '-initrd', initramfs,
        '-append', `console=ttyS0 panic=-1 quiet lvsd.exchange=${exchangeDir} lvsd.agent=${AGENT} lvsd.checkout=${CHECKOUT}`,
        '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
        '-virtfs', `local,path=${CHECKOUT},mount_tag=checkout,security_model=none,readonly=on,multidevs=remap`,
        '-virtfs', `local,path=${exchangeDir},mount_tag=exchange,security_model=none`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // A VM must never outlive the process that booted it.
    const killOnExit = (): void => void qemu.kill('SIGKILL');
    process.once('exit', killOnExit);
    void new Promise<void>((resolve) => qemu.once('exit', () => resolve())).then(() => process.off('exit', killOnExit));
    let qemuError = '';
    qemu.stderr?.on('data', (chunk: Buffer) => (qemuError += chunk.toString()));
    const exited = new Promise<void>((resolve) => qemu.once('exit', () => resolve()));
    const spawnFailed = new Promise<never>((_, reject) =>
      qemu.once('error', (error) => reject(new KernelVmSetupError(`cannot start qemu-system-x86_64 (apt-get install qemu-system-x86): ${error.message}`))),
    );
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    const readyFile = join(exchangeDir, 'ready.json');
    let qemuExited = false;
    void exited.then(() => (qemuExited = true));
    while (!existsSync(readyFile)) {
      if (qemuExited || Date.now() > deadline) {
        qemu.kill('SIGKILL');
        const console = readTail(join(exchangeDir, 'console.log')) + readTail(join(exchangeDir, 'agent.log'));
        throw new KernelVmSetupError(`kernel VM did not come up (${qemuExited ? 'qemu exited' : 'timeout'}): ${qemuError}\n${console}`);
      }
      await Promise.race([sleep(100), spawnFailed]);
    }
    const info = JSON.parse(readFileSync(readyFile, 'utf8')) as VmInfo;
    return new KernelVm(exchangeDir, info, qemu, publishJobSlots(qemu.pid!, exchangeDir));
  }

  async run(argv: readonly string[], options: VmRunOptions = {}): Promise<VmRunResult> {
    const id = randomUUID();
    const dir = join(this.exchangeDir, 'jobs', id);
    mkdirSync(dir);
    const timeoutMs = options.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    const job = { argv, timeoutMs, netns: options.netns ?? true, env: options.env ?? {}, cwd: options.cwd, exclusive: options.exclusive ?? false };
    writeFileSync(join(dir, 'job.json.tmp'), JSON.stringify(job));
    renameSync(join(dir, 'job.json.tmp'), join(dir, 'job.json'));
    // The agent enforces the timeout from the job's start (it may queue the job first); the host
    // waits longer in case the VM itself stalls.
    let hostDeadline = Date.now() + QUEUED_TIMEOUT_MS;
    let started = false;
    const resultFile = join(dir, 'result.json');
    // The agent's files appear through QEMU, a host process: inotify sees them as they come.
    let changed = false;
    let wake = (): void => {};
    const watcher = watch(dir, (_, name) => {
      // Not the job's output, which changes with every line it writes.
      if (name === 'stdout' || name === 'stderr') return;
      changed = true;
      wake();
    });
    try {
      while (!existsSync(resultFile)) {
        if (!started && existsSync(join(dir, 'started'))) {
          started = true;
          hostDeadline = Date.now() + timeoutMs + 60_000;
        }
        if (Date.now() > hostDeadline) throw new Error(`kernel VM did not answer job ${argv.join(' ')}`);
        if (!changed) {
          await new Promise<void>((resolve) => {
            const fallback = setTimeout(resolve, RESULT_POLL_MS);
            wake = () => {
              clearTimeout(fallback);
              resolve();
            };
          });
        }
        changed = false;
      }
    } finally {
      watcher.close();
    }
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as Omit<VmRunResult, 'stdout' | 'stderr'> & { spawnError?: string };
    const stdout = readFileSync(join(dir, 'stdout'), 'utf8');
    const stderr = readFileSync(join(dir, 'stderr'), 'utf8') + (result.spawnError ? `\n${result.spawnError}` : '');
    rmSync(dir, { recursive: true, force: true });
    return { code: result.code, signal: result.signal ?? null, timedOut: result.timedOut ?? false, stdout, stderr, durationMs: result.durationMs };
  }

  /** A scratch directory visible at the same path inside the VM. */
  scratchDir(): string {
    const dir = join(this.exchangeDir, 'scratch', randomUUID());
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  async shutdown(): Promise<void> {
    if (!this.qemu) return;
    this.stopJobSlots();
    writeFileSync(join(this.exchangeDir, 'jobs', 'shutdown'), '');
    const exited = new Promise<void>((resolve) => this.qemu!.once('exit', () => resolve()));
    if (this.qemu.exitCode === null) await Promise.race([exited, sleep(10_000)]);
    this.qemu.kill('SIGKILL');
    rmSync(this.exchangeDir, { recursive: true, force: true });
  }
}

function readTail(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8').slice(-4000) : '';
}

/** Environment variable through which the vitest global setup hands its VM to test workers. */
export const VM_EXCHANGE_ENV = 'LVSD_VM_EXCHANGE';

let shared: Promise<KernelVm> | undefined;

/** The VM of this test run (booted by the global setup), or one booted for this process. */
export function sharedVm(): Promise<KernelVm> {
  const exchange = process.env[VM_EXCHANGE_ENV];
  shared ??= exchange ? Promise.resolve(KernelVm.attach(exchange)) : KernelVm.boot();
  return shared;
}

/** Runs an argument vector as root inside the kernel VM (fresh network namespace by default). */
export async function vmRun(argv: readonly string[], options: VmRunOptions = {}): Promise<VmRunResult> {
  return (await sharedVm()).run(argv, options);
}
