// bench/soak: issue 16's long soak (test/daemon/soak.ts). 2,000 real servers whose listeners flap
// at random while lvsd checks them (TCP_CHECK and, for one in ten, HTTP_GET, whose listener goes
// down by refusing or by hanging; delay_loop 1-3 s) for ten minutes; then the listeners are held
// still until the checks have settled. It prints a
// sample every 10 s (lvsd's RSS and open file descriptors from /proc, its check lag, event-loop
// lag and queues from /metrics), then the four requirements, each with what was measured:
// RSS growth after the first minute at most 10 %, file descriptors flat, no queue grown, and the
// final IPVS table what the listeners' final states require. This host's kernel has no IPVS:
// lvsd runs over the model of IPVS (see test/daemon/soak.ts). The samples are also written to
// .cache/artifacts/soak-DATE.json.
//
//   npm run bench -- soak                   ten minutes (LVSD_SOAK_MINUTES=N or --minutes N for N)
//   options: --rs N (2000)  --toggles N (listeners stopped or started a second, 20)  --seed N
//            --sample-every S (10)
//
// A plain `npm run bench` leaves it out (bench/run.ts): it runs only when named.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../test/daemon/model-lvsd.ts';
import { runSoak, verdicts } from '../test/daemon/soak.ts';

/** Besides probes' connections, counted apart; a few more may be the scrape itself. */
const FD_TOLERANCE = 4;

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const minutes = Number(flag('--minutes') ?? process.env.LVSD_SOAK_MINUTES ?? 10);
const realServers = Number(flag('--rs') ?? 2000);
const togglesPerSecond = Number(flag('--toggles') ?? 20);
const seed = Number(flag('--seed') ?? Date.now() % 1_000_000);
const sampleEveryMs = 1000 * Number(flag('--sample-every') ?? 10);
if (!(minutes > 0 && minutes <= 120 && realServers > 0 && realServers <= 10_000 && togglesPerSecond >= 0 && togglesPerSecond <= 1000 && sampleEveryMs >= 1000)) {
  throw new Error('--minutes must be in (0, 120], --rs in 1..10000, --toggles in 0..1000, --sample-every at least 1');
}
const flapSeconds = minutes * 60;
console.log(`bench/soak: ${realServers} real servers, ${togglesPerSecond} listener toggles a second for ${minutes} min; load average before: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

// Ctrl-C ends the run through its clean-up: the namespace, lvsd and the listeners go.
const interrupted = new AbortController();
process.once('SIGINT', () => interrupted.abort());
const report = await runSoak({
  realServers,
  flapSeconds,
  togglesPerSecond,
  seed,
  sampleEveryMs,
  // The first minute; a shorter run takes its first quarter.
  baselineAfterS: Math.min(60, flapSeconds / 4),
  log: (line) => console.log(line),
  signal: interrupted.signal,
}).catch((error: unknown) => {
  if (!interrupted.signal.aborted) throw error;
  console.log('interrupted; cleaned up');
  process.exit(130);
});

const results = verdicts(report, FD_TOLERANCE);
console.log('');
for (const { ok, line } of results) console.log(`${ok ? 'ok  ' : 'FAIL'} ${line}`);
console.log(`     ${report.toggles} listener toggles (${report.failedListens} listens failed); lvsctl status disagrees with the listeners on ${report.statusDisagreements.length} real servers; lvsd exited with ${report.lvsdExit}`);
for (const line of report.statusDisagreements.slice(0, 5)) console.log(`     ${line}`);

const artifacts = join(REPO, '.cache/artifacts');
mkdirSync(artifacts, { recursive: true });
const file = join(artifacts, `soak-${new Date().toISOString().replaceAll(':', '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(`samples: ${file}`);
process.exit(results.every((r) => r.ok) && report.statusDisagreements.length === 0 && report.lvsdExit === 0 ? 0 : 1);
