/**
 * Runs inside the kernel VM (in the job's own network namespace) and prints one JSON report;
 * ipvs.vm.test.ts asserts on it. Our client programs this namespace's IPVS table; ipvsadm -R
 * of the same rules programs a second, fresh namespace; both are read back with ipvsadm.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { IpvsClient, ipvsAvailable, sync, type SyncReport } from '../../src/ipvs/client.ts';
import { diff, ownershipOf, ownsEverything, type Ownership } from '../../src/ipvs/diff.ts';
import { formatRules } from '../../src/ipvs/ipvsadm.ts';
import { normalizeTable, type IpvsTable, type SyncDaemon } from '../../src/ipvs/model.ts';
import type { ConformanceReport, Snapshot, StepReport } from './conformance-report.ts';
import { coverageTable, dest, SCHEDULERS, schedulerTable, service, tcp4 } from './tables.ts';

const REFERENCE_NS = `lvsd-ipvs4-ref-${process.pid}`;
const EXEC_TIMEOUT_MS = 20_000;

function run(argv: string[], input?: string): string {
  const [file, ...args] = argv;
  return execFileSync(file as string, args, { input, timeout: EXEC_TIMEOUT_MS, encoding: 'utf8' });
}
const inReference = (argv: string[], input?: string): string => run(['ip', 'netns', 'exec', REFERENCE_NS, ...argv], input);

/** One rule a line, so order (kernel hash buckets, list order) does not matter. */
const sortedLines = (text: string): string[] => text.split('\n').filter(Boolean).sort();

function snapshot(exec: (argv: string[]) => string): Snapshot {
  return {
    save: sortedLines(exec(['ipvsadm', '-S', '-n'])),
    thresholds: sortedLines(exec(['ipvsadm', '-L', '-n', '--thresholds'])),
  };
}

function referenceSnapshot(table: IpvsTable): Snapshot {
  inReference(['ipvsadm', '-C']);
  inReference(['ipvsadm', '-R'], formatRules(table));
  return snapshot(inReference);
}

const stripStats = (table: IpvsTable): IpvsTable => normalizeTable(table);

async function step(client: IpvsClient, name: string, wanted: IpvsTable, owned: Ownership, expectedOps: number | null): Promise<StepReport> {
  const before = await client.dump();
  const ops = diff(before, wanted, owned);
  const sentBefore = client.requestsSent;
  const results = await client.apply(ops);
  const requests = client.requestsSent - sentBefore;
  const after = await client.dump();
  return {
    name,
    expectedOps,
    ops: ops.map((o) => o.op),
    requests,
    failed: results.flatMap((r) => (r.ok ? [] : [r.error.message])),
    remaining: diff(after, wanted, owned).length,
    ours: snapshot(run),
    reference: referenceSnapshot(wanted),
    dumpEqualsWanted: JSON.stringify(stripStats(after)) === JSON.stringify(stripStats(wanted)),
  };
}

function mapService(table: IpvsTable, index: number, change: (s: IpvsTable[number]) => IpvsTable[number]): IpvsTable {
  return table.map((s, i) => (i === index ? change(s) : s));
}

async function main(): Promise<void> {
  const available = await ipvsAvailable();
  const schedulers = SCHEDULERS.filter((s) => existsSync(`/sys/module/ip_vs_${s}`));
  run(['ip', 'netns', 'add', REFERENCE_NS]);
  // IPVS refuses destinations (EINVAL, "not unicast") while the namespace's loopback is down.
  run(['ip', '-n', REFERENCE_NS, 'link', 'set', 'lo', 'up']);
  const client = await IpvsClient.open();
  const steps: StepReport[] = [];
  let preexisting: ConformanceReport['preexisting'] | undefined;
  let badEntry: ConformanceReport['badEntry'] | undefined;
  let syncDaemon: ConformanceReport['syncDaemon'] | undefined;
  try {
    // Every scheduler, then every kind of entry, each from an empty table.
    steps.push(await step(client, 'schedulers from empty', schedulerTable(schedulers), ownsEverything, null));
    await client.apply([{ op: 'flush' }]);
    steps.push(await step(client, 'coverage from empty', coverageTable, ownsEverything, null));

    // Mutations: each costs exactly the operations it names.
    let table = coverageTable;
    const mutate = async (name: string, next: IpvsTable, expectedOps: number): Promise<void> => {
      steps.push(await step(client, name, next, ownsEverything, expectedOps));
      table = next;
    };
    const web = 0;
    await mutate('one weight', mapService(table, web, (s) => ({ ...s, dests: s.dests.map((d, i) => (i === 0 ? { ...d, weight: 9 } : d)) })), 1);
    await mutate('scheduler', mapService(table, web, (s) => ({ ...s, scheduler: 'sh', schedulerFlags: [1] })), 1);
    await mutate('persistence', mapService(table, web, (s) => ({ ...s, persistence: { timeout: 120, prefix: 24 } })), 1);
    await mutate('one-packet off', mapService(table, 1, (s) => ({ ...s, onePacket: false })), 1);
    // (ipvsadm forces a direct-routing destination's port to the service's, so change one whose port matches.)
    await mutate('forwarding method', mapService(table, web, (s) => ({ ...s, dests: s.dests.map((d, i) => (i === 0 ? { ...d, fwd: 'masq' as const } : d)) })), 1);
    await mutate('tunnel settings', mapService(table, web, (s) => ({ ...s, dests: s.dests.map((d, i) => (i === 3 ? { ...d, tunnel: { type: 'gue' as const, port: 7000, checksum: 'nocsum' as const } } : d)) })), 1);
    await mutate('add a service with two destinations', [...table, service(tcp4('10.0.0.9', 8443), { scheduler: 'rr', dests: [dest('192.168.9.1', 8443), dest('192.168.9.2', 8443)] })], 3);
    await mutate('remove a destination', mapService(table, web, (s) => ({ ...s, dests: s.dests.slice(1) })), 1);
    await mutate('remove a service', table.slice(0, -1), 1);
    await mutate(
      'several at once',
      mapService(
        mapService(table, 1, (s) => ({ ...s, scheduler: 'wrr', schedulerFlags: [] })),
        4,
        (s) => ({ ...s, dests: [...s.dests.map((d) => ({ ...d, weight: d.weight + 1 })), dest('2001:db8::d', 443)] }),
      ),
      1 + 2 + 1,
    );
    await mutate('nothing changes', table, 0);

    // Pre-existing entries: an unrelated service survives, an owned one is corrected in place.
    await client.apply([{ op: 'flush' }]);
    const owned = service(tcp4('10.0.0.1', 80), { scheduler: 'rr', dests: [dest('192.168.0.1', 80, { weight: 4 })] });
    run(['ipvsadm', '-A', '-t', '10.7.7.7:25', '-s', 'lc']);
    run(['ipvsadm', '-a', '-t', '10.7.7.7:25', '-r', '192.168.7.7:25', '-m', '-w', '2']);
    run(['ipvsadm', '-A', '-t', '10.0.0.1:80', '-s', 'wlc', '-p', '60']);
    run(['ipvsadm', '-a', '-t', '10.0.0.1:80', '-r', '192.168.0.1:80', '-g', '-w', '1']);
    const rulesOf = (target: string): string[] => sortedLines(run(['ipvsadm', '-S', '-n'])).filter((l) => l.includes(` ${target} `));
    const unrelatedBefore = rulesOf('-t 10.7.7.7:25');
    const synced: SyncReport = await sync(client, [owned], ownershipOf([owned]));
    preexisting = {
      ops: synced.ops.map((o) => o.op),
      failed: synced.failed.map((e) => e.message),
      remaining: synced.remaining.length,
      unrelatedBefore,
      unrelatedAfter: rulesOf('-t 10.7.7.7:25'),
      ours: rulesOf('-t 10.0.0.1:80'),
      expected: sortedLines(formatRules([owned])),
    };

    // One bad entry does not block the others.
    await client.apply([{ op: 'flush' }]);
    const good = [service(tcp4('10.0.0.1', 80), { dests: [dest('192.168.0.1', 80)] }), service(tcp4('10.0.0.3', 80), { dests: [dest('192.168.0.3', 80)] })];
    const bad = service(tcp4('10.0.0.2', 80), { scheduler: 'nosuchsched', dests: [dest('192.168.0.2', 80)] });
    const results = await client.apply(diff([], [good[0]!, bad, good[1]!], ownsEverything));
    badEntry = {
      results: results.map((r) => (r.ok ? 'ok' : { code: r.error.code, message: r.error.message })),
      table: sortedLines(run(['ipvsadm', '-S', '-n'])),
      expected: sortedLines(formatRules(good)),
    };

    // Sync daemon (keepalived's lvs_sync_daemon): started, read back by us and by ipvsadm, stopped.
    const master: SyncDaemon = { state: 'master', interface: 'lo', syncId: 7, maxLength: 1400, group: '224.0.0.81', port: 8848, ttl: 2 };
    const started = await client.apply([{ op: 'start-daemon', daemon: master }]);
    const running = await client.getDaemons();
    const ipvsadmView = run(['ipvsadm', '-L', '-n', '--daemon']);
    const stopped = await client.apply([{ op: 'stop-daemon', state: 'master' }]);
    syncDaemon = {
      started: started.map((r) => (r.ok ? 'ok' : r.error.message)),
      running,
      expected: master,
      ipvsadmView,
      stopped: stopped.map((r) => (r.ok ? 'ok' : r.error.message)),
      after: await client.getDaemons(),
    };
  } finally {
    client.close();
    run(['ip', 'netns', 'delete', REFERENCE_NS]);
  }
  const report: ConformanceReport = { available, schedulers, steps, preexisting: preexisting!, badEntry: badEntry!, syncDaemon: syncDaemon! };
  process.stdout.write(JSON.stringify(report));
}

await main();
