// tcpdump on a lab node's link, parsed into the packets the VRRP keyword tests count and time:
// gratuitous ARPs (or unsolicited NAs) for a VIP and VRRP adverts with their IPv4 TTL.
import { spawn } from 'node:child_process';
import { LAB_INTERFACE, type Node } from './lab.ts';

export interface CapturedPacket {
  /** Seconds, as tcpdump -tt prints them. */
  at: number;
  sourceMac: string;
  /** 'garp' stands for an IPv6 VIP's unsolicited neighbour advertisement too. */
  kind: 'garp' | 'vrrp' | 'other';
  /** IPv4 TTL (IPv6 hop limit) of a VRRP advert. */
  ttl: number | undefined;
  /** VRRP advert priority. */
  priority: number | undefined;
  sourceIp: string | undefined;
  destinationIp: string | undefined;
}

export interface Capture {
  /** What has been captured so far. */
  packets(): CapturedPacket[];
  stop(): Promise<CapturedPacket[]>;
}

const PACKET_START = /^(\d+\.\d+) ([0-9a-f:]{17}) > /;

/** Starts tcpdump in `node`'s namespace (on `dev`) for at most `maxSeconds`, and resolves once it listens. */
export async function startCapture(node: Node, vip: string, maxSeconds: number, dev = LAB_INTERFACE): Promise<Capture> {
  const filter = `(arp and arp[14:4] == arp[24:4]) or proto 112 or (icmp6 and ip6[40] == 136)`;
  const child = spawn('ip', ['netns', 'exec', node.ns, 'timeout', String(maxSeconds), 'tcpdump', '-i', dev, '-n', '-tt', '-e', '-v', '-l', filter], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  // 'close', not 'exit': the last lines tcpdump flushes as it stops may still be in the pipe at exit.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) resolve();
    });
    setTimeout(resolve, 3000);
  });
  const packets = () => parse(text, vip);
  return {
    packets,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      return packets();
    },
  };
}

/** tcpdump -v prints some packets over two lines; a line starting with a timestamp starts a packet. */
function parse(text: string, vip: string): CapturedPacket[] {
  const records: string[] = [];
  for (const line of text.split('\n')) {
    if (PACKET_START.test(line)) records.push(line);
    else if (records.length > 0 && line.trim() !== '') records[records.length - 1] += ` ${line.trim()}`;
  }
  return records.map((record) => {
    const [, at = '0', sourceMac = ''] = PACKET_START.exec(record) ?? [];
    const garp = (record.includes('ARP') && record.includes(`who-has ${vip} `) && record.includes(`tell ${vip}`)) || (record.includes('neighbor advertisement') && record.includes(`tgt is ${vip},`));
    const vrrp = record.includes('VRRP');
    return {
      at: Number(at),
      sourceMac,
      kind: garp ? 'garp' : vrrp ? 'vrrp' : 'other',
      ttl: vrrp ? Number(/(?:ttl|hlim) (\d+)/.exec(record)?.[1]) : undefined,
      priority: vrrp ? Number(/prio (\d+)/.exec(record)?.[1]) : undefined,
      sourceIp: vrrp ? /\) ([\da-f.:]+) > [\da-f.:]+: /.exec(record)?.[1] : undefined,
      destinationIp: vrrp ? /\) [\da-f.:]+ > ([\da-f.:]+): /.exec(record)?.[1] : undefined,
    };
  });
}

/** Groups packets closer than `gapMs` into bursts: their start times and sizes. */
export function bursts(packets: CapturedPacket[], gapMs = 300): { at: number; size: number }[] {
  const result: { at: number; size: number }[] = [];
  let last = -Infinity;
  for (const packet of packets) {
    if ((packet.at - last) * 1000 > gapMs || result.length === 0) result.push({ at: packet.at, size: 0 });
    result[result.length - 1]!.size++;
    last = packet.at;
  }
  return result;
}

export async function macOf(node: Node, run: (file: string, args: string[]) => Promise<string>): Promise<string> {
  const output = await run('ip', ['-n', node.ns, 'link', 'show', 'dev', LAB_INTERFACE]);
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(output)?.[1];
  if (!mac) throw new Error(`no MAC on ${node.ns}`);
  return mac;
}
