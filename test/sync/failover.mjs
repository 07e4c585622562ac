// A director failover under live connections, inside the kernel VM: two directors (keepalived or
// lvsd, VRRP and checkers) in front of three real servers, the IPVS sync daemons on a link of
// their own. The client holds COUNT connections through the VIP; the master is killed for real
// (SIGKILL, and its links down, since the kernel would go on forwarding); the backup takes the VIP.
// Prints what became of every connection.
// - dr: one LAN for all; each real server holds the VIP and answers the client itself.
// - nat: the client's LAN and the real servers' LAN apart; the real servers' gateway is a second
//   VIP, in a vrrp_sync_group with the first, so that it moves with it.
//
//   node failover.mjs DAEMON SYNC(on|off) METHOD(dr|nat) COUNT OUT.json
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const [daemon, sync, method, count, outFile] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const checkout = join(here, '..', '..');
const work = mkdtempSync('/tmp/failover-');
const tag = String(process.pid);
const VIP = '10.0.0.100';
/** nat: the real servers' gateway. */
const GATEWAY = '10.1.0.254';
const nat = method === 'nat';
const DIRECTORS = [
  { ns: `d1-${tag}`, lan: '10.0.0.11', back: '10.1.0.11', sync: '10.9.0.1', priority: 150 },
  { ns: `d2-${tag}`, lan: '10.0.0.12', back: '10.1.0.12', sync: '10.9.0.2', priority: 100 },
];
const SERVERS = [1, 2, 3].map((n) => ({ ns: `rs${n}-${tag}`, name: `rs${n}`, lan: nat ? `10.1.0.2${n}` : `10.0.0.2${n}` }));
const CLIENT = { ns: `cl-${tag}`, lan: '10.0.0.2' };
const namespaces = [...DIRECTORS, ...SERVERS, CLIENT].map((node) => node.ns);
const processes = new Set();
/** Directors run in process groups of their own. */
const groups = new Set();
const events = [];

const run = (argv) => execFileSync(argv[0], argv.slice(1), { timeout: 20_000, encoding: 'utf8' });
const inNs = (ns, argv) => ['ip', 'netns', 'exec', ns, ...argv];

let veths = 0;

/** A namespace's interface `inner` with `address`/24, joined to `bridge` by a veth pair. */
function attach(bridge, ns, inner, address) {
  const outer = `veth${veths++}`;
  run(['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', ns]);
  run(['ip', 'link', 'set', outer, 'master', bridge, 'up']);
  run(inNs(ns, ['ip', 'addr', 'add', `${address}/24`, 'dev', inner]));
  run(inNs(ns, ['ip', 'link', 'set', inner, 'up']));
}

/** The client's LAN (and with nat the real servers' LAN) as bridges; every node's eth0 is on one. */
function topology() {
  for (const bridge of nat ? ['lan', 'back'] : ['lan']) {
    run(['ip', 'link', 'add', bridge, 'type', 'bridge']);
    run(['ip', 'link', 'set', bridge, 'up']);
  }
  for (const node of [...DIRECTORS, ...SERVERS, CLIENT]) {
    run(['ip', 'netns', 'add', node.ns]);
    run(inNs(node.ns, ['ip', 'link', 'set', 'lo', 'up']));
    attach(nat && SERVERS.includes(node) ? 'back' : 'lan', node.ns, 'eth0', node.lan);
  }
  if (nat) {
    for (const d of DIRECTORS) {
      attach('back', d.ns, 'eth1', d.back);
      run(inNs(d.ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']));
    }
    for (const s of SERVERS) run(inNs(s.ns, ['ip', 'route', 'add', 'default', 'via', GATEWAY]));
  }
  // The sync link, director to director.
  run(['ip', 'link', 'add', 'sync0', 'netns', DIRECTORS[0].ns, 'type', 'veth', 'peer', 'name', 'sync0', 'netns', DIRECTORS[1].ns]);
  for (const d of DIRECTORS) {
    run(inNs(d.ns, ['ip', 'addr', 'add', `${d.sync}/24`, 'dev', 'sync0']));
    run(inNs(d.ns, ['ip', 'link', 'set', 'sync0', 'up']));
  }
  // LVS-DR: each real server holds the VIP, and neither answers nor announces it on the LAN.
  for (const s of nat ? [] : SERVERS) {
    run(inNs(s.ns, ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo']));
    run(inNs(s.ns, ['sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=1', 'net.ipv4.conf.all.arp_announce=2']));
  }
}

function instance(director, name, iface, vrid, address) {
  return `vrrp_instance ${name} {
  state ${director.priority > 100 ? 'MASTER' : 'BACKUP'}
  interface ${iface}
  virtual_router_id ${vrid}
  priority ${director.priority}
  advert_int 1
  virtual_ipaddress {
    ${address}/24
  }
}
`;
}

function config(director) {
  return `global_defs {
  router_id ${director.ns}
${sync === 'on' ? '  lvs_sync_daemon sync0 VI_1\n' : ''}}
${instance(director, 'VI_1', 'eth0', 51, VIP)}${nat ? `${instance(director, 'VI_2', 'eth1', 52, GATEWAY)}vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n}\n` : ''}virtual_server ${VIP} 80 {
  delay_loop 2
  lb_algo rr
  lb_kind ${nat ? 'NAT' : 'DR'}
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
  await waitFor(() => run(inNs(DIRECTORS[1].ns, ['ipvsadm', '-Ln'])).split('\n').filter((l) => /Route|Masq/.test(l)).length === 3, 'the backup programming IPVS', 120_000);
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
  for (const link of nat ? ['eth0', 'eth1', 'sync0'] : ['eth0', 'sync0']) run(inNs(DIRECTORS[0].ns, ['ip', 'link', 'set', link, 'down']));
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
