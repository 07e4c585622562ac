import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What CI does with the Debian package: build it, install it as an operator would, use it, purge it.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLE = join(ROOT, 'examples/keepalived.conf');
const UNIT = '/lib/systemd/system/lvsd.service';
const run = promisify(execFile);
const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
// Another apt or dpkg on the machine holds the lock for a while; wait for it rather than fail.
const APT_LOCK_WAIT = ['-o', 'DPkg::Lock::Timeout=120'];

/** Runs a command to its end, also when it exits non-zero (lintian does, to report its tags). */
function outcome(file: string, args: string[], timeout: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

const installed = (): boolean => existsSync('/var/lib/dpkg/info/lvsd.list');
const skipReason =
  process.getuid?.() !== 0 ? 'installing a package needs root'
  : !existsSync('/usr/bin/dpkg-deb') || !existsSync('/usr/bin/apt-get') ? 'no dpkg-deb or apt-get: not a Debian system'
  : installed() ? 'an lvsd package is installed already: this test would replace it, then purge it'
  : undefined;

describe.skipIf(skipReason !== undefined)('the Debian package built by scripts/package', () => {
  const out = mkdtempSync(join(tmpdir(), 'lvsd-package-'));
  let deb = '';

  beforeAll(async () => {
    deb = (await run(join(ROOT, 'scripts/package'), [out], { timeout: 300_000 })).stdout.trim();
    expect(deb).toMatch(/\/lvsd_\d+\.\d+\.\d+_amd64\.deb$/);
    // Its dependencies are on any Debian 12; no recommends, so that nothing is downloaded.
    await run('apt-get', ['install', '-y', '--no-install-recommends', ...APT_LOCK_WAIT, deb], { env: APT_ENV, timeout: 300_000 });
  }, 600_000);

  afterAll(async () => {
    if (installed()) await run('apt-get', ['purge', '-y', ...APT_LOCK_WAIT, 'lvsd'], { env: APT_ENV, timeout: 300_000 });
    rmSync(out, { recursive: true, force: true });
    expect(installed()).toBe(false);
    expect(existsSync('/usr/lib/lvsd')).toBe(false);
  }, 300_000);

  it('lvsd -t accepts a sample configuration, on the node the package ships', async () => {
    const { stdout } = await run('/usr/sbin/lvsd', ['-t', '-f', SAMPLE], { timeout: 60_000 });
    expect(stdout).toContain('configuration OK');
    expect((await run('/usr/sbin/lvsd', ['--version'], { timeout: 60_000 })).stdout).toMatch(/^lvsd \d+\.\d+\.\d+/);
    expect((await run('/usr/sbin/lvsctl', ['--help'], { timeout: 60_000 })).stdout).toContain('Usage: lvsctl');
  }, 120_000);

  it('ships every native addon the daemon loads, built for that node', async () => {
    // The paths the bundle in dist/cli loads them by (src/vrrp/link-layer.ts, src/healthcheck/probe-engine.ts, the build's netlink plugin).
    const load = `const { createRequire } = require('node:module');
      const r = createRequire('/usr/lib/lvsd/dist/cli/lvsd.cjs');
      r('raw-socket');
      r('../../native/vrrp/build/Release/vrrp_packet.node');
      r('../../native/probe/build/Release/probe_engine.node');
      r(require('node:path').join(r.resolve('netlink/package.json'), '../prebuilds/linux-x64/node.napi.node'));
      console.log('loaded');`;
    expect((await run('/usr/lib/lvsd/node', ['-e', load], { timeout: 60_000 })).stdout).toBe('loaded\n');
  }, 120_000);

  it('installs a unit that systemd-analyze verify passes, reading keepalived.conf and reloading with SIGHUP', async () => {
    // Works offline, without systemd as PID 1; it checks the commands and the man pages the unit names.
    const verify = await outcome('systemd-analyze', ['verify', UNIT], 60_000);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    const unit = readFileSync(UNIT, 'utf8');
    expect(unit).toContain('ExecStart=/usr/sbin/lvsd -f /etc/keepalived/keepalived.conf');
    expect(unit).toContain('ExecReload=/bin/kill -HUP $MAINPID');
    expect(unit).toContain('Documentation=man:lvsd(8) man:lvsctl(8)');
  }, 120_000);

  it('gives lintian no error to report', async () => {
    // Warnings are allowed: the shipped node is not PIE, its license names the FSF's old address, and
    // bin/lvsd and bin/lvsctl.cjs have a #!/usr/bin/env node the package does not use.
    const { code, stdout } = await outcome('lintian', ['--tag-display-limit', '0', deb], 300_000);
    expect(stdout.split('\n').filter((line) => line.startsWith('E:'))).toEqual([]);
    expect(code).toBe(0);
  }, 300_000);
});
if (skipReason !== undefined) it.skip(`the Debian package: ${skipReason}`, () => undefined);
