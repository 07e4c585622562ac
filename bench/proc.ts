// What the VM benchmarks read from /proc: the IPVS table, TCP counters, a process tree's CPU.
import { readFileSync, readdirSync } from 'node:fs';

/** Services and destinations in this namespace's IPVS table. */
export function procEntries(): number {
  const lines = readFileSync('/proc/net/ip_vs', 'utf8').split('\n');
  return lines.filter((line) => line.startsWith('TCP') || (line.startsWith('  ->') && !line.includes('RemoteAddress'))).length;
}

/** Connects this network namespace has started (TCP ActiveOpens). */
export function activeOpens(): number {
  return tcpCounter('ActiveOpens');
}

/** Resets this network namespace's TCP has sent (TCP OutRsts). */
export function resetsSent(): number {
  return tcpCounter('OutRsts');
}

function tcpCounter(name: string): number {
  const tcp = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Tcp:'));
  return Number(tcp[1]!.split(/\s+/)[tcp[0]!.split(/\s+/).indexOf(name)]);
}

/** CPU ticks of a process and its descendants (keepalived checks in a child process). */
export function treeCpuTicks(root: number): number {
  const stats = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        // Fields after the command name, which may contain spaces: state ppid ... utime(14) stime(15).
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return [{ pid: Number(pid), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) }];
      } catch {
        return [];
      }
    });
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const stat of stats) {
      if (tree.has(stat.pid) || !tree.has(stat.ppid)) continue;
      tree.add(stat.pid);
      grew = true;
    }
  }
  return stats.filter((stat) => tree.has(stat.pid)).reduce((sum, stat) => sum + stat.ticks, 0);
}
