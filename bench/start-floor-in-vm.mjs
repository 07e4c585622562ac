// Run by start-floor.bench.ts in the kernel VM: exec -> full table for the minimal Node.js IPVS
// programmer (start-floor-entry.ts, bundled), keepalived and lvsd, and `node -e 0` to its exit, taken
// in turn round after round so that all four see the same load.
//   node start-floor-in-vm.mjs FLOOR_BUNDLE LVSD ROUNDS
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
const dir = mkdtempSync('/tmp/floor-');
function config(services, destsPer) {
  const blocks = [];
  for (let s = 0; s < services; s++) {
    let reals = '';
    for (let d = 0; d < destsPer; d++) reals += `  real_server 10.201.${d}.${s & 255} 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n`;
    blocks.push(`virtual_server 10.200.${s >> 8}.${s & 255} 80 {\n  delay_loop 3600\n  lb_algo wlc\n  lb_kind NAT\n  protocol TCP\n${reals}}\n`);
  }
  return blocks.join('');
}
const entries = () => readFileSync('/proc/net/ip_vs', 'utf8').split('\n').filter((l) => l.includes('->') && !l.includes('RemoteAddress')).length;
/** Milliseconds from exec until IPVS holds `wantDests` destinations (0: until the process exits). */
async function until(argv, wantDests) {
  execFileSync('ipvsadm', ['-C']);
  const t0 = performance.now();
  const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
  if (wantDests === 0) { await new Promise((r) => child.once('exit', r)); return performance.now() - t0; }
  while (entries() < wantDests) { if (performance.now() - t0 > 120000) throw new Error(`${argv} timed out`); await sleep(2); }
  const ms = performance.now() - t0;
  child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r));
  return ms;
}
const [floorBundle, lvsd, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg);
const out = {};
for (const [services, destsPer] of [[1, 1], [200, 10]]) {
  const conf = `${dir}/k-${services}.conf`;
  writeFileSync(conf, config(services, destsPer));
  const n = services * destsPer;
  const kinds = {
    'node -e 0': [['node', '-e', '0'], 0],
    'minimal Node.js programmer': [['node', floorBundle, String(services), String(destsPer)], n],
    keepalived: [['keepalived', '-n', '-l', '-C', '-f', conf, '-p', `${dir}/k.pid`, '-c', `${dir}/c.pid`], n],
    lvsd: [['node', lvsd, '-f', conf, '--socket', `${dir}/l.sock`], n],
  };
  for (let round = 0; round < rounds; round++) for (const [name, [argv, want]] of Object.entries(kinds)) {
    if (services > 1 && name === 'node -e 0') continue;
    (out[`${services}x${destsPer} ${name}`] ??= []).push(Math.round(await until(argv, want)));
  }
}
execFileSync('ipvsadm', ['-C']);
process.stdout.write(JSON.stringify(out));
