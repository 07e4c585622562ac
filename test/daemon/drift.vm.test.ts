import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedVm } from '../kernel/vm.ts';
import { sections } from './vm-sections.ts';

const LVSD = fileURLToPath(new URL('../../bin/lvsd', import.meta.url));
const LVSCTL = fileURLToPath(new URL('../../bin/lvsctl', import.meta.url));
const DELAY_LOOP_S = 2;

const CONFIG = `
virtual_server 10.0.0.1 80 {
  delay_loop ${DELAY_LOOP_S}
  protocol TCP
  lb_kind NAT
  lb_algo rr
  real_server 10.1.0.1 80 { weight 2 }
  real_server 10.1.0.2 80 { }
}
virtual_server 10.0.0.2 443 {
  delay_loop ${DELAY_LOOP_S}
  protocol TCP
  lb_kind NAT
  lb_algo wlc
  real_server 10.1.0.3 443 { }
}
`;

// What another tool does to a running director: ipvsadm -d, -e and -D on its services, and -e on a
// service it does not own. Then lvsd is given up to 20 s (polled) to put its own entries back;
// keepalived, run the same way, is looked at after three delay_loops.
const SCRIPT = `
set -u
dir=$1 daemon=$2
sock=/run/lvsd-drift-$$.sock
snap() { ipvsadm -S -n | sort; }
section() { echo "=== $1"; }
ipvsadm -A -u 10.9.9.9:53 -s rr
ipvsadm -a -u 10.9.9.9:53 -r 10.1.0.9:53 -m -w 1
if [ "$daemon" = lvsd ]; then
  ${LVSD} -f "$dir/drift.conf" --socket "$sock" --metrics 127.0.0.1:9651 > "$dir/lvsd.log" 2>&1 &
else
  keepalived -n -l -D -C -f "$dir/drift.conf" -p "$dir/k.pid" -c "$dir/c.pid" -r "$dir/v.pid" > "$dir/keepalived.log" 2>&1 &
fi
pid=$!
for _ in $(seq 600); do snap | grep -q 10.1.0.3 && break; sleep 0.1; done
sleep 1
programmed=$(snap)
section programmed; echo "$programmed"
ipvsadm -d -t 10.0.0.1:80 -r 10.1.0.1:80
ipvsadm -e -t 10.0.0.1:80 -r 10.1.0.2:80 -m -w 9
ipvsadm -D -t 10.0.0.2:443
ipvsadm -e -u 10.9.9.9:53 -r 10.1.0.9:53 -m -w 4
changed_at=$(date +%s%N)
section changed; snap
repaired=$(echo "$programmed" | sed 's/-r 10.1.0.9:53 -m -w 1/-r 10.1.0.9:53 -m -w 4/')
if [ "$daemon" = lvsd ]; then
  for _ in $(seq 40); do [ "$(snap)" = "$repaired" ] && break; sleep 0.5; done
  echo "repaired after $(( ($(date +%s%N) - changed_at) / 1000000 )) ms"
else
  sleep $(( 3 * ${DELAY_LOOP_S} ))
fi
section after; snap
if [ "$daemon" = lvsd ]; then
  section status; ${LVSCTL} status --socket "$sock"
  section metrics; node -e 'fetch("http://127.0.0.1:9651/metrics").then((r) => r.text()).then(process.stdout.write.bind(process.stdout))'
  section log; cat "$dir/lvsd.log"
fi
kill -TERM $pid; wait $pid
section stopped; snap
`;

// A service deleted behind lvsd's back, then a verdict that changes one of its destinations: the
// kernel refuses that edit (the service is gone), and lvsd's retry puts the service back. Drift
// checks come only every 60 s here, so the retry is what mends it.
const REFUSAL_CONFIG = `
virtual_server 10.0.0.3 80 {
  delay_loop 60
  protocol TCP
  lb_kind NAT
  lb_algo rr
  real_server 127.0.0.1 8081 {
    delay_loop 1
    TCP_CHECK { connect_timeout 1 }
  }
  real_server 127.0.0.1 8082 { weight 3 }
}
`;

const REFUSAL_SCRIPT = `
set -u
dir=$1
sock=/run/lvsd-refusal-$$.sock
snap() { ipvsadm -S -n | sort; }
section() { echo "=== $1"; }
node -e 'require("node:net").createServer((s) => s.destroy()).listen(8081, "127.0.0.1")' &
listener=$!
${LVSD} -f "$dir/refusal.conf" --socket "$sock" --metrics 127.0.0.1:9652 > "$dir/lvsd.log" 2>&1 &
pid=$!
for _ in $(seq 600); do snap | grep -q 127.0.0.1:8081 && break; sleep 0.1; done
sleep 1
section programmed; snap
ipvsadm -D -t 10.0.0.3:80
kill $listener
for _ in $(seq 40); do snap | grep -q 10.0.0.3 && break; sleep 0.5; done
sleep 1
section after; snap
section metrics; node -e 'fetch("http://127.0.0.1:9652/metrics").then((r) => r.text()).then(process.stdout.write.bind(process.stdout))'
section log; cat "$dir/lvsd.log"
kill -TERM $pid; wait $pid
section stopped; snap
`;

describe('IPVS changed behind the director by another tool', () => {
  const out: Record<'lvsd' | 'keepalived' | 'refusal', Record<string, string>> = { lvsd: {}, keepalived: {}, refusal: {} };

  beforeAll(async () => {
    const vm = await sharedVm();
    const drift = (['lvsd', 'keepalived'] as const).map(async (daemon) => {
      const dir = vm.scratchDir();
      writeFileSync(join(dir, 'drift.conf'), CONFIG);
      const run = await vm.run(['bash', '-c', SCRIPT, 'drift', dir, daemon], { timeoutMs: 240_000 });
      out[daemon] = sections(run.stdout);
    });
    const refusal = (async () => {
      const dir = vm.scratchDir();
      writeFileSync(join(dir, 'refusal.conf'), REFUSAL_CONFIG);
      const run = await vm.run(['bash', '-c', REFUSAL_SCRIPT, 'refusal', dir], { timeoutMs: 240_000 });
      out.refusal = sections(run.stdout);
    })();
    await Promise.all([...drift, refusal]);
  });

  it('lvsd puts its own entries back, leaves the service it does not own as the other tool left it, and says what it found', () => {
    const { programmed, changed, after, status, metrics, log } = out.lvsd;
    expect(changed).not.toBe(programmed);
    expect(after).toBe(programmed!.replace('-r 10.1.0.9:53 -m -w 1', '-r 10.1.0.9:53 -m -w 4'));
    console.log(`lvsd: ${changed?.match(/repaired after \d+ ms/)?.[0] ?? ''} (delay_loop ${DELAY_LOOP_S} s)`);
    expect(status).toContain('IPVS changed by another tool, put back (4 operations since start)');
    expect(metrics).toMatch(/^lvsd_ipvs_drift_repairs_total 4$/m);
    // The three ipvsadm runs may straddle a drift check: one repair or two, each logged with what
    // it found; the status shows the last one.
    const repairs = [...(log ?? '').matchAll(/IPVS entries of lvsd changed by another tool: (\d+) put back/g)].map((m) => Number(m[1]));
    expect(repairs.reduce((sum, n) => sum + n, 0)).toBe(4);
    for (const found of [
      'missing, added again: -a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 2',
      'was -e -t 10.0.0.1:80 -r 10.1.0.2:80 -m -w 9, set back: -e -t 10.0.0.1:80 -r 10.1.0.2:80 -m -w 1',
      'missing, added again: -A -t 10.0.0.2:443 -s wlc',
      'missing, added again: -a -t 10.0.0.2:443 -r 10.1.0.3:443 -m -w 1',
    ]) expect(log).toContain(found);
    expect(out.lvsd.stopped).toBe('-A -u 10.9.9.9:53 -s rr\n-a -u 10.9.9.9:53 -r 10.1.0.9:53 -m -w 4\n');
  });

  it('keepalived 2.2.7, the reference, leaves the changes in place', () => {
    expect(out.keepalived.programmed).toBe(out.lvsd.programmed);
    expect(out.keepalived.changed).not.toBe(out.keepalived.programmed);
    expect(out.keepalived.after).toBe(out.keepalived.changed);
  });

  it('lvsd tries an edit the kernel refused (its service deleted behind lvsd) again, which puts the service back', () => {
    const { programmed, after, metrics, log } = out.refusal;
    expect(programmed).toContain('-a -t 10.0.0.3:80 -r 127.0.0.1:8081 -m -w 1');
    expect(after).toBe('-A -t 10.0.0.3:80 -s rr\n-a -t 10.0.0.3:80 -r 127.0.0.1:8082 -m -w 3\n');
    expect(log).toContain('IPVS refused');
    expect(metrics).toMatch(/^lvsd_ipvs_refusals_total [1-9]\d*$/m);
    expect(out.refusal.stopped).toBe('');
  });
});
