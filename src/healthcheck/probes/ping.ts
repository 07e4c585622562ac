import { isIPv6 } from 'node:net';
import type { ProbeResult } from '../state.ts';
import { rawSocket as raw, type RawSocket } from '../../util/raw-socket.ts';
import { ProbeClock, describeError, startDeadline, type Deadline } from './result.ts';

export interface PingProbeOptions {
  readonly host: string;
  readonly timeoutMs: number;
}


const ICMP_ECHO_REQUEST = 8;
const ICMP_ECHO_REPLY = 0;
const ICMP6_ECHO_REQUEST = 128;
const ICMP6_ECHO_REPLY = 129;

interface Outstanding {
  readonly host: string;
  readonly resolve: (result: ProbeResult) => void;
  readonly clock: ProbeClock;
  readonly deadline: Deadline;
}

/**
 * PING_CHECK: ICMP / ICMPv6 echo over one raw socket per address family,
 * shared by all pings and matched by identifier and sequence number.
 */
export class Pinger {
  private readonly identifier: number;
  private sequence = 0;
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly sockets = new Map<'v4' | 'v6', RawSocket>();

  // Only needs to differ from other pingers on the host; node:crypto's loading would hold up the first ping.
  constructor(identifier = Math.floor(Math.random() * 0x10000)) {
    this.identifier = identifier;
  }

  ping(options: PingProbeOptions): Promise<ProbeResult> {
    const clock = new ProbeClock();
    const v6 = isIPv6(options.host);
    let socket: RawSocket;
    try {
      socket = this.socketFor(v6 ? 'v6' : 'v4');
    } catch (error) {
      return Promise.resolve(clock.fail(`cannot open raw ICMP socket: ${describeError(error)}`));
    }
    const sequence = this.nextFreeSequence();
    if (sequence === null) return Promise.resolve(clock.fail('too many pings outstanding'));
    const packet = echoRequest(v6, this.identifier, sequence);
    return new Promise((resolve) => {
      const deadline = startDeadline(options.timeoutMs, () => {
        this.settle(sequence, clock.fail(`no echo reply within ${options.timeoutMs} ms`));
      });
      this.outstanding.set(sequence, { host: options.host, resolve, clock, deadline });
      socket.send(packet, 0, packet.length, options.host, null, (error) => {
        if (error) this.settle(sequence, clock.fail(describeError(error)));
      });
    });
  }

  close(): void {
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
    for (const sequence of [...this.outstanding.keys()]) {
      const pending = this.outstanding.get(sequence);
      if (pending) this.settle(sequence, pending.clock.fail('pinger closed'));
    }
  }

  private settle(sequence: number, result: ProbeResult): void {
    const pending = this.outstanding.get(sequence);
    if (pending === undefined) return;
    this.outstanding.delete(sequence);
    pending.deadline.cancel();
    pending.resolve(result);
  }

  private nextFreeSequence(): number | null {
    for (let tries = 0; tries < 0x10000; tries++) {
      this.sequence = (this.sequence + 1) & 0xffff;
      if (!this.outstanding.has(this.sequence)) return this.sequence;
    }
    return null;
  }

  private socketFor(family: 'v4' | 'v6'): RawSocket {
    const existing = this.sockets.get(family);
    if (existing) return existing;
    const socket = raw.createSocket(
      family === 'v6'
        ? { protocol: raw.Protocol.ICMPv6, addressFamily: raw.AddressFamily.IPv6 }
        : { protocol: raw.Protocol.ICMP, addressFamily: raw.AddressFamily.IPv4 },
    );
    socket.on('message', (buffer, source) => this.onMessage(family, buffer, source));
    socket.on('error', () => this.sockets.delete(family));
    this.sockets.set(family, socket);
    return socket;
  }

  private onMessage(family: 'v4' | 'v6', buffer: Buffer, source: string): void {
    // IPv4 raw sockets deliver the IP header, ICMPv6 ones do not.
    const offset = family === 'v4' ? ((buffer[0] ?? 0) & 0x0f) * 4 : 0;
    if (buffer.length < offset + 8) return;
    const type = buffer[offset];
    if (type !== (family === 'v4' ? ICMP_ECHO_REPLY : ICMP6_ECHO_REPLY)) return;
    if (buffer.readUInt16BE(offset + 4) !== this.identifier) return;
    const sequence = buffer.readUInt16BE(offset + 6);
    const pending = this.outstanding.get(sequence);
    if (pending === undefined || pending.host !== source) return;
    this.settle(sequence, pending.clock.ok());
  }
}

function echoRequest(v6: boolean, identifier: number, sequence: number): Buffer {
  const packet = Buffer.alloc(8 + 16);
  packet[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO_REQUEST;
  packet.writeUInt16BE(identifier, 4);
  packet.writeUInt16BE(sequence, 6);
  packet.write('lvsd-ping-check!', 8, 'ascii');
  // The kernel fills in the ICMPv6 checksum (it covers a pseudo-header we do not see).
  if (!v6) raw.writeChecksum(packet, 2, raw.createChecksum(packet));
  return packet;
}
