// Reloads while the speaker looks at its interfaces (once a second): both read the host's links and
// addresses over one rtnetlink socket, where a second dump started before the first is read out
// fails (EBUSY). Neither a reload nor a look may fail for it, nor the speaker end.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { labForTest, run, sleep, V4 } from './lab.ts';
import { speakerInstance } from './peers.ts';

/** Reloads back to back for this long: the speaker reads its links and addresses through several looks. */
const RELOADING_MS = 3500;
/** On lo: they make every address dump long enough for another to start meanwhile. */
const EXTRA_ADDRESSES = 2000;
const reloads = (log: string) => log.split('"msg":"reloaded"').length - 1;

it('reloads back to back across link checks: no reload or look fails, the speaker runs on', async (context) => {
  const lab = await labForTest(context);
  const batch = join(lab.dir, 'addresses.batch');
  writeFileSync(batch, Array.from({ length: EXTRA_ADDRESSES }, (_, i) => `addr add 10.91.${i >> 8}.${i & 255}/32 dev lo\n`).join(''));
  await run('ip', ['-n', lab.a.ns, '-batch', batch]);
  // track_src_ip: every reload and every look reads the addresses too.
  const instance = { ...speakerInstance({ name: 'VI', vrid: 61, version: 2, priority: 100, advertIntervalMs: 1000, vip: V4.vip, vipPrefix: V4.vipPrefix }), trackSourceAddress: true, sourceAddress: lab.a.ipv4 };
  const speaker = await lab.startSpeaker(lab.a, 'lvsd', [instance]);
  let exited = false;
  speaker.on('exit', () => (exited = true));
  for (const start = Date.now(); Date.now() - start < RELOADING_MS && !exited; ) {
    lab.reloadSpeaker(speaker, 'lvsd', [instance]);
    await sleep(2);
  }
  await sleep(500);
  const before = reloads(lab.log('lvsd'));
  lab.reloadSpeaker(speaker, 'lvsd', [{ ...instance, priority: 101 }]);
  expect(await waitForMoreReloads(() => lab.log('lvsd'), before)).toBe(true);
  expect(exited).toBe(false);
  expect(lab.log('lvsd')).not.toMatch(/EBUSY|cannot read interface state|cannot look at the interfaces/);
}, 30_000);

async function waitForMoreReloads(log: () => string, before: number): Promise<boolean> {
  for (let waited = 0; waited < 5000; waited += 50) {
    if (reloads(log()) > before) return true;
    await sleep(50);
  }
  return false;
}
