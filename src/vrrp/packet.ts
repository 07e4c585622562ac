import { addressToBytes, bytesToAddress, type IpFamily } from './ip.ts';

export const VRRP_PROTOCOL = 112;
export const AH_PROTOCOL = 51;
export const VRRP_TTL = 255;
export const VRRP_MULTICAST_V4 = '224.0.0.18';
export const VRRP_MULTICAST_V6 = 'ff02::12';
const ADVERTISEMENT_TYPE = 1;
const V2_AUTH_DATA_LENGTH = 8;
const HEADER_LENGTH = 8;

export type VrrpVersion = 2 | 3;

/** 'ah': auth_type AH, an IPsec AH header keyed by the password around the advert (ah.ts). */
export type Authentication = { type: 'none' } | { type: 'pass' | 'ah'; password: string };
const AUTH_TYPES = { none: 0, pass: 1, ah: 2 } as const;
export const authTypeOf = (authentication: Authentication): number => AUTH_TYPES[authentication.type];

export interface Advertisement {
  version: VrrpVersion;
  vrid: number;
  priority: number;
  /** v2 carries whole seconds, v3 centiseconds; both are kept here in milliseconds. */
  advertIntervalMs: number;
  addresses: string[];
  /** v2 only: the authentication type and its 8 data bytes as sent. */
  authType: number;
  authData: Buffer;
}

export type DropReason =
  | 'truncated'
  | 'bad-ip-header'
  | 'not-vrrp'
  | 'ttl'
  | 'version'
  | 'type'
  | 'length'
  | 'checksum'
  | 'unknown-vrid'
  | 'auth'
  | 'interval'
  | 'addresses'
  | 'unexpected-source'
  | 'family';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: DropReason };

export interface ReceivedIpv4 {
  /** The IPv4 header as received, options included: an AH's ICV covers it. */
  header: Buffer;
  /** VRRP (112), or AH (51) around VRRP. */
  protocol: number;
  source: string;
  destination: string;
  ttl: number;
  payload: Buffer;
}

/** Splits what an IPv4 raw socket delivers (header included) into addresses, TTL and payload. */
export function parseIpv4Datagram(datagram: Buffer): Decoded<ReceivedIpv4> {
  if (datagram.length < 20) return { ok: false, reason: 'truncated' };
  const first = datagram[0] ?? 0;
  const headerLength = (first & 0x0f) * 4;
  if (first >> 4 !== 4 || headerLength < 20 || headerLength > datagram.length) return { ok: false, reason: 'bad-ip-header' };
  const protocol = datagram[9] ?? 0;
  if (protocol !== VRRP_PROTOCOL && protocol !== AH_PROTOCOL) return { ok: false, reason: 'not-vrrp' };
  // Linux hands raw sockets the total length in network order as received.
  const totalLength = Math.min(datagram.readUInt16BE(2), datagram.length);
  if (totalLength < headerLength) return { ok: false, reason: 'bad-ip-header' };
  return {
    ok: true,
    value: {
      header: datagram.subarray(0, headerLength),
      protocol,
      source: bytesToAddress(datagram.subarray(12, 16)),
      destination: bytesToAddress(datagram.subarray(16, 20)),
      ttl: datagram[8] ?? 0,
      payload: datagram.subarray(headerLength, totalLength),
    },
  };
}

/** Internet checksum (RFC 1071) over the concatenation of the parts. */
export function internetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  let odd: number | undefined;
  for (const part of parts) {
    for (const byte of part) {
      if (odd === undefined) odd = byte;
      else {
        sum += (odd << 8) | byte;
        odd = undefined;
      }
    }
  }
  if (odd !== undefined) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4PseudoHeader(source: string, destination: string, length: number): Buffer {
  const header = Buffer.alloc(12);
  addressToBytes(source).copy(header, 0);
  addressToBytes(destination).copy(header, 4);
  header[9] = VRRP_PROTOCOL;
  header.writeUInt16BE(length, 10);
  return header;
}

export interface ChecksumContext {
  family: IpFamily;
  source: string;
  destination: string;
}

function addressLength(family: IpFamily): number {
  return family === 4 ? 4 : 16;
}

/**
 * Checksum as RFC 5798 asks: v3 over IPv4 includes the pseudo-header; IPv6 raw sockets let the
 * kernel compute and verify it (IPV6_CHECKSUM), so it is left at zero here for IPv6.
 */
function checksumFor(packet: Buffer, version: VrrpVersion, context: ChecksumContext): number {
  if (version === 3 && context.family === 4) {
    return internetChecksum(ipv4PseudoHeader(context.source, context.destination, packet.length), packet);
  }
  return internetChecksum(packet);
}

export interface AdvertisementToSend {
  version: VrrpVersion;
  vrid: number;
  priority: number;
  advertIntervalMs: number;
  addresses: string[];
  authentication: Authentication;
}

export function encodeAdvertisement(advert: AdvertisementToSend, context: ChecksumContext): Buffer {
  const addressBytes = advert.addresses.map(addressToBytes);
  const trailer = advert.version === 2 ? V2_AUTH_DATA_LENGTH : 0;
  const packet = Buffer.alloc(HEADER_LENGTH + addressBytes.length * addressLength(context.family) + trailer);
  packet[0] = (advert.version << 4) | ADVERTISEMENT_TYPE;
  packet[1] = advert.vrid;
  packet[2] = advert.priority;
  packet[3] = addressBytes.length;
  if (advert.version === 2) {
    packet[4] = authTypeOf(advert.authentication);
    packet[5] = Math.max(1, Math.round(advert.advertIntervalMs / 1000));
  } else {
    packet.writeUInt16BE(Math.max(1, Math.round(advert.advertIntervalMs / 10)) & 0x0fff, 4);
  }
  addressBytes.forEach((bytes, index) => bytes.copy(packet, HEADER_LENGTH + index * bytes.length));
  if (advert.authentication.type === 'pass') {
    Buffer.from(advert.authentication.password, 'latin1').copy(packet, packet.length - trailer, 0, V2_AUTH_DATA_LENGTH);
  }
  if (!(advert.version === 3 && context.family === 6)) packet.writeUInt16BE(checksumFor(packet, advert.version, context), 6);
  return packet;
}

/**
 * Decodes a VRRP advertisement. IPv6 checksums are verified by the kernel before delivery, so
 * `context` only matters for IPv4.
 */
export function decodeAdvertisement(packet: Buffer, context: ChecksumContext): Decoded<Advertisement> {
  if (packet.length < HEADER_LENGTH) return { ok: false, reason: 'truncated' };
  const first = packet[0] ?? 0;
  const version = first >> 4;
  if (version !== 2 && version !== 3) return { ok: false, reason: 'version' };
  if ((first & 0x0f) !== ADVERTISEMENT_TYPE) return { ok: false, reason: 'type' };
  if (version === 2 && context.family === 6) return { ok: false, reason: 'family' };
  const count = packet[3] ?? 0;
  const trailer = version === 2 ? V2_AUTH_DATA_LENGTH : 0;
  const size = addressLength(context.family);
  const expectedLength = HEADER_LENGTH + count * size + trailer;
  if (packet.length < expectedLength) return { ok: false, reason: 'length' };
  const body = packet.subarray(0, expectedLength);
  if (context.family === 4 && checksumFor(body, version, context) !== 0) return { ok: false, reason: 'checksum' };
  const addresses: string[] = [];
  for (let index = 0; index < count; index++) {
    const offset = HEADER_LENGTH + index * size;
    addresses.push(bytesToAddress(body.subarray(offset, offset + size)));
  }
  return {
    ok: true,
    value: {
      version,
      vrid: packet[1] ?? 0,
      priority: packet[2] ?? 0,
      advertIntervalMs: version === 2 ? (packet[5] ?? 0) * 1000 : (packet.readUInt16BE(4) & 0x0fff) * 10,
      addresses,
      authType: version === 2 ? (packet[4] ?? 0) : 0,
      authData: Buffer.from(body.subarray(expectedLength - trailer, expectedLength)),
    },
  };
}
