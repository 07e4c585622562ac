// Runs one conformance case with one daemon (keepalived or lvsd) inside the kernel VM,
// in the network namespace of its job (the director). Plain JavaScript: it starts fast under TCG.
//
//   node run-case.mjs CASE.json DAEMON OUT.json
//
// CASE.json: { config, servers: [{ name, address, port, kind }], steps: [...] } (see cases.ts);
// @WORK@ anywhere in it stands for this run's work directory.
// Real servers live in a second namespace, linked by a veth pair, so that every check crosses a
// real link and no real server is a local address: busybox httpd, or servers.mjs for other kinds.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const [caseFile, daemon, outFile] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const checkout = join(here, '..', '..');
// keepalived and lvsd run the same case at the same time: files a case names live in the work dir.
const work = mkdtempSync('/tmp/conformance-');
const spec = JSON.parse(readFileSync(caseFile, 'utf8').replaceAll('@WORK@', work));
const serverNs = `srv-${process.pid}`;
const run = (argv, options = {}) => execFileSync(argv[0], argv.slice(1), { timeout: 20_000, encoding: 'utf8', ...options });
const inServers = (argv) => ['ip', 'netns', 'exec', serverNs, ...argv];
const servers = new Map();
/** Every process this run starts in the server namespace, killed whatever way the run ends. */
const serverProcesses = new Set();
const snapshots = {};
const events = [];

function topology() {
  run(['ip', 'netns', 'add', serverNs]);
  run(['ip', 'link', 'add', 'to-srv', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', serverNs]);
  run(['ip', 'addr', 'add', '10.1.255.254/16', 'dev', 'to-srv']);
  run(['ip', '-6', 'addr', 'add', 'fd00:1::fffe/64', 'dev', 'to-srv', 'nodad']);
  run(['ip', 'link', 'set', 'to-srv', 'up']);
  run(inServers(['ip', 'link', 'set', 'lo', 'up']));
  run(inServers(['ip', 'link', 'set', 'eth0', 'up']));
  // UDP and DNS checks of a closed port fail only on the ICMP port unreachable; the default limit
  // of one per second per peer would drop some once several checks meet closed ports.
  run(inServers(['sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0']));
  // Several servers of a case may listen on one address, on different ports.
  for (const address of new Set(spec.servers.map((server) => server.address))) {
    const v6 = address.includes(':');
    run(inServers(['ip', ...(v6 ? ['-6'] : []), 'addr', 'add', `${address}/${v6 ? 64 : 16}`, 'dev', 'eth0', ...(v6 ? ['nodad'] : [])]));
  }
  for (const extra of spec.directorAddresses ?? []) run(['ip', 'addr', 'add', extra, 'dev', 'lo']);
}

/** Commands to the servers.mjs process of this run, started when a case first needs it. */
let nodeServers;

function startNodeServers() {
  const argv = inServers([process.execPath, join(here, 'servers.mjs'), work]);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  serverProcesses.add(child);
  const waiting = new Map();
  let stderr = '';
  let exit;
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [, name, reason] = /^\w+ ([^:\s]+):? ?(.*)$/.exec(line) ?? [];
    const pending = waiting.get(name);
    waiting.delete(name);
    if (line.startsWith('failed ')) pending?.reject(new Error(`server ${name}: ${reason}`));
    else pending?.resolve();
  });
  const exited = (name) => new Error(`servers.mjs exited (${exit}) before answering for ${name}: ${stderr}`);
  child.once('exit', (code, signal) => {
    exit = code ?? signal;
    for (const [name, pending] of waiting) pending.reject(exited(name));
  });
  /** Sends one command and resolves once servers.mjs has carried it out. */
  return (name, words) =>
    new Promise((resolve, reject) => {
      if (exit !== undefined) return reject(exited(name));
      waiting.set(name, { resolve, reject });
      child.stdin.write(`${words.join(' ')}\n`);
    });
}

async function startServer(server) {
  if ((server.kind ?? 'http') !== 'http') {
    nodeServers ??= startNodeServers();
    await nodeServers(server.name, ['start', server.name, server.kind, server.address, String(server.port)]);
    servers.set(server.name, { stop: () => nodeServers(server.name, ['stop', server.name]) });
    return;
  }
  const root = join(work, `www-${server.name}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'index.html'), `hello from ${server.name}\n`);
  writeFileSync(join(root, 'health'), 'ok\n');
  const listen = server.address.includes(':') ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`;
  const child = spawn('ip', inServers(['/bin/busybox', 'httpd', '-f', '-p', listen, '-h', root]).slice(1), { stdio: 'ignore' });
  serverProcesses.add(child);
  servers.set(server.name, {
    stop: () => {
      child.kill('SIGKILL');
      serverProcesses.delete(child);
      return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    },
  });
}

async function stopServer(name) {
  const server = servers.get(name);
  if (!server) throw new Error(`no server ${name}`);
  await server.stop();
  servers.delete(name);
}

function snapshot() {
  return run(['ipvsadm', '-S', '-n']);
}

/**
 * The table as /proc/net/ip_vs shows it, without the connection counters: what the runner polls
 * to see the daemon start and the table settle. An ipvsadm costs about half a second of emulated
 * CPU, taken from both daemons under test; a read of /proc costs next to nothing.
 */
function table() {
  return readFileSync('/proc/net/ip_vs', 'utf8')
    .split('\n')
    .map((line) => (line.startsWith('  ->') ? line.trim().split(/\s+/).slice(0, 4).join(' ') : line))
    .join('\n');
}

const configFile = join(work, 'keepalived.conf');
writeFileSync(configFile, spec.config);

function startDaemon() {
  const argv =
    daemon === 'keepalived'
      ? ['keepalived', '-n', '-l', '-D', '-C', '-f', configFile, '-p', join(work, 'k.pid'), '-c', join(work, 'c.pid'), '-r', join(work, 'v.pid')]
      : [process.execPath, join(checkout, 'bin', 'lvsd'), '-C', '-f', configFile, '--socket', join(work, 'lvsd.sock')];
  const log = [];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk) => log.push(chunk.toString()));
  child.stderr.on('data', (chunk) => log.push(chunk.toString()));
  return { child, log };
}

async function stopDaemon({ child }) {
  child.kill('SIGTERM');
  const exited = new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  // Unreferenced: a pending deadline must not keep this process (and the case) alive once all is done.
  const deadline = sleep(30_000, 'timeout', { ref: false });
  if ((await Promise.race([exited, deadline])) === 'timeout') {
    events.push('daemon did not exit within 30 s of SIGTERM');
    child.kill('SIGKILL');
  }
  return child.exitCode;
}

async function waitFor(condition, maxMs) {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    if (condition()) return true;
    await sleep(100);
  }
  return false;
}

/** Waits until the table stops changing for `quietMs`, at most `maxMs`. */
async function settle(quietMs, maxMs) {
  const end = Date.now() + maxMs;
  let last = table();
  let since = Date.now();
  while (Date.now() < end) {
    await sleep(200);
    const now = table();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) break;
  }
  return snapshot();
}

async function main() {
  topology();
  for (const command of spec.before ?? []) run(command);
  await Promise.all(spec.servers.filter((server) => !server.startStopped).map(startServer));
  const before = table();
  const execAt = Date.now();
  const running = startDaemon();
  // The scenario's clock starts once the daemon has programmed its first entries, so that a
  // slow start (node under emulation) does not shift every later step.
  // keepalived leaves a service it finds in the kernel as it is: its log says when it has started.
  const started = await waitFor(() => table() !== before || running.log.some((chunk) => chunk.includes('Startup complete')), 90_000);
  if (!started) events.push('the daemon programmed nothing within 90 s');
  const programmedMs = Date.now() - execAt;
  for (const step of spec.steps) {
    if ('wait' in step) await sleep(step.wait);
    else if ('snapshot' in step) snapshots[step.snapshot] = await settle(step.quietMs ?? 1500, step.maxMs ?? 15_000);
    else if ('stop' in step) await stopServer(step.stop);
    else if ('start' in step) await startServer(spec.servers.find((s) => s.name === step.start));
    else if ('reload' in step) {
      writeFileSync(configFile, step.reload);
      running.child.kill('SIGHUP');
    } else if ('run' in step) run(step.run);
    else throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
  const exitCode = await stopDaemon(running);
  snapshots.stopped = snapshot();
  for (const name of [...servers.keys()]) await stopServer(name);
  return { snapshots, exitCode, events, programmedMs, log: running.log.join('').slice(-20_000) };
}

main()
  .then((result) => writeFileSync(outFile, JSON.stringify(result)))
  .catch((error) => writeFileSync(outFile, JSON.stringify({ error: String(error?.stack ?? error), snapshots, events })))
  .finally(() => {
    for (const child of serverProcesses) child.kill('SIGKILL');
    try {
      execFileSync('ip', ['netns', 'del', serverNs]);
    } catch {
      // already gone
    }
  });
