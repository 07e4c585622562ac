import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { ProbeResult } from '../state.ts';
import { ProbeClock, describeError, startDeadline } from './result.ts';

export interface UdpTarget {
  readonly host: string;
  readonly port: number;
  readonly bindTo?: string;
  readonly bindPort?: number;
  readonly timeoutMs: number;
}

export type ReplyOutcome = { readonly accepted: true } | { readonly accepted: false; readonly reason: string };

interface Exchange {
  readonly payload: Buffer;
  /** undefined: no reply needed, up unless an ICMP error arrives within the timeout. */
  readonly judgeReply?: (reply: Buffer) => ReplyOutcome;
}

/**
 * Sends one datagram from a connected socket so that an ICMP port
 * unreachable comes back as ECONNREFUSED and counts as down.
 */
export function udpExchange(target: UdpTarget, exchange: Exchange): Promise<ProbeResult> {
  const clock = new ProbeClock();
  return new Promise((resolve) => {
    const socket = dgram.createSocket(isIPv6(target.host) ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      deadline.cancel();
      socket.close();
      resolve(result);
    };
    const deadline = startDeadline(target.timeoutMs, () => {
      finish(exchange.judgeReply === undefined ? clock.ok() : clock.fail(`no reply within ${target.timeoutMs} ms`));
    });
    socket.on('error', (error) => finish(clock.fail(describeError(error))));
    socket.on('message', (reply) => {
      if (exchange.judgeReply === undefined) return finish(clock.ok());
      const outcome = exchange.judgeReply(reply);
      finish(outcome.accepted ? clock.ok() : clock.fail(outcome.reason));
    });
    socket.bind({ port: target.bindPort ?? 0, ...(target.bindTo === undefined ? {} : { address: target.bindTo }) }, () => {
      socket.connect(target.port, target.host, () => {
        if (settled) return;
        socket.send(exchange.payload, (error) => {
          if (error) finish(clock.fail(describeError(error)));
        });
      });
    });
  });
}

export interface UdpProbeOptions extends UdpTarget {
  /** Hex payload; keepalived's datagram when undefined. */
  readonly payloadHex?: string;
  readonly requireReply: boolean;
  /**
   * Hex, 'x' nibbles match anything. As in keepalived, the reply's length and content are checked
   * only when there is a pattern, and only as many bytes are compared as the reply holds.
   */
  readonly replyPattern?: string;
  readonly minReplyLength: number;
  readonly maxReplyLength: number;
}

/**
 * What keepalived 2.2.7 sends without a payload (set_buf in keepalived/core/layer4.c): an echo
 * server returns it, and a require_reply pattern or min_reply_length may count on it.
 */
const KEEPALIVED_DATAGRAM = Buffer.alloc(32, 'keepalived check - ');

/** UDP_CHECK. */
export function udpProbe(options: UdpProbeOptions): Promise<ProbeResult> {
  const payload = options.payloadHex === undefined ? KEEPALIVED_DATAGRAM : Buffer.from(options.payloadHex, 'hex');
  if (!options.requireReply) return udpExchange(options, { payload });
  return udpExchange(options, {
    payload,
    judgeReply: (reply) => {
      if (options.replyPattern === undefined) return { accepted: true };
      if (reply.length < options.minReplyLength || reply.length > options.maxReplyLength) {
        return { accepted: false, reason: `reply length ${reply.length} outside ${options.minReplyLength}..${options.maxReplyLength}` };
      }
      if (!matchesHexPattern(reply, options.replyPattern)) {
        return { accepted: false, reason: 'reply does not match require_reply pattern' };
      }
      return { accepted: true };
    },
  });
}

export function matchesHexPattern(data: Buffer, pattern: string): boolean {
  const hex = data.toString('hex');
  const compared = Math.min(hex.length, pattern.length);
  for (let i = 0; i < compared; i++) {
    const p = pattern[i];
    if (p !== 'x' && p !== hex[i]) return false;
  }
  return true;
}
