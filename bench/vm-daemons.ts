// The daemons the VM benchmarks start, on one kind of configuration: services x destinations, each
// destination a TCP_CHECK on 127.x (all local in the VM, one listener on REAL_SERVER_PORT answers).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LVSD = fileURLToPath(new URL('../bin/lvsd', import.meta.url));
export const REAL_SERVER_PORT = 8080;

export type Daemon = 'keepalived' | 'lvsd';

/** `globals`: more global_defs lines, each ending in a newline; `virtualServerLines` likewise, in each virtual_server. */
export function tcpCheckConfig(services: number, destsPer: number, delayLoop: number, globals = '', virtualServerLines = ''): string {
  const blocks = Array.from({ length: services }, (_, s) => {
    const reals = Array.from(
      { length: destsPer },
      (_, d) => `  real_server 127.${1 + d}.${(s >> 8) & 255}.${s & 255} ${REAL_SERVER_PORT} {\n    TCP_CHECK {\n      connect_timeout 5\n    }\n  }\n`,
    ).join('');
    return `virtual_server 10.${(s >> 8) & 255}.${s & 255}.1 80 {\n  delay_loop ${delayLoop}\n  lb_algo wlc\n  lb_kind NAT\n  protocol TCP\n${virtualServerLines}${reals}}\n`;
  });
  return `global_defs {\n  router_id lvsd_bench\n${globals}}\n${blocks.join('')}`;
}

/** keepalived's checker alone, or lvsd's, with its pid and socket files in dir. */
export function startDaemon(daemon: Daemon, conf: string, dir: string): ChildProcess {
  const argv =
    daemon === 'keepalived'
      ? ['/usr/sbin/keepalived', '--dont-fork', '--check', '--log-console', '-f', conf, '-p', join(dir, 'k.pid'), '-c', join(dir, 'c.pid'), '-r', join(dir, 'v.pid')]
      : [process.execPath, LVSD, '--check', '-f', conf, '--socket', join(dir, 'lvsd.sock')];
  return spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
}
