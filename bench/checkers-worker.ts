// bench/checkers' lvsd side: the checker pool on the bench's keepalived.conf, driven over
// stdin/stdout ("mark", "end"). bench/checkers bundles this file as lvsd is bundled, and runs it
// with lvsd's heap setting.
//
//   node dist/bench/checkers-worker.cjs CONFIG [--javascript] [--concurrency N]
import { createInterface } from 'node:readline';
import { parseConfigFile } from '../src/config/index.ts';
import { boundHeapGrowth } from '../src/daemon/heap.ts';
import { checkSpecsFromConfig } from '../src/healthcheck/from-config.ts';
import { CheckerPool, type PoolStats } from '../src/healthcheck/pool.ts';
import { NetworkProbeRunner } from '../src/healthcheck/probe-runner.ts';

async function worker(configFile: string, maxConcurrent: number | undefined, javascriptOnly: boolean): Promise<void> {
  const parsed = parseConfigFile(configFile);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
  const { specs, warnings } = checkSpecsFromConfig(parsed.config, {
    virtualServer: (vs) => (vs.key.kind === 'address' ? `${vs.key.address}:${vs.key.port}` : JSON.stringify(vs.key)),
    realServer: (rs) => `${rs.address}:${rs.port}`,
  });
  if (warnings.length > 0) process.stderr.write(`${warnings.join('\n')}\n`);
  let down = 0;
  const pool = new CheckerPool(specs, {
    onVerdict: (v) => { if (!v.up) down++; },
    onWarning: (message) => process.stderr.write(`${message}\n`),
    ...(javascriptOnly ? { runner: new NetworkProbeRunner({ javascriptOnly }) } : {}),
    ...(maxConcurrent ? { maxConcurrent } : {}),
  });
  await pool.start();
  // Where lvsd sets it: once start is complete.
  boundHeapGrowth();
  const reply = (stats: PoolStats): void => {
    const latencies = pool
      .snapshot()
      .flatMap((rs) => rs.checkers.map((c) => c.lastLatencyMs ?? 0))
      .sort((a, b) => a - b);
    const latencyP99Ms = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
    process.stdout.write(`${JSON.stringify({ stats, down, latencyP99Ms })}\n`);
  };
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'mark') {
      pool.resetLag();
      reply(pool.stats());
    } else if (line === 'end') {
      reply(pool.stats());
      await pool.stop();
      process.exit(0);
    }
  }
}

const concurrencyAt = process.argv.indexOf('--concurrency');
void worker(process.argv[2]!, concurrencyAt < 0 ? undefined : Number(process.argv[concurrencyAt + 1]), process.argv.includes('--javascript'));
