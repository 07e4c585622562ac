// BIRD's control socket, read for the state of its BGP sessions (status only: nothing lvsd
// announces depends on it). BIRD's text protocol: each reply line starts with a four-digit code,
// followed by '-' when more lines of the reply follow, or ' ' on its last line; a line starting
// with a space continues the code before it. 0000 ends a successful reply, 8xxx and 9xxx are errors.
import { createConnection } from 'node:net';

export interface BirdProtocol {
  readonly name: string;
  readonly proto: string;
  readonly state: string;
  /** As BIRD prints it, in its `timeformat protocol`. */
  readonly since: string;
  readonly info: string;
}

/** The time forms BIRD prints: `iso long` (with `ms`), or `iso short` (today's time of day). */
const SINCE = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?|\d{2}:\d{2}:\d{2}(?:\.\d+)?|\S+)\s*(.*)$/;
const ROW = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/;

/** The rows of a `show protocols` reply (its header line left out). */
export function parseShowProtocols(reply: string): BirdProtocol[] {
  const rows: BirdProtocol[] = [];
  let rowsFollow = false;
  for (const line of reply.split('\n')) {
    const code = /^(\d{4})[- ]/.exec(line)?.[1];
    // 1002 is a row of the table; a continuation line (leading space) after it is another row.
    if (code !== undefined) rowsFollow = code === '1002';
    const text = code === '1002' ? line.slice(5) : code === undefined && rowsFollow && line.startsWith(' ') ? line.slice(1) : undefined;
    if (text === undefined) continue;
    const row = ROW.exec(text.trimEnd());
    if (!row) continue;
    const [, name, proto, , state, rest] = row as unknown as [string, string, string, string, string, string];
    const [, since, info] = SINCE.exec(rest) as unknown as [string, string, string];
    rows.push({ name, proto, state, since, info: info.trim() });
  }
  return rows;
}

/**
 * `since` as a moment: BIRD prints local time; a time of day alone (`iso short`) is today's,
 * or yesterday's when that would be in the future.
 */
export function sinceMs(since: string, nowMs: number): number | undefined {
  const full = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(since);
  if (full) {
    const [, year, month, day, hours, minutes, seconds] = full.map(Number) as [number, number, number, number, number, number, number];
    return new Date(year, month - 1, day, hours, minutes, 0, 0).getTime() + seconds * 1000;
  }
  const clock = /^(\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(since);
  if (!clock) return undefined;
  const [, hours, minutes, seconds] = clock.map(Number) as [number, number, number, number];
  const today = new Date(nowMs);
  const at = new Date(today.getFullYear(), today.getMonth(), today.getDate(), hours, minutes, 0, 0).getTime() + seconds * 1000;
  return at > nowMs ? at - 86_400_000 : at;
}

/** Sends one command and resolves with BIRD's whole reply; rejects on an error code, a closed socket or the timeout. */
export function birdCommand(socketPath: string, command: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let reply = '';
    let greeted = false;
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no reply from BIRD within ${timeoutMs} ms`)));
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('BIRD closed its control socket')));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (!greeted) {
        const end = reply.indexOf('\n');
        if (end < 0) return;
        greeted = true;
        reply = reply.slice(end + 1);
        socket.write(`${command}\n`);
      }
      const last = /(?:^|\n)(\d{4}) ([^\n]*)\n$/.exec(reply);
      if (!last) return;
      socket.removeAllListeners('close');
      socket.end();
      if (last[1]!.startsWith('8') || last[1]!.startsWith('9')) reject(new Error(`BIRD: ${last[2]}`));
      else resolve(reply);
    });
  });
}
