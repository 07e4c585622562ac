// Runs Debian's keepalived 2.2.7 health checker (-C) on this host, whose
// kernel has no IPVS. keepalived refuses to start without IPVS ("IPVS: Can't
// initialize ipvs"), so a tiny LD_PRELOAD shim answers its libnl IPVS calls
// with success and sends nothing: the checkers, their timers and their
// up/down decisions are keepalived's own; only the kernel programming is a
// no-op. This is a stand-in where the real kernel cannot run, used for
// comparisons with lvsd; the kernel VM remains the reference for IPVS itself.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SHIM_SOURCE = `
typedef int (*callback)(void *msg, void *arg);
enum { CB_FINISH = 1, CB_ACK = 4, CB_TYPES = 11 };
static callback callbacks[CB_TYPES];
static void *callback_args[CB_TYPES];
int genl_ctrl_resolve(void *sock, const char *name) { (void)sock; (void)name; return 0x7ff0; }
int nl_send_auto(void *sock, void *msg) { (void)sock; (void)msg; return 0; }
int nl_socket_modify_cb(void *sock, int type, int kind, callback func, void *arg) {
  (void)sock; (void)kind;
  if (type >= 0 && type < CB_TYPES) { callbacks[type] = func; callback_args[type] = arg; }
  return 0;
}
int nl_recvmsgs_default(void *sock) {
  (void)sock;
  if (callbacks[CB_ACK]) callbacks[CB_ACK](0, callback_args[CB_ACK]);
  if (callbacks[CB_FINISH]) callbacks[CB_FINISH](0, callback_args[CB_FINISH]);
  return 0;
}
`;

/** Compiles the no-IPVS shim into `dir` with gcc and returns the shared object's path. */
export async function buildNoIpvsShim(dir: string): Promise<string> {
  const source = join(dir, 'no-ipvs.c');
  const object = join(dir, 'no-ipvs.so');
  await writeFile(source, SHIM_SOURCE);
  await promisify(execFile)('gcc', ['-shared', '-fPIC', '-O2', '-o', object, source], { timeout: 60_000 });
  return object;
}

export interface KeepalivedChecker {
  readonly process: ChildProcess;
  /** Log lines without the timestamp prefix, as they arrive. */
  readonly lines: string[];
  /** Pid of the healthcheck child process (the one that runs the checks). */
  checkerPid(timeoutMs?: number): Promise<number>;
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

let instances = 0;

/** Starts `keepalived -C` on `configFile`; its pid files go to `dir`, named per instance. */
export async function startKeepalivedChecker(configFile: string, dir: string, shim: string): Promise<KeepalivedChecker> {
  const instance = ++instances;
  const pidFile = join(dir, `keepalived-${instance}.pid`);
  const checkersPidFile = join(dir, `checkers-${instance}.pid`);
  // keepalived refuses to start when any of its pid files names a live process,
  // so none of them may be a default shared with other keepalived runs on the host.
  const otherPidFiles = ['-r', join(dir, `vrrp-${instance}.pid`), '-b', join(dir, `bfd-${instance}.pid`)];
  const child = spawn(
    'keepalived',
    ['-C', '-n', '-l', '-G', '-f', configFile, '-p', pidFile, '-c', checkersPidFile, ...otherPidFiles],
    { env: { ...process.env, LD_PRELOAD: shim }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let pending = '';
  const onData = (data: Buffer): void => {
    pending += data.toString('utf8');
    let i: number;
    while ((i = pending.indexOf('\n')) >= 0) {
      lines.push(pending.slice(0, i).replace(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: /, ''));
      pending = pending.slice(i + 1);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const poll = async <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (child.exitCode !== null) throw new Error(`keepalived exited (${child.exitCode}) before ${what}:\n${lines.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for keepalived ${what}:\n${lines.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  return {
    process: child,
    lines,
    checkerPid: (timeoutMs = 10_000) =>
      poll('checker pid', timeoutMs, async () => {
        const text = await readFile(checkersPidFile, 'utf8').catch(() => '');
        const pid = Number.parseInt(text, 10);
        return Number.isInteger(pid) && pid > 0 ? pid : undefined;
      }),
    waitForLine: (pattern, timeoutMs) => poll(`a line matching ${pattern}`, timeoutMs, async () => lines.find((l) => pattern.test(l))),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
