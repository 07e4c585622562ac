import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { birdCommand, parseShowProtocols, sinceMs } from '../../src/bgp/bird-control.ts';

// As BIRD 2.0.12 answered `show protocols` with `timeformat protocol iso long`, one session up and one dropped by BFD.
const REPLY = [
  '2002-Name       Proto      Table      State  Since         Info',
  '1002-device1    Device     ---        up     2026-12-08 00:05:12  ',
  ' kernel1    Kernel     master4    up     2026-12-08 00:05:12  ',
  ' d1         BGP        ---        start  2026-12-08 00:05:26  Idle          Error: BFD session down',
  ' d2         BGP        ---        up     2026-12-08 00:05:20.123  Established   ',
  '0000 ',
  '',
].join('\n');

describe("BIRD's control socket", () => {
  it('reads the protocols of a show protocols reply, with their state, since and info', () => {
    const rows = parseShowProtocols(REPLY);
    expect(rows.map((row) => row.name)).toEqual(['device1', 'kernel1', 'd1', 'd2']);
    expect(rows[2]).toEqual({ name: 'd1', proto: 'BGP', state: 'start', since: '2026-12-08 00:05:26', info: 'Idle          Error: BFD session down' });
    expect(rows[3]).toMatchObject({ state: 'up', since: '2026-12-08 00:05:20.123', info: 'Established' });
  });

  it('reads since in local time, a time of day alone as the last such moment', () => {
    const now = new Date(2026, 11, 8, 0, 10, 0).getTime();
    expect(sinceMs('2026-12-08 00:05:20.250', now)).toBe(new Date(2026, 11, 8, 0, 5, 20, 250).getTime());
    expect(sinceMs('00:05:20', now)).toBe(new Date(2026, 11, 8, 0, 5, 20).getTime());
    expect(sinceMs('23:59:00', now)).toBe(new Date(2026, 11, 7, 23, 59, 0).getTime());
    expect(sinceMs('2026-12-07', now)).toBeUndefined();
  });

  it('sends a command after the greeting and gets the whole reply, or BIRD\'s error', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'bird-')), 'bird.ctl');
    const server = createServer((socket) => {
      socket.write('0001 BIRD 2.0.12 ready.\n');
      socket.on('data', (line) => {
        if (line.toString() === 'show protocols\n') for (const part of [REPLY.slice(0, 100), REPLY.slice(100)]) socket.write(part);
        else socket.write('9001 syntax error, unexpected CF_SYM_UNDEFINED\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    onTestFinished(() => void server.close());
    expect(parseShowProtocols(await birdCommand(path, 'show protocols', 2000))).toHaveLength(4);
    await expect(birdCommand(path, 'show nonsense', 2000)).rejects.toThrow('BIRD: syntax error, unexpected CF_SYM_UNDEFINED');
    await expect(birdCommand(join(path, '..', 'absent.ctl'), 'show protocols', 2000)).rejects.toThrow('ENOENT');
  });
});
