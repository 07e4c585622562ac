// Runs one conformance case with one daemon (keepalived or lvsd) inside the kernel VM,
// in the network namespace of its job (the director). Plain JavaScript: it starts fast under TCG.
//
//   node run-case.mjs CASE.json DAEMON OUT.json
//
// CASE.json: { config, servers: [{ name, address, port }], steps: [...] } (see cases.ts).
// Real servers are busybox httpd listeners in a second namespace, linked by a veth pair,
// so that every check crosses a real link and no real server is a local address.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const [caseFile, daemon, outFile] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(caseFile, 'utf8'));
const checkout = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync('/tmp/conformance-');
const serverNs = `srv-${process.pid}`;
const run = (argv, options = {}) => execFileSync(argv[0], argv.slice(1), { timeout: 20_000, encoding: 'utf8', ...options });
const inServers = (argv) => ['ip', 'netns', 'exec', serverNs, ...argv];
const servers = new Map();
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
  for (const server of spec.servers) {
    const v6 = server.address.includes(':');
    run(inServers(['ip', ...(v6 ? ['-6'] : []), 'addr', 'add', `${server.address}/${v6 ? 64 : 16}`, 'dev', 'eth0', ...(v6 ? ['nodad'] : [])]));
  }
  for (const extra of spec.directorAddresses ?? []) run(['ip', 'addr', 'add', extra, 'dev', 'lo']);
}

function startServer(server) {
  const root = join(work, `www-${server.name}`);
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'index.html'), `hello from ${server.name}\n`);
  writeFileSync(join(root, 'health'), 'ok\n');
  const listen = server.address.includes(':') ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`;
  const child = spawn('ip', inServers(['/bin/busybox', 'httpd', '-f', '-p', listen, '-h', root]).slice(1), { stdio: 'ignore' });
  servers.set(server.name, child);
}

async function stopServer(name) {
  const child = servers.get(name);
  if (!child) throw new Error(`no server ${name}`);
  child.kill('SIGKILL');
  await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  servers.delete(name);
}

function snapshot() {
  return run(['ipvsadm', '-S', '-n']);
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
  const deadline = sleep(30_000).then(() => 'timeout');
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
    await sleep(250);
  }
  return false;
}

/** Waits until the table stops changing for `quietMs`, at most `maxMs`. */
async function settle(quietMs, maxMs) {
  const end = Date.now() + maxMs;
  let last = snapshot();
  let since = Date.now();
  while (Date.now() < end) {
    // Each ipvsadm costs real CPU in the emulated VM, shared with both daemons under test.
    await sleep(400);
    const now = snapshot();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) break;
  }
  return last;
}

async function main() {
  topology();
  for (const command of spec.before ?? []) run(command);
  for (const server of spec.servers) if (!server.startStopped) startServer(server);
  const before = snapshot();
  const running = startDaemon();
  // The scenario's clock starts once the daemon has programmed its first entries, so that a
  // slow start (node under emulation) does not shift every later step.
  const started = await waitFor(() => snapshot() !== before, 90_000);
  if (!started) events.push('the daemon programmed nothing within 90 s');
  for (const step of spec.steps) {
    if ('wait' in step) await sleep(step.wait);
    else if ('snapshot' in step) snapshots[step.snapshot] = await settle(step.quietMs ?? 1500, step.maxMs ?? 15_000);
    else if ('stop' in step) await stopServer(step.stop);
    else if ('start' in step) startServer(spec.servers.find((s) => s.name === step.start));
    else if ('reload' in step) {
      writeFileSync(configFile, step.reload);
      running.child.kill('SIGHUP');
    } else if ('run' in step) run(step.run);
    else throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
  const exitCode = await stopDaemon(running);
  snapshots.stopped = snapshot();
  for (const name of [...servers.keys()]) await stopServer(name);
  return { snapshots, exitCode, events, log: running.log.join('').slice(-20_000) };
}

main()
  .then((result) => writeFileSync(outFile, JSON.stringify(result)))
  .catch((error) => writeFileSync(outFile, JSON.stringify({ error: String(error?.stack ?? error), snapshots, events })))
  .finally(() => {
    for (const child of servers.values()) child.kill('SIGKILL');
    try {
      execFileSync('ip', ['netns', 'del', serverNs]);
    } catch {
      // already gone
    }
  });
