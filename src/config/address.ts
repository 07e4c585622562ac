import type { AddressFamily } from './model.ts';

export interface IpAddress {
  readonly family: AddressFamily;
  /** IPv4 dotted quad, IPv6 in RFC 5952 form */
  readonly text: string;
}

function ipv6Groups(text: string): number[] {
  let head = text;
  const groups: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(head);
  const tail: number[] = [];
  if (dotted) {
    const bytes = dotted[1]!.split('.').map(Number);
    tail.push((bytes[0]! << 8) | bytes[1]!, (bytes[2]! << 8) | bytes[3]!);
    head = head.slice(0, -dotted[1]!.length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const [left = '', right] = head.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const leftGroups = parse(left);
  const rightGroups = [...parse(right ?? ''), ...tail];
  const fill = right === undefined ? 0 : 8 - leftGroups.length - rightGroups.length;
  groups.push(...leftGroups, ...Array<number>(fill).fill(0), ...rightGroups);
  return groups;
}

function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function fromValue(family: AddressFamily, value: bigint): IpAddress {
  if (family === 'inet') {
    return { family, text: [24, 16, 8, 0].map((s) => Number((value >> BigInt(s)) & 0xffn)).join('.') };
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  return { family, text: formatIpv6(groups) };
}

/** The address as a number, for range arithmetic. */
function valueOf(address: IpAddress): bigint {
  return address.family === 'inet'
    ? address.text.split('.').reduce((acc, b) => (acc << 8n) | BigInt(b), 0n)
    : ipv6Groups(address.text).reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

const DOT = 0x2e;

function isDecimalDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isHexDigit(code: number): boolean {
  return isDecimalDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/**
 * A dotted quad as node:net's isIPv4 accepts it (0-255, no leading zeros), without its regular
 * expression: compiling node's address expressions was a tenth of a start under emulation.
 */
function isIpv4(text: string): boolean {
  let parts = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && text.charCodeAt(i) !== DOT) {
      if (!isDecimalDigit(text.charCodeAt(i))) return false;
      continue;
    }
    const length = i - start;
    if (length === 0 || length > 3 || (length > 1 && text.charCodeAt(start) === 0x30)) return false;
    if (Number(text.slice(start, i)) > 255) return false;
    parts++;
    start = i + 1;
  }
  return parts === 4;
}

/** IPv6 text as node:net's isIPv6 accepts it, less zone indexes (`%eth0`), which lvsd refuses. */
function isIpv6(text: string): boolean {
  const elision = text.indexOf('::');
  if (elision >= 0 && text.indexOf('::', elision + 1) >= 0) return false;
  const pieces = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = elision >= 0 ? pieces(text.slice(0, elision)) : pieces(text);
  const tail = elision >= 0 ? pieces(text.slice(elision + 2)) : [];
  if (elision < 0 && head.length === 0) return false;
  const all = [...head, ...tail];
  const last = all.at(-1);
  const endsInQuad = last !== undefined && last.includes('.');
  if (endsInQuad && !isIpv4(last)) return false;
  const groups = endsInQuad ? all.slice(0, -1) : all;
  for (const group of groups) {
    if (group.length === 0 || group.length > 4) return false;
    for (let i = 0; i < group.length; i++) if (!isHexDigit(group.charCodeAt(i))) return false;
  }
  const count = groups.length + (endsInQuad ? 2 : 0);
  return elision >= 0 ? count <= 7 : count === 8;
}

export function parseIp(text: string): IpAddress | undefined {
  if (isIpv4(text)) return { family: 'inet', text };
  if (isIpv6(text)) return { family: 'inet6', text: formatIpv6(ipv6Groups(text)) };
  return undefined;
}

/** IPv4 224.0.0.0/4, IPv6 ff00::/8. */
export function isMulticast(address: IpAddress): boolean {
  if (address.family === 'inet6') return firstIpv6Group(address) >> 8 === 0xff;
  const firstOctet = Number(address.text.split('.')[0]);
  return firstOctet >= 224 && firstOctet <= 239;
}

/** IPv6 multicast of link-local scope (ff02::/16 and its flagged forms), as VRRP's IPv6 group must be. */
export function isLinkLocalMulticast(address: IpAddress): boolean {
  return address.family === 'inet6' && isMulticast(address) && (firstIpv6Group(address) & 0xf) === 2;
}

function firstIpv6Group(address: IpAddress): number {
  return Number.parseInt(address.text.split(':')[0] || '0', 16);
}

function maxPrefix(family: AddressFamily): number {
  return family === 'inet' ? 32 : 128;
}

/** `addr/len`; the length defaults to the full host length. */
export function parsePrefix(text: string): { address: IpAddress; prefixLength: number } | undefined {
  const [addressText = '', lengthText, extra] = text.split('/');
  if (extra !== undefined) return undefined;
  const address = parseIp(addressText);
  if (!address) return undefined;
  if (lengthText === undefined) return { address, prefixLength: maxPrefix(address.family) };
  if (!/^\d{1,3}$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  if (prefixLength > maxPrefix(address.family)) return undefined;
  return { address, prefixLength };
}

/**
 * virtual_server_group ranges: `a.b.c.d-e` (last byte), `ae00::2-9` (last
 * group, hex), `first-last` (full addresses) or `a.b.c.d/nn`.
 */
export function parseRange(text: string): { first: IpAddress; last: IpAddress } | undefined {
  if (text.includes('/')) {
    const prefix = parsePrefix(text);
    if (!prefix) return undefined;
    const bits = BigInt(maxPrefix(prefix.address.family) - prefix.prefixLength);
    const base = (valueOf(prefix.address) >> bits) << bits;
    const family = prefix.address.family;
    return { first: fromValue(family, base), last: fromValue(family, base + (1n << bits) - 1n) };
  }
  const dash = text.lastIndexOf('-');
  if (dash < 0) {
    const single = parseIp(text);
    return single && { first: single, last: single };
  }
  const first = parseIp(text.slice(0, dash));
  const end = text.slice(dash + 1);
  if (!first) return undefined;
  const full = parseIp(end);
  let last: IpAddress | undefined;
  if (full) last = full.family === first.family ? full : undefined;
  else if (first.family === 'inet' && /^\d{1,3}$/.test(end) && Number(end) <= 255) {
    last = fromValue('inet', (valueOf(first) & ~0xffn) | BigInt(end));
  } else if (first.family === 'inet6' && /^[0-9a-fA-F]{1,4}$/.test(end)) {
    last = fromValue('inet6', (valueOf(first) & ~0xffffn) | BigInt(parseInt(end, 16)));
  }
  if (!last || valueOf(last) < valueOf(first)) return undefined;
  return { first, last };
}
