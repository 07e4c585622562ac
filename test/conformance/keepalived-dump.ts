import { join } from 'node:path';
import type { KernelVm } from '../kernel/vm.ts';

// `keepalived --dump-conf` logs its configuration as it resolved it: the checker process its
// virtual servers and checkers, the VRRP process its instances. Differential tests compare that
// with lvsd's model of the same file.

/**
 * Runs the command ($3...) with its output in $1 until the line $2 shows, at most 15 s, stops it
 * and prints the output.
 */
const UNTIL_DUMPED =
  'out=$1; done=$2; shift 2; "$@" >"$out" 2>&1 & pid=$!; i=0; ' +
  'while [ $i -lt 150 ] && ! grep -qF -- "$done" "$out"; do sleep 0.1; i=$((i + 1)); done; ' +
  'kill $pid; wait $pid; cat "$out"';

/** The interfaces keepalived's VRRP samples name: it refuses an instance on a missing one. */
const WITH_INTERFACES =
  'for i in eth0 eth1 eth2 eth3; do ip link add $i type dummy && ip link set $i multicast on && ip link set $i up; done; ' +
  'ip addr add 192.168.200.10/24 dev eth0; ip addr add 10.0.0.10/24 dev eth1; ';

/** The option that starts only that process, what it logs after its dump, and what it needs. */
const SIDES = {
  checkers: { option: '--check', done: 'Activating BFD healthchecker', script: UNTIL_DUMPED },
  vrrp: { option: '--vrrp', done: '------< Interfaces >------', script: WITH_INTERFACES + UNTIL_DUMPED },
} as const;

/** Lines of keepalived's dump without their time stamps. */
export async function keepalivedDump(vm: KernelVm, file: string, side: keyof typeof SIDES): Promise<string[]> {
  const dir = vm.scratchDir();
  const { option, done, script } = SIDES[side];
  const run = await vm.run(
    ['sh', '-c', script, 'sh', join(dir, 'keepalived.out'), done,
      'keepalived', '--dont-fork', '--log-console', '--log-detail', '--dump-conf', option, '-f', file,
      '-p', join(dir, 'keepalived.pid'), '-c', join(dir, 'checkers.pid'), '-r', join(dir, 'vrrp.pid')],
    { timeoutMs: 60_000 },
  );
  return `${run.stdout}${run.stderr}`.split('\n').map((line) => line.replace(/^\w{3} \w{3} [ \d]\d [\d:]{8} \d{4}: /, ''));
}

/** The section of the dump under `------< title >------`, up to the next one. */
export function dumpSection(lines: readonly string[], title: string): string[] | undefined {
  const start = lines.findIndex((line) => line.includes(`< ${title} >`));
  if (start < 0) return undefined;
  const end = lines.findIndex((line, index) => index > start && line.startsWith('------<'));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}
