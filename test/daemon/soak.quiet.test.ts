// Issue 16's soak, short: 2,000 real servers whose listeners flap at random (refusing, or for HTTP
// also hanging) for 20 s while lvsd checks them, then are held still until the checks settle. The
// IPVS table must then be what the listeners' final states require, and lvsd must hold no more file
// descriptors than early in the run. The full ten minutes, with RSS and queues judged too, is
// `npm run bench -- soak`. lvsd runs over the model of IPVS, as this host's kernel has none
// (test/daemon/soak.ts); in the quiet project so that the parallel unit files do not starve its
// checks of the CPU.
import { describe, expect, it } from 'vitest';
import { runSoak, verdicts } from './soak.ts';

/** Besides probes' connections, counted apart; a few more may be the scrape itself. */
const FD_TOLERANCE = 4;

describe('lvsd under 2,000 flapping real servers (a short soak)', () => {
  it('ends with the table the listeners\' final states require, without holding more file descriptors', { timeout: 110_000 }, async () => {
    const report = await runSoak({
      realServers: 2000,
      flapSeconds: 20,
      togglesPerSecond: 40,
      seed: 16,
      sampleEveryMs: 2000,
      baselineAfterS: 5,
      log: () => {},
    });
    const [, fds, , table] = verdicts(report, FD_TOLERANCE);
    console.log([...verdicts(report, FD_TOLERANCE).map((v) => `${v.ok ? 'ok  ' : 'FAIL'} ${v.line}`), `${report.toggles} listener toggles`].join('\n'));

    expect(report.toggles).toBeGreaterThan(0);
    expect(report.table.missing).toEqual([]);
    expect(report.table.unexpected).toEqual([]);
    expect(table!.ok).toBe(true);
    expect(report.statusDisagreements).toEqual([]);
    expect(fds!.ok, fds!.line).toBe(true);
    expect(report.lvsdExit).toBe(0);
  });
});
