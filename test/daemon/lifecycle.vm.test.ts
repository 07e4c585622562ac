import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedVm, type VmRunResult } from '../kernel/vm.ts';
import { sections } from './vm-sections.ts';

const LVSD = fileURLToPath(new URL('../../bin/lvsd', import.meta.url));
const LVSCTL = fileURLToPath(new URL('../../bin/lvsctl', import.meta.url));

const GOOD = `
virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_kind NAT
  lb_algo rr
  real_server 10.1.0.1 80 { weight 2 }
  real_server 10.1.0.2 80 { }
}
virtual_server 10.0.0.2 443 {
  protocol TCP
  lb_kind NAT
  lb_algo wlc
  real_server 10.1.0.3 443 { }
}
`;
// The second virtual server lost its closing brace: keepalived would still apply what it makes of it.
const BAD = GOOD.replace('real_server 10.1.0.3 443 { }\n}', 'real_server 10.1.0.3 443 { }\n');
const CHANGED = GOOD.replace('weight 2', 'weight 5').replace('lb_algo wlc', 'lb_algo sh');

// One job in the VM walks a daemon through its whole life; each phase prints a marked section.
const SCRIPT = `
set -u
dir=$1
# Unix sockets cannot live on the 9p exchange directory.
sock=/run/lvsd-test-$$.sock
section() { echo "=== $1"; }
snap() { ipvsadm -S -n; }
ipvsadm -A -u 10.9.9.9:53 -s rr
section pristine; snap
section bad-start; ${LVSD} -f "$dir/bad.conf" --socket "$sock"; echo "exit=$?"; snap
cp "$dir/good.conf" "$dir/live.conf"
${LVSD} -f "$dir/live.conf" --socket "$sock" --metrics 127.0.0.1:9650 -p "$dir/lvsd.pid" > "$dir/lvsd.log" 2>&1 &
daemon=$!
for _ in $(seq 600); do [ -S "$sock" ] && snap | grep -q 10.1.0.3 && break; sleep 0.1; done
section started; snap
section status; ${LVSCTL} status --socket "$sock"; echo "exit=$?"
section pid; [ "$(cat "$dir/lvsd.pid")" = "$daemon" ] && echo "pid file ok"
section diff; ${LVSCTL} diff -f "$dir/changed.conf" --socket "$sock"; echo "exit=$?"; snap
cp "$dir/bad.conf" "$dir/live.conf"
section bad-reload; ${LVSCTL} reload --socket "$sock" 2>&1; echo "exit=$?"; snap
section metrics; node -e 'fetch("http://127.0.0.1:9650/metrics").then((r) => r.text()).then(process.stdout.write.bind(process.stdout))'
cp "$dir/changed.conf" "$dir/live.conf"
kill -HUP $daemon
for _ in $(seq 100); do snap | grep -q 'sh' && break; sleep 0.1; done
section hup-reload; snap
section drain; ${LVSCTL} drain 10.1.0.2 --socket "$sock"; echo "exit=$?"; snap
section drain-status; ${LVSCTL} status --socket "$sock"
section drain-wait; ${LVSCTL} drain 10.1.0.2:80 --vs "TCP 10.0.0.1:80" --wait --timeout 5 --socket "$sock"; echo "exit=$?"
section drain-metrics; node -e 'fetch("http://127.0.0.1:9650/metrics").then((r) => r.text()).then(process.stdout.write.bind(process.stdout))'
section sigterm; kill -TERM $daemon; wait $daemon; echo "exit=$?"
section stopped; snap
[ -e "$dir/lvsd.pid" ] && echo "pid file left behind"
${LVSD} -f "$dir/live.conf" --socket "$sock" > "$dir/lvsd2.log" 2>&1 &
daemon=$!
for _ in $(seq 600); do [ -S "$sock" ] && snap | grep -q 10.1.0.3 && break; sleep 0.1; done
section restarted; snap
section undrain; ${LVSCTL} undrain 10.1.0.2 --socket "$sock"; echo "exit=$?"; snap
kill -TERM $daemon; wait $daemon
section stopped-again; snap
`;

function sortedLines(text: string | undefined): string[] {
  return (text ?? '').split('\n').filter(Boolean).sort();
}

describe('lvsd lifecycle in a real IPVS kernel', () => {
  let run: VmRunResult;
  let out: Record<string, string>;

  beforeAll(async () => {
    const vm = await sharedVm();
    const dir = vm.scratchDir();
    writeFileSync(join(dir, 'good.conf'), GOOD);
    writeFileSync(join(dir, 'bad.conf'), BAD);
    writeFileSync(join(dir, 'changed.conf'), CHANGED);
    run = await vm.run(['bash', '-c', SCRIPT, 'lifecycle', dir], { timeoutMs: 240_000 });
    out = sections(run.stdout);
  });

  it('refuses a bad configuration at start with file:line and changes nothing', () => {
    expect(run.stderr).toMatch(/bad\.conf:\d+:\d+: error: /);
    expect(out['bad-start']).toBe(`exit=1\n${out.pristine}`);
  });

  it('programs the configuration next to services it does not own', () => {
    // ipvsadm lists services in the kernel's hash order.
    expect(sortedLines(out.started)).toEqual(sortedLines(
      [
        '-A -u 10.9.9.9:53 -s rr',
        '-A -t 10.0.0.1:80 -s rr',
        '-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 2',
        '-a -t 10.0.0.1:80 -r 10.1.0.2:80 -m -w 1',
        '-A -t 10.0.0.2:443 -s wlc',
        '-a -t 10.0.0.2:443 -r 10.1.0.3:443 -m -w 1',
        '',
      ].join('\n'),
    ));
    expect(out.pid).toContain('pid file ok');
  });

  it('shows its virtual and real servers in lvsctl status', () => {
    expect(out.status).toMatch(/TCP 10\.0\.0\.1:80\s+rr\s+NAT\s+up 3\/1/);
    expect(out.status).toMatch(/10\.1\.0\.1:80\s+TCP 10\.0\.0\.1:80\s+up\s+2\s+w2/);
    expect(out.status).toContain('exit=0');
  });

  it('previews a reload with lvsctl diff without changing the kernel', () => {
    expect(out.diff).toContain('-e -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 5');
    expect(out.diff).toContain('-E -t 10.0.0.2:443 -s sh');
    expect(out.diff).toContain(`exit=0\n${out.started}`);
  });

  it('rejects a bad reload whole, keeps the kernel byte-identical and says why', () => {
    expect(out['bad-reload']).toMatch(/reload rejected/);
    expect(out['bad-reload']).toMatch(/live\.conf:\d+:\d+: error: /);
    expect(out['bad-reload']).toContain(`exit=1\n${out.started}`);
  });

  it('serves Prometheus metrics', () => {
    expect(out.metrics).toMatch(/lvsd_real_server_up\{virtual_server="TCP 10\.0\.0\.1:80",real_server="10\.1\.0\.1:80"\} 1/);
    expect(out.metrics).toMatch(/lvsd_reloads_total\{result="failure"\} 1/);
    expect(out.metrics).toMatch(/lvsd_service_active_connections\{service="TCP 10\.0\.0\.1:80"\} 0/);
    // The first table: two services and three destinations, each one netlink request the kernel carried out.
    expect(out.metrics).toMatch(/^lvsd_netlink_operations_total\{operation="add-service",result="ok"\} 2$/m);
    expect(out.metrics).toMatch(/^lvsd_netlink_operations_total\{operation="add-dest",result="ok"\} 3$/m);
    expect(out.metrics).toMatch(/^lvsd_netlink_operations_total\{operation="add-dest",result="error"\} 0$/m);
  });

  it('applies a good reload on SIGHUP in place', () => {
    expect(out['hup-reload']).toContain('-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 5');
    expect(out['hup-reload']).toContain('-A -t 10.0.0.2:443 -s sh');
  });

  it('drains a real server to weight 0 with lvsctl drain, shows it, and keeps it across a restart until undrained', () => {
    expect(out.drain).toMatch(/^draining 10\.1\.0\.2:80 of TCP 10\.0\.0\.1:80\nexit=0\n/);
    expect(out.drain).toContain('-a -t 10.0.0.1:80 -r 10.1.0.2:80 -m -w 0');
    expect(out['drain-status']).toMatch(/10\.1\.0\.2:80\s+TCP 10\.0\.0\.1:80\s+DRAINING\s+1\s+w0 .*drained \d+s ago \(lvsctl drain\), 0 active \/ 0 inactive connections/);
    expect(out['drain-wait']).toBe('draining 10.1.0.2:80 of TCP 10.0.0.1:80\nno active connections left\nexit=0\n');
    expect(out['drain-metrics']).toMatch(/lvsd_real_server_drained\{virtual_server="TCP 10\.0\.0\.1:80",real_server="10\.1\.0\.2:80"\} 1/);
    expect(out['drain-metrics']).toMatch(/lvsd_real_server_drained\{virtual_server="TCP 10\.0\.0\.1:80",real_server="10\.1\.0\.1:80"\} 0/);
    expect(out.restarted).toContain('-a -t 10.0.0.1:80 -r 10.1.0.2:80 -m -w 0');
    expect(out.undrain).toMatch(/^restored 10\.1\.0\.2:80 of TCP 10\.0\.0\.1:80\nexit=0\n/);
    expect(out.undrain).toContain('-a -t 10.0.0.1:80 -r 10.1.0.2:80 -m -w 1');
    expect(out['stopped-again']).toBe(out.pristine);
  });

  it('removes what it programmed on SIGTERM and exits 0', () => {
    expect(out.sigterm).toBe('exit=0\n');
    expect(out.stopped).toBe(out.pristine);
    expect(run.stdout).not.toContain('pid file left behind');
  });
});
