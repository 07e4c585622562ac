import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalAddress, compareAddresses } from '../../src/vrrp/ip.ts';
import {
  decodeAdvertisement,
  encodeAdvertisement,
  internetChecksum,
  parseIpv4Datagram,
  type AdvertisementToSend,
  type ChecksumContext,
} from '../../src/vrrp/packet.ts';

const v4: ChecksumContext = { family: 4, source: '10.0.0.1', destination: '224.0.0.18' };

function advert(overrides: Partial<AdvertisementToSend> = {}): AdvertisementToSend {
  return { version: 2, vrid: 51, priority: 100, advertIntervalMs: 1000, addresses: ['10.0.0.100'], authentication: { type: 'none' }, ...overrides };
}

describe('VRRP advertisement codec', () => {
  it('encodes a v2 advert the way RFC 3768 lays it out', () => {
    const packet = encodeAdvertisement(advert({ authentication: { type: 'pass', password: 'secret' } }), v4);
    expect(packet.subarray(0, 6)).toEqual(Buffer.from([0x21, 51, 100, 1, 1, 1]));
    expect(packet.subarray(8, 12)).toEqual(Buffer.from([10, 0, 0, 100]));
    expect(packet.subarray(12).toString('latin1')).toBe('secret\0\0');
    expect(internetChecksum(packet)).toBe(0);
  });

  it('encodes v3 intervals in centiseconds with the IPv4 pseudo-header in the checksum', () => {
    const packet = encodeAdvertisement(advert({ version: 3, advertIntervalMs: 100 }), v4);
    expect(packet[0]).toBe(0x31);
    expect(packet.readUInt16BE(4)).toBe(10);
    expect(packet.length).toBe(12);
    expect(internetChecksum(packet)).not.toBe(0);
    const decoded = decodeAdvertisement(packet, v4);
    expect(decoded).toMatchObject({ ok: true, value: { version: 3, advertIntervalMs: 100, addresses: ['10.0.0.100'] } });
  });

  it('rejects a v3 packet checked against the wrong destination (pseudo-header)', () => {
    const packet = encodeAdvertisement(advert({ version: 3 }), v4);
    expect(decodeAdvertisement(packet, { ...v4, destination: '10.0.0.2' })).toEqual({ ok: false, reason: 'checksum' });
  });

  it('round-trips IPv6 v3 adverts (checksum left to the kernel)', () => {
    const context: ChecksumContext = { family: 6, source: 'fe80::1', destination: 'ff02::12' };
    const packet = encodeAdvertisement(advert({ version: 3, addresses: ['fd00::100', '2001:db8::1:0:0:1'] }), context);
    expect(packet.length).toBe(8 + 32);
    expect(decodeAdvertisement(packet, context)).toMatchObject({ ok: true, value: { addresses: ['fd00::100', '2001:db8::1:0:0:1'] } });
  });

  it('drops corrupted, truncated and foreign packets with a reason', () => {
    const packet = encodeAdvertisement(advert(), v4);
    const corrupted = Buffer.from(packet);
    corrupted[2] = 99;
    expect(decodeAdvertisement(corrupted, v4)).toEqual({ ok: false, reason: 'checksum' });
    expect(decodeAdvertisement(packet.subarray(0, 10), v4)).toEqual({ ok: false, reason: 'length' });
    expect(decodeAdvertisement(Buffer.from([0x41, 1, 1, 0, 0, 0, 0, 0]), v4)).toEqual({ ok: false, reason: 'version' });
    expect(decodeAdvertisement(Buffer.from([0x22, 1, 1, 0, 0, 0, 0, 0]), v4)).toEqual({ ok: false, reason: 'type' });
  });

  it('reads TTL, addresses and payload from what an IPv4 raw socket delivers', () => {
    const vrrp = encodeAdvertisement(advert(), v4);
    const header = Buffer.from([0x45, 0xc0, 0, 20 + vrrp.length, 0, 0, 0, 0, 255, 112, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18]);
    const parsed = parseIpv4Datagram(Buffer.concat([header, vrrp, Buffer.from([0, 0])]));
    expect(parsed).toMatchObject({ ok: true, value: { source: '10.0.0.1', destination: '224.0.0.18', ttl: 255 } });
    expect(parsed.ok && parsed.value.payload).toEqual(vrrp);
  });

  // Random bytes rarely get past the version check, so half the inputs are real adverts with
  // bytes overwritten and the length cut or padded.
  const mutatedValidPacket = fc
    .record({
      version: fc.constantFrom<2 | 3>(2, 3),
      count: fc.integer({ min: 0, max: 4 }),
      edits: fc.array(fc.tuple(fc.nat(40), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      length: fc.integer({ min: 0, max: 60 }),
    })
    .map(({ version, count, edits, length }) => {
      const packet = Buffer.alloc(60);
      encodeAdvertisement(advert({ version, addresses: Array.from({ length: count }, (_, i) => `10.0.0.${i}`) }), v4).copy(packet);
      for (const [offset, value] of edits) packet[offset] = value;
      return new Uint8Array(packet.subarray(0, length));
    });

  it('survives arbitrary bytes: decoding never throws (fuzz, 100,000 runs)', () => {
    const contexts = fc.constantFrom<ChecksumContext>(v4, { family: 6, source: 'fe80::1', destination: 'ff02::12' });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 96 }), mutatedValidPacket), contexts, (bytes, context) => {
        const buffer = Buffer.from(bytes);
        const datagram = parseIpv4Datagram(buffer);
        if (datagram.ok) decodeAdvertisement(datagram.value.payload, context);
        const result = decodeAdvertisement(buffer, context);
        return result.ok ? result.value.addresses.length === buffer[3] : typeof result.reason === 'string';
      }),
      { numRuns: 100_000 },
    );
  });

  it('decodes every advert it encodes (property)', () => {
    const address4 = fc.ipV4().map(canonicalAddress);
    fc.assert(
      fc.property(
        fc.record({
          version: fc.constantFrom<2 | 3>(2, 3),
          vrid: fc.integer({ min: 1, max: 255 }),
          priority: fc.integer({ min: 0, max: 255 }),
          seconds: fc.integer({ min: 1, max: 40 }),
          addresses: fc.array(address4, { maxLength: 20 }),
          password: fc.option(fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom('a', 'b', 'Z', '9') }), { nil: undefined }),
        }),
        ({ version, vrid, priority, seconds, addresses, password }) => {
          const sent = advert({
            version,
            vrid,
            priority,
            advertIntervalMs: seconds * 1000,
            addresses,
            authentication: password && version === 2 ? { type: 'pass', password } : { type: 'none' },
          });
          const decoded = decodeAdvertisement(encodeAdvertisement(sent, v4), v4);
          expect(decoded.ok).toBe(true);
          if (!decoded.ok) return;
          expect(decoded.value).toMatchObject({ version, vrid, priority, advertIntervalMs: seconds * 1000, addresses });
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('IP addresses', () => {
  it('canonicalises IPv6 as RFC 5952 and orders addresses numerically', () => {
    expect(canonicalAddress('FD00:0:0:0:0:0:0:0100')).toBe('fd00::100');
    expect(canonicalAddress('::ffff:10.0.0.1')).toBe('::ffff:a00:1');
    expect(canonicalAddress('1:0:0:1:0:0:0:1')).toBe('1:0:0:1::1');
    expect(compareAddresses('10.0.0.9', '10.0.0.10')).toBeLessThan(0);
    expect(compareAddresses('fe80::2', 'fe80::10')).toBeLessThan(0);
  });
});
