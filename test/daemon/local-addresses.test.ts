import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it, onTestFinished } from 'vitest';

// ha_suspend's view of the host's addresses, in a namespace of its own: more address notifications
// than the rtnetlink socket holds (ENOBUFS) must neither end the process nor leave the view stale.

const run = promisify(execFile);
const WATCHER = fileURLToPath(new URL('./local-addresses-watcher.ts', import.meta.url));
const ADDRESSES = 3000;
const addressOf = (i: number) => `10.90.${i >> 8}.${i & 255}`;

it('survives an overrun of its address notifications and then knows every address added meanwhile', async () => {
  const ns = `la-${process.pid}`;
  await run('ip', ['netns', 'add', ns]);
  onTestFinished(() => run('ip', ['netns', 'del', ns]).then(() => undefined));
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const batch = join(mkdtempSync(join(tmpdir(), 'la-')), 'add.batch');
  writeFileSync(batch, Array.from({ length: ADDRESSES }, (_, i) => `addr add ${addressOf(i)}/32 dev lo\n`).join(''));

  const last = addressOf(ADDRESSES - 1);
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', WATCHER, batch, last], { timeout: 20_000 });
  const lines = stdout.trim().split('\n');
  expect(lines).toContain('lost ENOBUFS');
  expect(lines).toContain(`changed +${ADDRESSES} -0`);
  expect(lines.at(-1)).toBe(`knows ${last}`);
}, 30_000);
