// kernel_rx_buf_size against keepalived 2.2.7 in the two-node lab (lab.ts): with the daemon
// stopped (SIGSTOP), adverts pile up in its VRRP socket until the receive buffer it asked for is full.
import { describe, expect, it } from 'vitest';
import { labForTest, run, sleep, type Lab } from './lab.ts';
import type { Implementation } from './peers.ts';
import { labInstanceConfig, startWithConfig } from './same-config.ts';

const SHARE = 20_000;
/** SO_RCVBUF doubles the size asked for; the queue stops once it holds that much, one packet over at most. */
const BUFFER = 2 * SHARE;
const ONE_PACKET_AT_MOST = 2048;

function config(vrid: number, priority: number, lines: string[]): string {
  return labInstanceConfig({ vrid, priority, vips: [`10.77.0.${vrid}/24`], lines });
}

/** The most bytes waiting in any raw socket of node a's processes (`ss` Recv-Q). */
async function queuedBytes(lab: Lab): Promise<number> {
  const lines = (await run('ip', ['netns', 'exec', lab.a.ns, 'ss', '-w', '-a', '-n', '-H'])).split('\n').filter((line) => line.trim() !== '');
  return Math.max(...lines.map((line) => Number(line.trim().split(/\s+/)[1])));
}

describe.concurrent('kernel_rx_buf_size, lvsd and keepalived 2.2.7 alike', { retry: 1 }, () => {
  it.for<Implementation>(['keepalived', 'lvsd'])(`%s, stopped, queues adverts in its VRRP socket up to the ${BUFFER} bytes that kernel_rx_buf_size ${SHARE} asks for`, async (implementation, context) => {
    const lab = await labForTest(context);
    const router = await startWithConfig(lab, lab.a, implementation, implementation, config(87, 100, ['kernel_rx_buf_size 20000']));
    expect(router.warnings).toEqual([]);
    await sleep(1500);
    const pids = (await run('ip', ['netns', 'pids', lab.a.ns])).split(/\s+/).filter(Boolean).map(Number);
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    try {
      // A keepalived for another VRID advertising 100 times a second: ~50 packets fill the buffer.
      await startWithConfig(lab, lab.b, 'keepalived', 'flood', config(88, 255, ['version 3', 'advert_int 0.01']));
      await sleep(4000);
      const queued = await queuedBytes(lab);
      expect(queued).toBeGreaterThanOrEqual(BUFFER);
      expect(queued).toBeLessThan(BUFFER + ONE_PACKET_AT_MOST);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
  });
});
