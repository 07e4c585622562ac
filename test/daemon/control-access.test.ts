import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { serveControl } from '../../src/daemon/control.ts';

const LVSCTL = fileURLToPath(new URL('../../bin/lvsctl', import.meta.url));
/** nobody: a user with neither root's rights nor the socket's group. */
const NOBODY = 65534;

function asNobody(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(LVSCTL, args, { uid: NOBODY, gid: NOBODY, timeout: 20_000 }, (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }));
  });
}

const servers: Array<{ close(): void }> = [];
afterEach(() => servers.splice(0).forEach((server) => server.close()));

describe('the control socket', () => {
  it('lives in a directory others cannot enter, and refuses every command from a user outside its group', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'lvsd-control-'));
    chmodSync(parent, 0o755);
    const handled: string[] = [];
    const socket = join(parent, 'run', 'lvsd.sock');
    servers.push(await serveControl(socket, async (request) => void handled.push(request.command)));
    expect(statSync(join(parent, 'run')).mode & 0o777).toBe(0o750);
    expect(statSync(socket).mode & 0o777).toBe(0o660);

    // Even with the directory opened up, the socket itself refuses a connection from outside its group.
    chmodSync(join(parent, 'run'), 0o755);
    for (const command of [['status'], ['status', '--json'], ['reload'], ['drain', '10.1.0.1'], ['undrain', '10.1.0.1']]) {
      const { code, stderr } = await asNobody([...command, '--socket', socket]);
      expect(code, command.join(' ')).toBe(1);
      // Refused at the socket (the native status client words it as strerror does, the bundle as node does).
      expect([`lvsctl: cannot connect to ${socket}: Permission denied\n`, `lvsctl: connect EACCES ${socket}\n`], command.join(' ')).toContain(stderr);
    }
    expect(handled).toEqual([]);
  });
});
