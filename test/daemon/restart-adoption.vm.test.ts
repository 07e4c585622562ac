import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { NAT_LAB } from './nat-lab.ts';
import { sharedVm } from '../kernel/vm.ts';
import { sections } from './vm-sections.ts';

const LVSD = fileURLToPath(new URL('../../bin/lvsd', import.meta.url));
const CLIENT = fileURLToPath(new URL('./load-client.mjs', import.meta.url));
const REQUESTS = 1500;
const CLIENT_MAX_SECONDS = 120;
const VIP = '10.77.0.100:80';

const CONFIG = `virtual_server 10.77.0.100 80 {
  protocol TCP
  delay_loop 2
  lb_algo rr
  lb_kind NAT
${[1, 2, 3].map((n) => `  real_server 10.77.1.${n} 8080 {\n    weight ${n}\n    TCP_CHECK { connect_timeout 2 }\n  }\n`).join('')}}
`;

// What systemd's Restart=on-failure does after a kill -9, twice, with traffic through a NAT VIP:
// first with every real server alive, then with rs2 killed while the director is down. A tracer
// records every change of the kernel's table (ipvsadm -S, polled), and `# EVENT` marks.
const SCRIPT = `
set -u
dir=$1 daemon=$2
${NAT_LAB}
mark() { echo "# $1 $(date +%s%N)" >> "$dir/trace"; }
sock=/run/lvsd-adopt-$$.sock
start() {
  if [ "$daemon" = lvsd ]; then
    ${LVSD} -f "$dir/adopt.conf" --socket "$sock" >> "$dir/daemon.log" 2>&1 &
  else
    keepalived -n -l -D -C -f "$dir/adopt.conf" -p "$dir/k.pid" -c "$dir/c.pid" -r "$dir/v.pid" >> "$dir/daemon.log" 2>&1 &
  fi
  pid=$!
}
crash() {
  if [ "$daemon" = lvsd ]; then kill -9 $pid; else kill -9 $(cat "$dir/c.pid") $pid; fi
  wait $pid 2>/dev/null
}
start
for _ in $(seq 600); do ipvsadm -Ln | grep -q 10.77.1.3 && break; sleep 0.1; done
sleep 1
( prev=""; while :; do cur=$(ipvsadm -S -n | sort); if [ "$cur" != "$prev" ]; then printf '@ %s\\n%s\\n' "$(date +%s%N)" "$cur" >> "$dir/trace"; prev=$cur; fi; sleep 0.1; done ) &
tracer=$!
ns client node ${CLIENT} http://10.77.0.100/ ${REQUESTS} 4 ${CLIENT_MAX_SECONDS} > "$dir/client-a.json" &
client=$!
sleep 2
mark kill-a; crash; sleep 1
mark restart-a; start; sleep 10
mark end-a
wait $client
ns client node ${CLIENT} http://10.77.0.100/ ${REQUESTS} 4 ${CLIENT_MAX_SECONDS} > "$dir/client-b.json" &
client=$!
sleep 2
mark kill-b; crash; ip netns pids rs2-$id | xargs -r kill; sleep 1
mark restart-b; start; sleep 14
mark end-b
wait $client
kill $tracer; wait $tracer 2>/dev/null
echo "=== trace"; cat "$dir/trace"
echo "=== client-a"; cat "$dir/client-a.json"
echo "=== client-b"; cat "$dir/client-b.json"
echo "=== log"; cat "$dir/daemon.log"
if [ "$daemon" = lvsd ]; then kill -TERM $pid; wait $pid; else kill -TERM $pid; wait $pid; ipvsadm -C; fi
for n in client rs1 rs2 rs3; do ip netns pids $n-$id | xargs -r kill; ip netns del $n-$id; done
`;

interface TraceEvent {
  readonly atNs: bigint;
  readonly mark?: string;
  readonly table?: readonly string[];
}

/** The tracer's snapshots and marks, in time order. */
function parseTrace(text: string): TraceEvent[] {
  const events: TraceEvent[] = [];
  let table: string[] | undefined;
  for (const line of text.split('\n')) {
    const snapshot = /^@ (\d+)$/.exec(line);
    const mark = /^# (\S+) (\d+)$/.exec(line);
    if (snapshot) {
      table = [];
      events.push({ atNs: BigInt(snapshot[1]!), table });
    } else if (mark) {
      table = undefined;
      events.push({ atNs: BigInt(mark[2]!), mark: mark[1]! });
    } else if (line && table) table.push(line);
  }
  return events.sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : 0));
}

/** The VIP's destination lines of every table seen from mark `from` to mark `to`, the one in force at `from` first. */
function tablesBetween(events: readonly TraceEvent[], from: string, to: string): string[][] {
  const start = events.findIndex((event) => event.mark === from);
  const end = events.findIndex((event) => event.mark === to);
  const before = events.slice(0, start).filter((event) => event.table).at(-1);
  const during = events.slice(start, end).filter((event) => event.table);
  return [before, ...during].filter((event) => event !== undefined).map((event) => event.table!.filter((line) => line.startsWith(`-a -t ${VIP}`)));
}

/** The distinct states each destination went through: `10.77.1.1:8080 -> w1, absent, w1` is a flap. */
function destHistory(tables: readonly (readonly string[])[]): Map<string, string[]> {
  const history = new Map<string, string[]>();
  for (const n of [1, 2, 3]) {
    const dest = `10.77.1.${n}:8080`;
    const states = tables.map((table) => table.find((line) => line.includes(`-r ${dest} `))?.replace(/.* -w /, 'w') ?? 'absent');
    history.set(dest, states.filter((state, i) => i === 0 || state !== states[i - 1]));
  }
  return history;
}

describe('kill -9 of the director under load, then a restart (systemd Restart=on-failure)', () => {
  const out: Record<'lvsd' | 'keepalived', Record<string, string>> = { lvsd: {}, keepalived: {} };

  beforeAll(async () => {
    const vm = await sharedVm();
    await Promise.all((['lvsd', 'keepalived'] as const).map(async (daemon) => {
      const dir = vm.scratchDir();
      writeFileSync(join(dir, 'adopt.conf'), CONFIG);
      const run = await vm.run(['bash', '-c', SCRIPT, 'adopt', dir, daemon], { timeoutMs: (2 * CLIENT_MAX_SECONDS + 120) * 1000 });
      out[daemon] = sections(run.stdout);
    }));
  }, (2 * CLIENT_MAX_SECONDS + 180) * 1000);

  it('lvsd adopts the table it left: no failed request and no destination touched', () => {
    const { trace, log } = out.lvsd;
    const client = JSON.parse(out.lvsd['client-a']!) as { ok: number; failed: number; errors: object };
    const history = destHistory(tablesBetween(parseTrace(trace!), 'kill-a', 'end-a'));
    console.log(`lvsd, restart with every real server alive: ${JSON.stringify(Object.fromEntries(history))}; requests ${JSON.stringify(client)}`);
    expect(client.failed, JSON.stringify(client.errors)).toBe(0);
    expect(client.ok).toBe(REQUESTS);
    expect(Object.fromEntries(history)).toEqual({ '10.77.1.1:8080': ['w1'], '10.77.1.2:8080': ['w2'], '10.77.1.3:8080': ['w3'] });
    expect(log).toContain('restart: real servers in IPVS keep their weight until their checks say otherwise');
  });

  it('lvsd takes out a real server that died while it was down, at its failing check, and touches no other', () => {
    const history = destHistory(tablesBetween(parseTrace(out.lvsd.trace!), 'kill-b', 'end-b'));
    const client = JSON.parse(out.lvsd['client-b']!) as { ok: number; failed: number; errors: object };
    console.log(`lvsd, restart after rs2 died: ${JSON.stringify(Object.fromEntries(history))}; requests ${JSON.stringify(client)}`);
    expect(Object.fromEntries(history)).toEqual({ '10.77.1.1:8080': ['w1'], '10.77.1.2:8080': ['w2', 'absent'], '10.77.1.3:8080': ['w3'] });
  });

  it('keepalived 2.2.7, the reference, through the same scenario (reported)', () => {
    const events = parseTrace(out.keepalived.trace!);
    const a = destHistory(tablesBetween(events, 'kill-a', 'end-a'));
    const b = destHistory(tablesBetween(events, 'kill-b', 'end-b'));
    const clientA = JSON.parse(out.keepalived['client-a']!) as { ok: number; failed: number };
    const clientB = JSON.parse(out.keepalived['client-b']!) as { ok: number; failed: number };
    console.log(`keepalived, restart with every real server alive: ${JSON.stringify(Object.fromEntries(a))}; requests ${JSON.stringify(clientA)}`);
    console.log(`keepalived, restart after rs2 died: ${JSON.stringify(Object.fromEntries(b))}; requests ${JSON.stringify(clientB)}`);
    // Whatever keepalived does to the others, the dead real server ends out of its table too.
    expect(b.get('10.77.1.2:8080')?.at(-1)).toBe('absent');
  });
});
