import { isIPv4, isIPv6 } from 'node:net';

export type Family = 'inet' | 'inet6';

export class InvalidAddressError extends Error {
  constructor(readonly address: string) {
    super(`not an IPv4 or IPv6 address: ${JSON.stringify(address)}`);
    this.name = 'InvalidAddressError';
  }
}

export function familyOf(address: string): Family {
  if (isIPv4(address)) return 'inet';
  if (isIPv6(address)) return 'inet6';
  throw new InvalidAddressError(address);
}

/** Kernel byte layout (union nf_inet_addr): IPv4 in the first 4 bytes, the rest zero. */
export function addressToBytes(address: string): Buffer {
  const out = Buffer.alloc(16);
  if (isIPv4(address)) {
    address.split('.').forEach((octet, i) => out.writeUInt8(Number(octet), i));
    return out;
  }
  if (!isIPv6(address)) throw new InvalidAddressError(address);
  const groups = ipv6Groups(address);
  groups.forEach((group, i) => out.writeUInt16BE(group, i * 2));
  return out;
}

function ipv6Groups(address: string): number[] {
  // The canonical form has no embedded dotted quad, leaving only hex groups and at most one '::'.
  const [head = '', rest] = canonicalAddress(address).split('::');
  const headGroups = splitGroups(head);
  if (rest === undefined) return headGroups;
  const restGroups = splitGroups(rest);
  const zeros = new Array<number>(8 - headGroups.length - restGroups.length).fill(0);
  return [...headGroups, ...zeros, ...restGroups];
}

function splitGroups(text: string): number[] {
  return text === '' ? [] : text.split(':').map((g) => parseInt(g, 16));
}

export function bytesToAddress(family: Family, bytes: Buffer): string {
  if (family === 'inet') return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(bytes.readUInt16BE(i * 2).toString(16));
  return canonicalAddress(groups.join(':'));
}

/** RFC 5952 text form (what the kernel dump and ipvsadm -n print), so keys compare equal. */
export function canonicalAddress(address: string): string {
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) throw new InvalidAddressError(address);
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}
