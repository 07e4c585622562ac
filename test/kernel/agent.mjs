// Runs inside the kernel VM (plain JavaScript: no TypeScript loader to start under TCG).
// It executes jobs that the host drops into <exchange>/jobs/<id>/job.json and answers
// with result.json beside them; see vm.ts for the host side of the protocol.
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const exchange = process.argv[2];
const jobsDir = join(exchange, 'jobs');
/**
 * Each look at the exchange directory is several 9p requests, and each request wakes QEMU's threads:
 * polling every 20 ms took 0.6 of a host CPU from an idle VM (0.15 at 200 ms). The agent looks
 * often only while jobs come and go, when the host is likely to hand it the next one.
 */
const BUSY_POLL_MS = 20;
const IDLE_POLL_MS = 250;
const BUSY_FOR_MS = 2_000;
let busyUntil = 0;
const stayBusy = () => (busyUntil = Date.now() + BUSY_FOR_MS);
// The host writes how many jobs may run at once while it is short of CPU (see job-slots.ts);
// an empty or absent file means no limit.
const SLOTS_FILE = join(exchange, 'job-slots');
const SLOTS_READ_EVERY_MS = 1_000;

// Loaded up front so that every job, in whatever namespace, finds them present.
const MODULES = [
  'ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_lc', 'ip_vs_wlc', 'ip_vs_lblc', 'ip_vs_lblcr', 'ip_vs_dh',
  'ip_vs_sh', 'ip_vs_sed', 'ip_vs_nq', 'ip_vs_fo', 'ip_vs_ovf', 'ip_vs_mh', 'ip_vs_twos', 'ip_vs_pe_sip',
  'veth', 'bridge', 'dummy', 'macvlan', 'ipip', 'ip6_tunnel', 'tun', 'nf_conntrack', 'af_packet',
];

function writeAtomically(path, content) {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

function setUp() {
  const loaded = [];
  const missing = [];
  for (const module of MODULES) {
    try {
      execFileSync('modprobe', [module], { stdio: 'ignore', timeout: 10_000 });
      loaded.push(module);
    } catch {
      missing.push(module);
    }
  }
  execFileSync('ip', ['link', 'set', 'lo', 'up'], { timeout: 5_000 });
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  writeAtomically(join(exchange, 'ready.json'), JSON.stringify({ kernel, loaded, missing }));
}

const seen = new Set();
/** Jobs found but not yet started, oldest first: { id, job }. */
const queued = [];
let running = 0;
/** A job that asked for the VM to itself (job.exclusive) is running: nothing starts beside it. */
let exclusiveRunning = false;
let slots = Infinity;
let slotsReadAt = 0;

function currentSlots() {
  if (Date.now() - slotsReadAt >= SLOTS_READ_EVERY_MS) {
    slotsReadAt = Date.now();
    let text = '';
    try {
      text = readFileSync(SLOTS_FILE, 'utf8').trim();
    } catch {
      // no limit published
    }
    const limit = Number(text);
    slots = text !== '' && Number.isInteger(limit) && limit > 0 ? limit : Infinity;
  }
  return slots;
}

function runJob(id, job) {
  const dir = join(jobsDir, id);
  writeFileSync(join(dir, 'started'), '');
  const out = openSync(join(dir, 'stdout'), 'w');
  const err = openSync(join(dir, 'stderr'), 'w');
  // A fresh network namespace per job isolates its IPVS table and lets jobs run side by side.
  const argv = job.netns
    ? ['unshare', '--net', '--', '/bin/sh', '-c', 'ip link set lo up && exec "$@"', 'lvsd-job', ...job.argv]
    : job.argv;
  const began = Date.now();
  let timedOut = false;
  let finished = false;
  const finish = (code, signal, spawnError) => {
    if (finished) return;
    finished = true;
    running -= 1;
    if (job.exclusive) exclusiveRunning = false;
    clearTimeout(timer);
    closeSync(out);
    closeSync(err);
    const result = { code, signal, timedOut, spawnError, durationMs: Date.now() - began };
    writeAtomically(join(dir, 'result.json'), JSON.stringify(result));
    stayBusy();
  };
  const child = spawn(argv[0], argv.slice(1), {
    cwd: job.cwd ?? '/',
    env: { ...process.env, ...job.env },
    stdio: ['ignore', out, err],
    detached: true,
  });
  running += 1;
  if (job.exclusive) exclusiveRunning = true;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, job.timeoutMs);
  child.on('error', (error) => finish(null, null, String(error)));
  child.on('exit', (code, signal) => finish(code, signal, undefined));
}

function poll() {
  for (const id of readdirSync(jobsDir)) {
    if (id === 'shutdown') process.exit(0);
    if (seen.has(id) || !existsSync(join(jobsDir, id, 'job.json'))) continue;
    seen.add(id);
    stayBusy();
    try {
      queued.push({ id, job: JSON.parse(readFileSync(join(jobsDir, id, 'job.json'), 'utf8')) });
    } catch (error) {
      writeAtomically(join(jobsDir, id, 'result.json'), JSON.stringify({ code: null, spawnError: String(error) }));
    }
  }
  // In order: an exclusive job at the head waits for the running ones to end, and holds back the
  // jobs behind it, so that a heavy job neither starves nor is starved by timing-sensitive ones.
  while (queued.length > 0 && !exclusiveRunning && (queued[0].job.exclusive ? running === 0 : running < currentSlots())) {
    const { id, job } = queued.shift();
    try {
      runJob(id, job);
    } catch (error) {
      writeAtomically(join(jobsDir, id, 'result.json'), JSON.stringify({ code: null, spawnError: String(error) }));
    }
  }
  setTimeout(poll, Date.now() < busyUntil ? BUSY_POLL_MS : IDLE_POLL_MS);
}

setUp();
poll();
