import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Files an operator should never feed lvsd, fed to `lvsd -t` as they would be at start or reload
// (both parse with the same code): each gets a clear verdict, never a crash or a hang. Time and
// peak memory are printed for the record (GNU time), not asserted.
const LVSD = fileURLToPath(new URL('../../bin/lvsd', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lvsd-bad-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  readonly code: number | null;
  readonly stderr: string;
  readonly stdout: string;
  readonly usage: string;
}

/** `lvsd -t -f FILE` under GNU time, whose last stderr line is `SECONDS s PEAK_KB KB`. */
function check(file: string): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile('/usr/bin/time', ['-f', '%e s %M KB', LVSD, '-t', '-f', file], { timeout: 120_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const lines = stderr.trimEnd().split('\n');
      const usage = lines.pop() ?? '';
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr: lines.filter((line) => !line.startsWith('Command exited')).join('\n'), usage });
    });
  });
}

describe('lvsd -t on files that are not what they should be', () => {
  it('rejects a file that includes itself, naming the include', async () => {
    const file = join(dir, 'self.conf');
    writeFileSync(file, `include ${file}\nvirtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 10.1.0.1 80 { }\n}\n`);
    const outcome = await check(file);
    console.log(`include loop: ${outcome.usage}`);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(`${file}:1:9: error: include loop: ${file} is already being read`);
  });

  it('rejects 100 MB of random bytes at the first NUL byte, without reading it as configuration', async () => {
    const file = join(dir, 'random.conf');
    const fd = openSync(file, 'w');
    const chunk = Buffer.alloc(1 << 20);
    for (let written = 0; written < 100; written++) writeSync(fd, randomFillSync(chunk));
    closeSync(fd);
    const outcome = await check(file);
    console.log(`100 MB of random bytes: ${outcome.usage}`);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/random\.conf:\d+:\d+: error: not a configuration file: it holds binary data \(a NUL byte\)\n.*configuration rejected: 1 error\(s\), 0 warning\(s\)$/);
  }, 60_000);

  it('accepts 100,000 real servers in one virtual server and counts them', async () => {
    const file = join(dir, 'many.conf');
    const realServers = Array.from({ length: 100_000 }, (_, i) => `  real_server 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} 80 { weight 1 }\n`);
    writeFileSync(file, `virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n${realServers.join('')}}\n`);
    const outcome = await check(file);
    console.log(`100,000 real servers: ${outcome.usage}`);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout + outcome.stderr).toContain('configuration OK: 1 virtual server(s), 100000 real server(s), 0 vrrp instance(s), 0 warning(s)');
  }, 60_000);
});
