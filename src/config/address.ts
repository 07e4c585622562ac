import { isIPv4, isIPv6 } from 'node:net';
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

export function parseIp(text: string): IpAddress | undefined {
  if (isIPv4(text)) return { family: 'inet', text };
  if (isIPv6(text) && !text.includes('%')) return { family: 'inet6', text: formatIpv6(ipv6Groups(text)) };
  return undefined;
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
