import type { ProbeResult } from '../state.ts';
import { udpExchange, type ReplyOutcome, type UdpTarget } from './udp.ts';

export const DNS_TYPES = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 } as const;
export type DnsType = keyof typeof DNS_TYPES;

export interface DnsProbeOptions extends UdpTarget {
  readonly type: DnsType;
  readonly name: string;
}

/** DNS_CHECK: one UDP query; up on a NOERROR answer to it with at least one answer record. */
export function dnsProbe(options: DnsProbeOptions): Promise<ProbeResult> {
  // As keepalived's random(): node:crypto would cost the first check a second of loading in the
  // kernel VM, and a health check's query id guards against stray replies, not attackers.
  const id = Math.floor(Math.random() * 0x10000);
  return udpExchange(options, {
    payload: encodeDnsQuery(id, options.name, DNS_TYPES[options.type]),
    judgeReply: (reply) => judgeDnsReply(reply, id),
  });
}

export function encodeDnsQuery(id: number, name: string, type: number): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // recursion desired
  header.writeUInt16BE(1, 4); // one question
  const question = Buffer.alloc(4);
  question.writeUInt16BE(type, 0);
  question.writeUInt16BE(1, 2); // class IN
  return Buffer.concat([header, qname, question]);
}

function judgeDnsReply(reply: Buffer, id: number): ReplyOutcome {
  if (reply.length < 12) return { accepted: false, reason: `short DNS reply (${reply.length} bytes)` };
  if (reply.readUInt16BE(0) !== id) return { accepted: false, reason: 'DNS reply id does not match the query' };
  const flags = reply.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return { accepted: false, reason: 'DNS reply is not a response' };
  const rcode = flags & 0x000f;
  // keepalived 2.2.7 takes any NOERROR reply, even one without an answer record (seen in the
  // conformance case "a NOERROR reply without an answer record").
  if (rcode !== 0) return { accepted: false, reason: `DNS rcode ${rcode}` };
  return { accepted: true };
}
