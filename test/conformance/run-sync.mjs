// Runs one lvs_sync_daemon scenario with one daemon (keepalived or lvsd, VRRP and checkers) inside
// the kernel VM, in its job's network namespace, and records `ipvsadm -Ln --daemon` at each step:
// in FAULT from the start (its vrrp_script fails), once it is MASTER, in FAULT again, MASTER again,
// in BACKUP while a keepalived of higher priority speaks on the link, MASTER once that one stops,
// after a reload that changes `id 5` to `id 6`, and after SIGTERM. Plain JavaScript: it starts
// fast under TCG.
//
//   node run-sync.mjs CONFIG DAEMON OUT.json VIP
//
// @WORK@ in CONFIG stands for this run's work directory; the instance's script fails while
// @WORK@/fail exists. A CONFIG without that script (a Debian sample) is recorded once MASTER
// holds VIP, and after SIGTERM. The instance speaks VRRP on eth0, the sync daemons use eth1.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const [configTemplate, daemon, outFile, VIP] = process.argv.slice(2);
const checkout = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync('/tmp/sync-');
const run = (argv) => execFileSync(argv[0], argv.slice(1), { timeout: 20_000, encoding: 'utf8' });
const snapshots = {};
const events = [];

const peerNs = `peer-${process.pid}`;

/** eth0's other end is in a namespace of its own, where a VRRP peer can speak. */
function topology() {
  for (const [name, address] of [['eth0', '10.8.0.1/24'], ['eth1', '10.9.0.1/24']]) {
    run(['ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
    run(['ip', 'addr', 'add', address, 'dev', name]);
    run(['ip', 'link', 'set', name, 'up']);
    run(['ip', 'link', 'set', `${name}p`, 'up']);
  }
  run(['ip', 'netns', 'add', peerNs]);
  run(['ip', 'link', 'set', 'eth0p', 'netns', peerNs]);
  run(['ip', 'netns', 'exec', peerNs, 'ip', 'addr', 'add', '10.8.0.2/24', 'dev', 'eth0p']);
  run(['ip', 'netns', 'exec', peerNs, 'ip', 'link', 'set', 'eth0p', 'up']);
}

/** keepalived's VRRP alone, for the same router with a higher priority. */
function startPeer() {
  const dir = join(work, 'peer');
  mkdirSync(dir);
  const file = join(dir, 'keepalived.conf');
  writeFileSync(file, `vrrp_instance PEER {\n  interface eth0p\n  virtual_router_id 51\n  priority 200\n  advert_int 1\n  virtual_ipaddress {\n    ${VIP}/32\n  }\n}\n`);
  return spawn('ip', ['netns', 'exec', peerNs, 'keepalived', '-n', '-P', '-f', file, '-p', join(dir, 'k.pid'), '-r', join(dir, 'v.pid')], { stdio: 'ignore' });
}

async function stopped(child) {
  child.kill('SIGTERM');
  const exited = new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  if ((await Promise.race([exited, sleep(30_000, 'timeout', { ref: false })])) === 'timeout') {
    events.push(`${child.spawnargs.join(' ')} did not exit within 30 s of SIGTERM`);
    child.kill('SIGKILL');
  }
}

const vipHeld = () => run(['ip', '-o', 'addr', 'show', 'dev', 'eth0']).includes(` ${VIP}/`);
const daemons = () => run(['ipvsadm', '-L', '-n', '--daemon']);

async function waitFor(condition, what, maxMs = 60_000) {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    if (condition()) return;
    await sleep(200);
  }
  events.push(`${what} did not happen within ${maxMs / 1000} s`);
}

/** The daemons a second after the state changed: the swap follows the transition at once. */
async function snapshotAfter(name, condition, what) {
  await waitFor(condition, what);
  await sleep(1500);
  snapshots[name] = daemons();
}

async function main() {
  topology();
  const configFile = join(work, 'keepalived.conf');
  const template = readFileSync(configTemplate, 'utf8');
  const scripted = template.includes('@WORK@/fail');
  writeFileSync(configFile, template.replaceAll('@WORK@', work));
  const argv =
    daemon === 'keepalived'
      ? ['keepalived', '-n', '-l', '-D', '-f', configFile, '-p', join(work, 'k.pid'), '-c', join(work, 'c.pid'), '-r', join(work, 'v.pid')]
      : [process.execPath, join(checkout, 'bin', 'lvsd'), '-f', configFile, '--socket', join(work, 'lvsd.sock')];
  const log = [];
  if (scripted) writeFileSync(join(work, 'fail'), '');
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk) => log.push(chunk.toString()));
  child.stderr.on('data', (chunk) => log.push(chunk.toString()));
  try {
    if (scripted) {
      await snapshotAfter('fault at start', () => daemons() !== '', 'a sync daemon');
      rmSync(join(work, 'fail'));
    }
    await snapshotAfter('master', vipHeld, 'MASTER');
    if (scripted) {
      writeFileSync(join(work, 'fail'), '');
      await snapshotAfter('fault', () => !vipHeld(), 'FAULT');
      rmSync(join(work, 'fail'));
      await snapshotAfter('master again', vipHeld, 'MASTER again');
      const peer = startPeer();
      await snapshotAfter('backup', () => !vipHeld(), 'BACKUP under a higher priority');
      await stopped(peer);
      await snapshotAfter('master after the peer', vipHeld, 'MASTER after the peer');
      writeFileSync(configFile, template.replaceAll('@WORK@', work).replace(' id 5', ' id 6'));
      child.kill('SIGHUP');
      await sleep(4000);
      snapshots.reloaded = daemons();
    }
  } finally {
    await stopped(child);
  }
  snapshots.stopped = daemons();
  return { snapshots, events, log: log.join('').slice(-20_000) };
}

main()
  .then((result) => writeFileSync(outFile, JSON.stringify(result)))
  .catch((error) => writeFileSync(outFile, JSON.stringify({ error: String(error?.stack ?? error), snapshots, events })))
  .finally(() => {
    try {
      execFileSync('ip', ['netns', 'del', peerNs]);
    } catch {
      // never made
    }
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  });
