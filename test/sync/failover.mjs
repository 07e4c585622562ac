// A director failover under live connections, inside the kernel VM: two directors (keepalived or
// lvsd, VRRP and checkers) in front of three real servers, LVS-DR on one LAN, the IPVS sync
// daemons on a link of their own. The client holds COUNT connections through the VIP; the master
// is killed for real (SIGKILL, and its links down, since the kernel would go on forwarding); the
// backup takes the VIP. Prints what became of every connection.
//
//   node failover.mjs DAEMON SYNC(on|off) COUNT OUT.json
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const [daemon, sync, count, outFile] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const checkout = join(here, '..', '..');
const work = mkdtempSync('/tmp/failover-');
const tag = String(process.pid);
const VIP = '10.0.0.100';
const DIRECTORS = [
  { ns: `d1-${tag}`, lan: '10.0.0.11', sync: '10.9.0.1', priority: 150 },
  { ns: `d2-${tag}`, lan: '10.0.0.12', sync: '10.9.0.2', priority: 100 },
];
const SERVERS = [1, 2, 3].map((n) => ({ ns: `rs${n}-${tag}`, name: `rs${n}`, lan: `10.0.0.2${n}` }));
const CLIENT = { ns: `cl-${tag}`, lan: '10.0.0.2' };
const namespaces = [...DIRECTORS, ...SERVERS, CLIENT].map((node) => node.ns);
const processes = new Set();
/** Directors run in process groups of their own. */
const groups = new Set();
const events = [];

const run = (argv) => execFileSync(argv[0], argv.slice(1), { timeout: 20_000, encoding: 'utf8' });
const inNs = (ns, argv) => ['ip', 'netns', 'exec', ns, ...argv];

/** One bridge for the LAN; each namespace joins it by a veth pair whose inner end is eth0. */
function topology() {
  run(['ip', 'link', 'add', 'lan', 'type', 'bridge']);
  run(['ip', 'link', 'set', 'lan', 'up']);
  for (const [i, node] of [...DIRECTORS, ...SERVERS, CLIENT].entries()) {
    run(['ip', 'netns', 'add', node.ns]);
    run(['ip', 'link', 'add', `lan${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.ns]);
    run(['ip', 'link', 'set', `lan${i}`, 'master', 'lan', 'up']);
    run(inNs(node.ns, ['ip', 'addr', 'add', `${node.lan}/24`, 'dev', 'eth0']));
    run(inNs(node.ns, ['ip', 'link', 'set', 'eth0', 'up']));
    run(inNs(node.ns, ['ip', 'link', 'set', 'lo', 'up']));
  }
  // The sync link, director to director.
  run(['ip', 'link', 'add', 'sync0', 'netns', DIRECTORS[0].ns, 'type', 'veth', 'peer', 'name', 'sync0', 'netns', DIRECTORS[1].ns]);
  for (const d of DIRECTORS) {
    run(inNs(d.ns, ['ip', 'addr', 'add', `${d.sync}/24`, 'dev', 'sync0']));
    run(inNs(d.ns, ['ip', 'link', 'set', 'sync0', 'up']));
  }
  // LVS-DR: each real server holds the VIP, and neither answers nor announces it on the LAN.
  for (const s of SERVERS) {
    run(inNs(s.ns, ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo']));
    run(inNs(s.ns, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']));
  }
}

function config(director) {
  return `global_defs {
  router_id ${director.ns}
${sync === 'on' ? '  lvs_sync_daemon sync0 VI_1\n' : ''}}
vrrp_instance VI_1 {
  state ${director.priority > 100 ? 'MASTER' : 'BACKUP'}
  interface eth0
  virtual_router_id 51
  priority ${director.priority}
  advert_int 1
  virtual_ipaddress {
    ${VIP}/24
  }
}
virtual_server ${VIP} 80 {
  delay_loop 2
  lb_algo rr
  lb_kind DR
  protocol TCP
${SERVERS.map((s) => `  real_server ${s.lan} 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n`).join('')}}
`;
}

function startDirector(director) {
  const dir = join(work, director.ns);
  run(['mkdir', '-p', dir]);
  const file = join(dir, 'keepalived.conf');
  writeFileSync(file, config(director));
  const argv =
    daemon === 'keepalived'
      ? ['keepalived', '-n', '-l', '-D', '-f', file, '-p', join(dir, 'k.pid'), '-c', join(dir, 'c.pid'), '-r', join(dir, 'v.pid')]
      : [process.execPath, join(checkout, 'bin', 'lvsd'), '-f', file, '--socket', join(dir, 'lvsd.sock')];
  // Its own process group: a SIGKILL reaches keepalived's VRRP and checker children too.
  const child = spawn('ip', inNs(director.ns, argv).slice(1), { stdio: 'ignore', detached: true });
  groups.add(child.pid);
  return child;
}

function startProcess(ns, argv) {
  const child = spawn('ip', inNs(ns, argv).slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  processes.add(child);
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}`)));
  });
  return { child, next, send: (line) => child.stdin.write(`${line}\n`) };
}

const vipOn = (ns) => run(inNs(ns, ['ip', '-o', 'addr', 'show', 'dev', 'eth0'])).includes(` ${VIP}/`);

async function waitFor(condition, what, maxMs) {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    if (condition()) return Date.now();
    await sleep(100);
  }
  throw new Error(`${what} did not happen within ${maxMs / 1000} s`);
}

async function main() {
  topology();
  for (const s of SERVERS) {
    const server = startProcess(s.ns, [process.execPath, join(here, 'echo-server.mjs'), s.name, '0.0.0.0', '80']);
    await server.next();
  }
  const [master, backup] = DIRECTORS.map(startDirector);
  await waitFor(() => vipOn(DIRECTORS[0].ns), 'the first director becoming MASTER', 120_000);
  // Both directors' tables are full and their sync daemons running before any connection opens.
  await waitFor(() => run(inNs(DIRECTORS[1].ns, ['ipvsadm', '-Ln'])).split('\n').filter((l) => l.includes('Route')).length === 3, 'the backup programming IPVS', 120_000);
  await sleep(3000);

  const client = startProcess(CLIENT.ns, [process.execPath, join(here, 'client.mjs'), VIP, '80', count, '180']);
  let established = 0;
  const openBy = Date.now() + 60_000;
  while (established < Number(count) && Date.now() < openBy) {
    await sleep(1000);
    client.send('established');
    established = Number(await client.next());
  }
  // Long enough for every connection to pass the sync threshold (3 packets) and be sent.
  await sleep(5000);
  const connectionsOn = (d) => run(inNs(d.ns, ['ipvsadm', '-Lnc'])).split('\n').filter((l) => l.includes(`${VIP}:80`)).length;
  const syncedOnBackup = connectionsOn(DIRECTORS[1]);
  events.push(`before the failover: master ${connectionsOn(DIRECTORS[0])} connections, backup ${syncedOnBackup}`);
  for (const d of DIRECTORS) events.push(`${d.ns}: ${run(inNs(d.ns, ['ipvsadm', '-Ln', '--daemon'])).trim()}`);

  const killedAt = Date.now();
  process.kill(-master.pid, 'SIGKILL');
  for (const link of ['eth0', 'sync0']) run(inNs(DIRECTORS[0].ns, ['ip', 'link', 'set', link, 'down']));
  const takenAt = await waitFor(() => vipOn(DIRECTORS[1].ns), 'the backup taking the VIP', 60_000);
  await sleep(15_000);
  client.send('end');
  const connections = JSON.parse(await client.next());
  backup.kill('SIGTERM');
  return { established, syncedOnBackup, failoverMs: takenAt - killedAt, connections, events };
}

main()
  .then((result) => writeFileSync(outFile, JSON.stringify(result)))
  .catch((error) => writeFileSync(outFile, JSON.stringify({ error: String(error?.stack ?? error), events })))
  .finally(async () => {
    const kill = (pid) => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    for (const child of processes) kill(child.pid);
    for (const group of groups) kill(-group);
    await sleep(500);
    for (const ns of namespaces) {
      try {
        run(['ip', 'netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
  });
