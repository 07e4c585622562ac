import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sharedVm } from '../kernel/vm.ts';

// lvs_sync_daemon as keepalived 2.2.7 runs it: the same `ipvsadm -Ln --daemon` while the instance is
// in FAULT from its start, once it is MASTER, in FAULT, MASTER again, BACKUP under a keepalived of
// higher priority, MASTER once it stops, after a reload that changes the sync id, and after SIGTERM, keepalived and lvsd each in a network
// namespace of one kernel VM at the same time (run-sync.mjs).

const RUN_SYNC = fileURLToPath(new URL('./run-sync.mjs', import.meta.url));

const config = (globals: string, instanceExtra = '') => `global_defs {
  router_id sync_test
${globals}}
vrrp_script chk {
  script "/usr/bin/test ! -e @WORK@/fail"
  interval 1
  fall 1
  rise 1
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
${instanceExtra}  track_script {
    chk
  }
  virtual_ipaddress {
    192.0.2.10/32
  }
}
virtual_server 192.0.2.10 80 {
  delay_loop 5
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.8.0.2 80 {
    weight 1
  }
}
`;

const DEBIAN_SAMPLE = '/usr/share/doc/keepalived/samples/keepalived.conf.vrrp.lvs_syncd';

const SCENARIOS = [
  { name: 'global_defs lvs_sync_daemon following an instance, with its own sync id', text: config('  lvs_sync_daemon eth1 VI_1 id 5\n'), vip: '192.0.2.10' },
  { name: 'global_defs lvs_sync_daemon without an instance: master and backup for the whole run', text: config('  lvs_sync_daemon eth1 maxlen 1200 port 8850\n'), vip: '192.0.2.10' },
  { name: 'lvs_sync_daemon_interface in the instance', text: config('', '  lvs_sync_daemon_interface eth1\n'), vip: '192.0.2.10' },
  ...(existsSync(DEBIAN_SAMPLE) ? [{ name: "Debian's keepalived.conf.vrrp.lvs_syncd", text: readFileSync(DEBIAN_SAMPLE, 'utf8'), vip: '192.168.200.16' }] : []),
];

interface SyncOutcome {
  snapshots: Record<string, string>;
  events: string[];
  log?: string;
  error?: string;
}

async function runWith(daemon: 'keepalived' | 'lvsd', text: string, vip: string): Promise<SyncOutcome> {
  const vm = await sharedVm();
  const dir = vm.scratchDir();
  const configFile = join(dir, 'keepalived.conf');
  const outFile = join(dir, `${daemon}.json`);
  writeFileSync(configFile, text);
  const job = await vm.run(['node', RUN_SYNC, configFile, daemon, outFile, vip], { timeoutMs: 240_000 });
  try {
    return JSON.parse(readFileSync(outFile, 'utf8')) as SyncOutcome;
  } catch {
    throw new Error(`${daemon} left no result: ${job.stderr}${job.stdout}`);
  }
}

describe.concurrent('IPVS sync daemons follow VRRP as keepalived runs them', () => {
  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      const [keepalived, lvsd] = await Promise.all([runWith('keepalived', scenario.text, scenario.vip), runWith('lvsd', scenario.text, scenario.vip)]);
      for (const [name, outcome] of [['keepalived', keepalived], ['lvsd', lvsd]] as const) {
        if (outcome.error !== undefined || outcome.events.length > 0) {
          throw new Error(`${name}: ${outcome.error ?? outcome.events.join('; ')}\n${outcome.log ?? ''}`);
        }
      }
      expect(lvsd.snapshots).toEqual(keepalived.snapshots);
      // The scenario means something only where daemons ran.
      expect(keepalived.snapshots.master).toMatch(/sync daemon/);
    }, 300_000);
  }
});
