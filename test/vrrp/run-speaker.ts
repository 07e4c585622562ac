// Runs lvsd's VRRP speaker alone, for interop tests and the failover benchmark:
//   ip netns exec NS node --import tsx test/vrrp/run-speaker.ts SPEC.json
// SPEC.json: { "instances": VrrpInstanceSpec[], "statusFile"?: string }.
// SIGHUP re-reads SPEC.json and reloads (handle.update). SIGTERM stops it the way lvsd does (priority 0 advert, VIPs removed); the status is written
// to statusFile every 100 ms so tests can read what `lvsctl status` would show.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import pino from 'pino';
import { startVrrp } from '../../src/vrrp/speaker.ts';
import type { VrrpInstanceSpec, VrrpSyncGroupSpec } from '../../src/vrrp/types.ts';

interface RunnerSpec {
  instances: VrrpInstanceSpec[];
  syncGroups?: VrrpSyncGroupSpec[];
  statusFile?: string;
}

const specPath = process.argv[2];
if (!specPath) throw new Error('usage: run-speaker.ts SPEC.json');
const readSpec = () => JSON.parse(readFileSync(specPath, 'utf8')) as RunnerSpec;
const spec = readSpec();
const logger = pino({ level: process.env.LVSD_LOG_LEVEL ?? 'info' }, pino.destination(2));
const handle = await startVrrp(spec.instances, { logger, syncGroups: spec.syncGroups ?? [] });

const statusFile = spec.statusFile;
const statusTimer = statusFile
  ? setInterval(() => {
      writeFileSync(`${statusFile}.tmp`, JSON.stringify(handle.status()));
      renameSync(`${statusFile}.tmp`, statusFile);
    }, 100)
  : undefined;

process.on('SIGHUP', () => {
  const next = readSpec();
  void handle.update(next.instances, next.syncGroups ?? []).then(() => logger.info('reloaded'));
});

process.on('SIGTERM', () => {
  clearInterval(statusTimer);
  void handle.stop().then(() => process.exit(0));
});
process.stdout.write('ready\n');
