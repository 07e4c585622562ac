// Parses a generated keepalived.conf of 1,000 virtual servers x 10 real
// servers with HTTP_GET checkers, and times the same file through
// `keepalived -t` (2.2.7) in the same run. Prints both and the ratio.
//   node --import tsx bench/config-parse.bench.ts [--quick]
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { parseConfigFile } from '../src/config/index.ts';

const KEEPALIVED = '/usr/sbin/keepalived';
const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const VIRTUAL_SERVERS = quick ? 100 : 1000;
const REAL_SERVERS = 10;
const ROUNDS = quick ? 3 : 5;

function generate(): string {
  const out: string[] = ['global_defs {', '  router_id bench', '}', ''];
  for (let v = 0; v < VIRTUAL_SERVERS; v++) {
    const vip = `10.${(v >> 8) & 255}.${v & 255}.1`;
    out.push(`virtual_server ${vip} 80 {`, '  delay_loop 6', '  lb_algo wrr', '  lb_kind NAT', '  protocol TCP', '');
    for (let r = 1; r <= REAL_SERVERS; r++) {
      out.push(
        `  real_server 172.16.${v & 255}.${r} 8080 {`,
        `    weight ${r}`,
        '    HTTP_GET {',
        '      url {',
        '        path /health',
        '        status_code 200',
        '      }',
        '      connect_timeout 3',
        '      retry 3',
        '      delay_before_retry 2',
        '    }',
        '  }',
      );
    }
    out.push('}', '');
  }
  return out.join('\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timeKeepalived(file: string, dir: string): Promise<number | string> {
  const run = promisify(execFile);
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    try {
      // -t: check the configuration and exit; -C: checker (LVS) part only; -n -l: no fork, log to the console;
      // pid files into the scratch directory so nothing on the system is touched.
      await run(KEEPALIVED, ['-t', '-C', '-n', '-l', '-f', file, '-p', join(dir, 'k.pid'), '-c', join(dir, 'c.pid'), '-r', join(dir, 'v.pid')], {
        timeout: 120_000,
        maxBuffer: 64 << 20,
      });
    } catch (e) {
      const error = e as { code?: unknown; stderr?: string };
      return `keepalived -t failed (${String(error.code)}): ${String(error.stderr).trim().split('\n').slice(-3).join(' | ')}`;
    }
    times.push(performance.now() - start);
  }
  return median(times);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-bench-config-'));
  try {
    const file = join(dir, 'keepalived.conf');
    const text = generate();
    writeFileSync(file, text);
    console.log(`config: ${VIRTUAL_SERVERS} virtual servers x ${REAL_SERVERS} real servers, HTTP_GET; ${(text.length / 1e6).toFixed(1)} MB${quick ? ' (--quick)' : ''}`);

    const ours: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const start = performance.now();
      const result = parseConfigFile(file, { hostname: 'bench' });
      ours.push(performance.now() - start);
      if (!result.ok) throw new Error(`lvsd rejected the generated config: ${result.errors[0]?.message}`);
    }
    const lvsd = median(ours);
    console.log(`lvsd parseConfigFile:   median ${lvsd.toFixed(1)} ms of ${ROUNDS} (first ${ours[0]!.toFixed(1)} ms, in-process)`);

    const keepalived = await timeKeepalived(file, dir);
    if (typeof keepalived === 'string') {
      console.log(keepalived);
      return;
    }
    console.log(`keepalived -t:          median ${keepalived.toFixed(1)} ms of ${ROUNDS} (whole process)`);
    console.log(`ratio keepalived/lvsd:  ${(keepalived / lvsd).toFixed(2)}x (>1 means lvsd is faster)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
