import { createHmac, timingSafeEqual } from 'node:crypto';
import { VRRP_PROTOCOL, type Decoded } from './packet.ts';

/**
 * VRRPv2 `auth_type AH` as keepalived 2.2.7 puts it on the wire: an IPsec AH header (RFC 2402)
 * between the IPv4 header and the VRRP packet, whose ICV is HMAC-MD5-96 keyed by auth_pass (8
 * bytes, zero padded) over the IPv4 header (TOS, fragment offset and checksum zeroed, and the TTL
 * too for unicast), the AH header with a zero ICV, and the VRRP packet. The SPI is the sender's
 * address; the sequence number rises with each advert sent on the VRID (the speaker keeps the counter).
 */

export const AH_HEADER_LENGTH = 24;
const IPV4_HEADER_LENGTH = 20;
const ICV_OFFSET = 12;
const ICV_LENGTH = 12;
const KEY_LENGTH = 8;
/** RFC 2402's payload length: the AH length in 32-bit words, minus 2. */
const AH_PAYLOAD_LENGTH = AH_HEADER_LENGTH / 4 - 2;

export interface AhKey {
  password: string;
  /** Unicast adverts may cross routers, so their TTL is left out of the ICV as keepalived does. */
  unicast: boolean;
}

/** The AH header and the VRRP packet, to follow `ipHeader` (protocol 51, total length counting both). */
export function sealWithAh(ipHeader: Buffer, vrrp: Buffer, key: AhKey, sequence: number): Buffer {
  const ah = Buffer.alloc(AH_HEADER_LENGTH);
  ah[0] = VRRP_PROTOCOL;
  ah[1] = AH_PAYLOAD_LENGTH;
  ipHeader.copy(ah, 4, 12, 16);
  ah.writeUInt32BE(sequence >>> 0, 8);
  icv(ipHeader, ah, vrrp, key).copy(ah, ICV_OFFSET);
  return Buffer.concat([ah, vrrp]);
}

export interface OpenedAh {
  sequence: number;
  vrrp: Buffer;
}

/**
 * Checks the AH of a received IPv4 datagram (`ipHeader` as received, `payload` what follows it):
 * 'not-vrrp' for AH around another protocol, 'auth' for a wrong ICV (wrong key, or a packet changed
 * on the way) or an SPI that is not the source address.
 */
export function openAh(ipHeader: Buffer, payload: Buffer, key: AhKey): Decoded<OpenedAh> {
  if (ipHeader.length < IPV4_HEADER_LENGTH || payload.length < AH_HEADER_LENGTH) return { ok: false, reason: 'truncated' };
  if (payload[0] !== VRRP_PROTOCOL) return { ok: false, reason: 'not-vrrp' };
  const ah = payload.subarray(0, AH_HEADER_LENGTH);
  const vrrp = payload.subarray(AH_HEADER_LENGTH);
  const expected = icv(ipHeader, ah, vrrp, key);
  if (!timingSafeEqual(expected, ah.subarray(ICV_OFFSET, ICV_OFFSET + ICV_LENGTH))) return { ok: false, reason: 'auth' };
  if (!ah.subarray(4, 8).equals(ipHeader.subarray(12, 16))) return { ok: false, reason: 'auth' };
  return { ok: true, value: { sequence: ah.readUInt32BE(8), vrrp } };
}

function icv(ipHeader: Buffer, ah: Buffer, vrrp: Buffer, key: AhKey): Buffer {
  const header = Buffer.from(ipHeader);
  header[1] = 0;
  header.writeUInt16BE(0, 6);
  header.writeUInt16BE(0, 10);
  if (key.unicast) header[8] = 0;
  const zeroed = Buffer.from(ah);
  zeroed.fill(0, ICV_OFFSET, ICV_OFFSET + ICV_LENGTH);
  const secret = Buffer.alloc(KEY_LENGTH);
  Buffer.from(key.password, 'latin1').copy(secret, 0, 0, KEY_LENGTH);
  return createHmac('md5', secret).update(header).update(zeroed).update(vrrp).digest().subarray(0, ICV_LENGTH);
}
