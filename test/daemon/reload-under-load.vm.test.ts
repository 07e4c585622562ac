import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { NAT_LAB } from './nat-lab.ts';
import { sharedVm } from '../kernel/vm.ts';

const LVSD = fileURLToPath(new URL('../../bin/lvsd', import.meta.url));
const CLIENT = fileURLToPath(new URL('./load-client.mjs', import.meta.url));
const REQUESTS = 10_000;
const RELOADS = 5;
/** An emulated CPU shared with the other kernel tests serves a few dozen requests a second. */
const CLIENT_MAX_SECONDS = 480;

function config(rs1Weight: number, withUnrelated: boolean): string {
  const rs = (n: number, weight: number) =>
    `  real_server 10.77.1.${n} 8080 {\n    weight ${weight}\n    TCP_CHECK { connect_timeout 2 }\n  }\n`;
  const unrelated = withUnrelated ? 'virtual_server 10.77.0.200 80 {\n  protocol TCP\n  real_server 10.77.1.1 8080 { }\n}\n' : '';
  return `virtual_server 10.77.0.100 80 {\n  protocol TCP\n  delay_loop 2\n  lb_algo rr\n  lb_kind NAT\n${rs(1, rs1Weight)}${rs(2, 1)}${rs(3, 1)}}\n${unrelated}`;
}

// The job's own namespace is the director; a client and three web servers sit in
// namespaces of their own behind it, so every request crosses IPVS NAT.
const SCRIPT = `
set -eu
dir=$1
# Unix sockets cannot live on the 9p exchange directory.
sock=/run/lvsd-test-$$.sock
${NAT_LAB}
cp "$dir/config-0.conf" "$dir/live.conf"
${LVSD} -f "$dir/live.conf" --socket "$sock" > "$dir/lvsd.log" 2>&1 &
daemon=$!
for _ in $(seq 600); do ipvsadm -Ln | grep -q 10.77.1.3 && break; sleep 0.1; done
ns client node ${CLIENT} http://10.77.0.100/ ${REQUESTS} 8 ${CLIENT_MAX_SECONDS} > "$dir/client.json" &
client=$!
sleep 2
for step in $(seq ${RELOADS}); do
  echo "=== stats before reload $step"; ipvsadm -Ln --stats --exact
  cp "$dir/config-$step.conf" "$dir/live.conf"
  kill -HUP $daemon
  sleep 2
done
echo "=== stats after reloads"; ipvsadm -Ln --stats --exact
wait $client
echo "=== table"; ipvsadm -S -n
echo "=== client"; cat "$dir/client.json"
kill -TERM $daemon; wait $daemon || true
echo "=== log"; grep -c 'reloaded\\|IPVS change' "$dir/lvsd.log" || true
for n in client rs1 rs2 rs3; do ip netns pids $n-$id | xargs -r kill; ip netns del $n-$id; done
`;

/** Total connections per destination in one `ipvsadm -Ln --stats --exact` listing. */
function connectionTotals(listing: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const match of listing.matchAll(/->\s+(\S+)\s+(\d+)/g)) totals.set(match[1]!, Number(match[2]));
  return totals;
}

it(`keeps serving ${REQUESTS} requests through a NAT VIP across ${RELOADS} reloads`, async () => {
  const vm = await sharedVm();
  const dir = vm.scratchDir();
  for (let step = 0; step <= RELOADS; step++) writeFileSync(join(dir, `config-${step}.conf`), config(step % 2 === 0 ? 1 : 3, step % 2 === 1));
  const run = await vm.run(['bash', '-c', SCRIPT, 'reload-under-load', dir], { timeoutMs: (CLIENT_MAX_SECONDS + 60) * 1000 });
  expect(run.code, run.stderr + run.stdout).toBe(0);
  const sections = run.stdout.split(/^=== /m).slice(1);
  const client = JSON.parse(sections.find((s) => s.startsWith('client'))!.split('\n')[1]!) as { ok: number; failed: number; errors: object };
  expect(client.failed, JSON.stringify(client.errors)).toBe(0);
  expect(client.ok).toBe(REQUESTS);

  // rs2 and rs3 never change: their counters only grow, so they were never removed and re-added.
  const samples = sections.filter((s) => s.startsWith('stats')).map(connectionTotals);
  expect(samples).toHaveLength(RELOADS + 1);
  for (const dest of ['10.77.1.2:8080', '10.77.1.3:8080']) {
    const counts = samples.map((sample) => sample.get(dest) ?? -1);
    expect(counts.every((count, i) => count >= 0 && (i === 0 || count >= counts[i - 1]!)), `${dest}: ${counts.join(' ')}`).toBe(true);
    expect(counts.at(-1)).toBeGreaterThan(0);
  }
  // The last configuration (step 5: rs1 weight 3, unrelated service present) is what the kernel holds.
  const table = sections.find((s) => s.startsWith('table'))!;
  expect(table).toContain('-a -t 10.77.0.100:80 -r 10.77.1.1:8080 -m -w 3');
  expect(table).toContain('-A -t 10.77.0.200:80 -s wlc');
}, (CLIENT_MAX_SECONDS + 90) * 1000);
