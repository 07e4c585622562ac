import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { sharedVm } from '../kernel/vm.ts';

const LVSD = fileURLToPath(new URL('../../bin/lvsd', import.meta.url));
const FLAPPER = fileURLToPath(new URL('./flapping-servers.mjs', import.meta.url));
/** Namespaces stopping lvsd side by side, and stops in each: 50 in all. */
const WORKERS = 2;
const STOPS_EACH = 25;
const FLAP_PERIOD_MS = 50;
/**
 * A bound on each namespace's run, not a timing check: 25 starts and stops take about 90 s in a
 * quiet VM and over 480 s with two busy loops on the host, where the test must still end.
 */
const MAX_SECONDS = 900;
const ADDRESSES = ['10.66.1.1', '10.66.1.2', '10.66.1.3', '10.66.1.4'];
const FOREIGN = '-A -u 10.9.9.9:53 -s rr';

/**
 * Three virtual servers over four real servers whose listeners flap every 50 ms; every check
 * (TCP on 8080, HTTP on 8081) runs ten times a second and a failure and its immediate retry take a server out, so
 * verdicts reach the director all the time, also while it stops.
 */
function config(): string {
  const check = (n: number) =>
    n % 2 === 0
      ? `TCP_CHECK {\n      connect_timeout 1\n    }`
      : `HTTP_GET {\n      url {\n        path /\n        status_code 200\n      }\n      connect_port 8081\n      connect_timeout 1\n    }`;
  const realServers = ADDRESSES.map(
    (address, n) =>
      `  real_server ${address} 8080 {\n    weight ${n + 1}\n    retry 1\n    delay_before_retry 0\n    ${check(n)}\n  }\n`,
  ).join('');
  return [80, 443, 8443]
    .map((port) => `virtual_server 10.66.0.1 ${port} {\n  protocol TCP\n  lb_kind NAT\n  lb_algo rr\n  delay_loop 0.1\n${realServers}}\n`)
    .join('');
}

// One job per namespace: the flapping real servers on its loopback, a service lvsd does not own,
// then lvsd started and stopped with SIGTERM again and again, a snapshot of IPVS after each exit.
const SCRIPT = `
set -u
dir=$1; worker=$2
sock=/run/lvsd-stop-race-$$.sock
for address in ${ADDRESSES.join(' ')}; do ip addr add $address/32 dev lo; done
ipvsadm ${FOREIGN}
node ${FLAPPER} 8080 ${FLAP_PERIOD_MS} ${MAX_SECONDS} ${ADDRESSES.join(' ')} &
flapper=$!
for stop in $(seq ${STOPS_EACH}); do
  log="$dir/lvsd-$worker-$stop.log"
  ${LVSD} -f "$dir/stop-race.conf" --socket "$sock" > "$log" 2>&1 &
  daemon=$!
  # The stop comes once verdicts flow (a first real server went down or up, at most 60 s), after
  # a further 0 to 0.9 s, so that it lands at any point of the checks' cycle.
  for _ in $(seq 600); do kill -0 $daemon 2>/dev/null || break; grep -q '"real server \\(up\\|down\\)"' "$log" && break; sleep 0.1; done
  sleep 0.$((RANDOM % 10))
  kill -TERM $daemon; wait $daemon; code=$?
  echo "=== stop $stop exit=$code flips=$(grep -c '"real server \\(up\\|down\\)"' "$log")"
  ipvsadm -S -n
done
kill $flapper
`;

interface Stop {
  readonly name: string;
  readonly exit: number;
  readonly flips: number;
  readonly table: string;
}

function stopsOf(worker: number, output: string): Stop[] {
  return output
    .split(/^=== /m)
    .slice(1)
    .map((part) => {
      const [header, ...table] = part.split('\n');
      const match = /^stop (\d+) exit=(\d+) flips=(\d+)$/.exec(header!);
      if (!match) throw new Error(`unexpected section: ${header}`);
      return { name: `worker ${worker} stop ${match[1]}`, exit: Number(match[2]), flips: Number(match[3]), table: table.join('\n').trim() };
    });
}

it(
  `leaves an empty table after each of ${WORKERS * STOPS_EACH} SIGTERMs sent while verdicts flap every ${FLAP_PERIOD_MS} ms`,
  async () => {
    const vm = await sharedVm();
    const dir = vm.scratchDir();
    writeFileSync(join(dir, 'stop-race.conf'), config());
    const runs = await Promise.all(
      Array.from({ length: WORKERS }, (_, worker) =>
        vm.run(['bash', '-c', SCRIPT, 'stop-race', dir, String(worker)], { timeoutMs: MAX_SECONDS * 1000 }),
      ),
    );
    const stops = runs.flatMap((run, worker) => {
      expect(run.code, run.stderr + run.stdout).toBe(0);
      return stopsOf(worker, run.stdout);
    });
    expect(stops).toHaveLength(WORKERS * STOPS_EACH);
    for (const stop of stops) {
      expect({ stop: stop.name, exit: stop.exit, table: stop.table }).toEqual({ stop: stop.name, exit: 0, table: FOREIGN });
    }
    // The verdicts did flap: every run of lvsd saw real servers go down or up before its stop.
    for (const stop of stops) expect(stop.flips, stop.name).toBeGreaterThan(0);
  },
  (MAX_SECONDS + 60) * 1000,
);
