import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { drainCommand } from '../../src/cli/drain.ts';
import { serveControl, type ControlRequest } from '../../src/daemon/control.ts';
import type { DirectorStatus } from '../../src/daemon/status.ts';

// The kernel's connection counters cannot be made on this host (no IPVS): a control socket
// answers with the statuses a draining lvsd would give, counters falling as connections end.
const VS = 'TCP 10.0.0.1:80';
const statusWith = (active: number): DirectorStatus => ({
  version: '0', pid: 1, startedAt: new Date().toISOString(), configFile: 'k.conf', reloads: { count: 0, failed: 0 }, ipvs: { state: 'in use' }, vrrp: [], syncDaemons: [],
  virtualServers: [{
    name: VS, scheduler: 'rr', method: 'NAT', quorum: { up: true, needed: 1, alive: 1, changes: 0 },
    realServers: [{
      address: '10.1.0.2:80', up: true, configuredWeight: 1, ipvsWeight: 0, stateAgeMs: 0, stateChanges: 0, lastCheckLatencyMs: undefined, checkers: 0,
      drain: { state: 'draining', sinceMs: 0, connections: { activeConnections: active, inactiveConnections: 0, persistentConnections: 0 } },
    }],
  }],
});

const servers: Array<{ close(): void }> = [];
afterEach(() => servers.splice(0).forEach((server) => server.close()));

async function daemonAnswering(actives: number[]): Promise<string> {
  const socket = join(mkdtempSync(join(tmpdir(), 'lvsctl-drain-')), 's.sock');
  servers.push(
    await serveControl(socket, async (request: ControlRequest) => {
      if (request.command === 'drain') return [`10.1.0.2:80 of ${VS}`];
      return statusWith(actives.length > 1 ? actives.shift()! : actives[0]!);
    }),
  );
  return socket;
}

async function drain(args: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  const code = await drainCommand(args, out, err);
  return { code, out: String(out.read() ?? ''), err: String(err.read() ?? '') };
}

describe('lvsctl drain --wait', () => {
  it('returns 0 once the drained real server has no active connection left', async () => {
    const socket = await daemonAnswering([2, 1, 0]);
    expect(await drain(['10.1.0.2', '--wait', '--socket', socket])).toEqual({ code: 0, out: `draining 10.1.0.2:80 of ${VS}\nno active connections left\n`, err: '' });
  });

  it('returns 1 and names what is still active at its timeout', async () => {
    const socket = await daemonAnswering([3]);
    expect(await drain(['10.1.0.2', '--wait', '--timeout', '1', '--socket', socket])).toEqual({
      code: 1,
      out: `draining 10.1.0.2:80 of ${VS}\n`,
      err: `lvsctl: still active after 1 s: 10.1.0.2:80 of ${VS}: 3 active\n`,
    });
  });
});
