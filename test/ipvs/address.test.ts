import { isIPv4 as nodeIsIPv4 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressToBytes, bytesToAddress, canonicalAddress, familyOf, InvalidAddressError, isIPv4 } from '../../src/ipvs/address.ts';

describe('addresses', () => {
  it('recognises IPv4 exactly as node:net does', () => {
    for (const text of ['1.2.3.4', '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', '', '1.2.3.4 ', '10.0.0.10']) {
      expect(isIPv4(text), text).toBe(nodeIsIPv4(text));
    }
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV4Extended(), fc.string(), fc.stringMatching(/^[0-9.]{1,16}$/)), (text) => {
        expect(isIPv4(text)).toBe(nodeIsIPv4(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('round-trips through the kernel byte layout in canonical text form', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const bytes = addressToBytes(text);
        expect(bytes.length).toBe(16);
        expect(bytesToAddress(familyOf(text), bytes)).toBe(canonicalAddress(text));
      }),
      { numRuns: 2000 },
    );
    expect(addressToBytes('10.1.2.3').toString('hex')).toBe('0a010203000000000000000000000000');
    expect(canonicalAddress('2001:DB8:0:0::1')).toBe('2001:db8::1');
  });

  it('refuses what is not an address', () => {
    expect(() => familyOf('example.org')).toThrow(InvalidAddressError);
    expect(() => addressToBytes('10.0.0.256')).toThrow(/not an IPv4 or IPv6 address/);
  });
});
