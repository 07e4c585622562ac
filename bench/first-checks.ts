/**
 * On this machine, whose kernel has no IPVS: how soon after its table is programmed lvsd's first
 * health checks reach the real servers (issue 11's goal: within 100 ms). lvsd runs as the one-file
 * bundle it ships as, built here with the model of IPVS (test/daemon/model-ipvs-adapter.ts) in the
 * kernel adapter's place; every other module is the daemon's own. With -D it logs each IPVS
 * operation with its time; the real servers, HTTP listeners in this process, note when each first
 * request arrives.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const CHECKOUT = fileURLToPath(new URL('..', import.meta.url));
const MODEL_BUNDLE = join(CHECKOUT, 'dist', 'bench', 'lvsd-model-ipvs.cjs');
const REAL_SERVERS = 10;
const RUNS = 5;

export interface FirstChecks {
  /** from the last IPVS operation of the first table to the first request at a real server */
  firstMs: number;
  /** ... to the last real server's first request */
  lastMs: number;
}

/** The daemon's bundle, with the model of IPVS in place of the kernel adapter (as scripts/build.mjs builds lvsd). */
async function buildModelBundle(): Promise<void> {
  await build({
    entryPoints: [join(CHECKOUT, 'src/cli/lvsd.ts')],
    outfile: MODEL_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['raw-socket', 'node-gyp-build', 'netlink'],
    define: { 'import.meta.url': '__lvsdModuleUrl' },
    banner: { js: "const __lvsdModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
    plugins: [
      {
        name: 'model-ipvs',
        setup(b) {
          b.onResolve({ filter: /\/ipvs-adapter\.ts$/ }, (args) =>
            args.importer.endsWith('daemon.ts') ? { path: join(CHECKOUT, 'test/daemon/model-ipvs-adapter.ts') } : undefined,
          );
        },
      },
    ],
  });
}

async function once(dir: string, run: number): Promise<FirstChecks> {
  const firstRequestAt = new Map<number, number>();
  const servers: Server[] = [];
  for (let i = 0; i < REAL_SERVERS; i++) {
    const server = createServer((request, response) => {
      const port = (server.address() as AddressInfo).port;
      if (!firstRequestAt.has(port)) firstRequestAt.set(port, Date.now());
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  const realServers = servers.map((server) => {
    const port = (server.address() as AddressInfo).port;
    return `  real_server 127.0.0.1 ${port} {\n    warmup 0\n    HTTP_GET {\n      url {\n        path /\n        status_code 200\n      }\n      connect_timeout 2\n    }\n  }\n`;
  });
  const conf = join(dir, `first-checks-${run}.conf`);
  writeFileSync(conf, `virtual_server 10.0.0.1 80 {\n  delay_loop 60\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n${realServers.join('')}}\n`);
  const daemon = spawn(process.execPath, [MODEL_BUNDLE, '-D', '-f', conf, '--socket', join(dir, `lvsd-${run}.sock`)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  daemon.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (firstRequestAt.size < REAL_SERVERS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  daemon.kill('SIGTERM');
  await new Promise((resolve) => daemon.once('exit', resolve));
  for (const server of servers) server.close();
  if (firstRequestAt.size < REAL_SERVERS) throw new Error(`only ${firstRequestAt.size} of ${REAL_SERVERS} real servers were checked within 30 s:\n${output}`);
  const opTimes = output
    .split('\n')
    .filter((line) => line.includes('"msg":"ipvs"'))
    .map((line) => (JSON.parse(line) as { time: number }).time)
    .filter((time) => time <= Math.min(...firstRequestAt.values()));
  if (opTimes.length === 0) throw new Error(`no IPVS operation logged before the first check:\n${output}`);
  const programmedAt = Math.max(...opTimes);
  const requests = [...firstRequestAt.values()];
  return { firstMs: Math.min(...requests) - programmedAt, lastMs: Math.max(...requests) - programmedAt };
}

/** Medians of RUNS starts of a 1 x 10 HTTP_GET configuration, every real server due at once (warmup 0). */
export async function firstChecks(dir: string): Promise<FirstChecks> {
  await buildModelBundle();
  const runs: FirstChecks[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await once(dir, run));
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { firstMs: median(runs.map((r) => r.firstMs)), lastMs: median(runs.map((r) => r.lastMs)) };
}
