import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

export function familyOf(address: string): IpFamily {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  throw new Error(`not an IP address: ${JSON.stringify(address)}`);
}

export function addressToBytes(address: string): Buffer {
  return familyOf(address) === 4 ? ipv4ToBytes(address) : ipv6ToBytes(address);
}

function ipv4ToBytes(address: string): Buffer {
  return Buffer.from(address.split('.').map((octet) => Number(octet)));
}

function ipv6ToBytes(address: string): Buffer {
  const bytes = Buffer.alloc(16);
  let text = address;
  const embeddedV4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (embeddedV4?.[1]) {
    const v4 = ipv4ToBytes(embeddedV4[1]);
    text = `${text.slice(0, embeddedV4.index)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : zeros).fill('0'), ...tailGroups];
  groups.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}

export function bytesToAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  // RFC 5952: compress the longest run (at least two) of zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === '0') length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

export function canonicalAddress(address: string): string {
  return bytesToAddress(addressToBytes(address));
}

/** Orders addresses as unsigned big-endian numbers, the order VRRP uses to break priority ties. */
export function compareAddresses(a: string, b: string): number {
  return Buffer.compare(addressToBytes(a), addressToBytes(b));
}
