import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIp } from '../../src/config/address.ts';

/** What parseIp accepted while it called node:net: its isIPv4, or its isIPv6 without a zone index. */
const nodeAccepts = (text: string): 'inet' | 'inet6' | undefined => (isIPv4(text) ? 'inet' : isIPv6(text) && !text.includes('%') ? 'inet6' : undefined);

// Address-like text: the characters addresses are made of, so that near misses are common.
const group = fc.oneof(
  { arbitrary: fc.stringMatching(/^[0-9a-fA-F]{1,4}$/), weight: 8 },
  { arbitrary: fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{0,5}$/), fc.constantFrom('', '00000', 'g')), weight: 1 },
);
const quad = fc.array(fc.oneof({ arbitrary: fc.integer({ min: 0, max: 300 }).map(String), weight: 6 }, { arbitrary: fc.constantFrom('', '01', '00', '1a'), weight: 1 }), { minLength: 3, maxLength: 5 }).map((parts) => parts.join('.'));
const addressLike = fc.oneof(
  quad,
  fc.tuple(fc.array(group, { maxLength: 8 }), fc.boolean(), fc.array(group, { maxLength: 4 }), fc.option(quad, { freq: 3 })).map(([head, elided, tail, v4]) =>
    [head.join(':'), ...(elided ? ['::'] : tail.length > 0 ? [':'] : []), tail.join(':'), ...(v4 === null ? [] : [':', v4])].join(''),
  ),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.%g-/ '.split('')), maxLength: 45 }),
);

describe('parseIp', () => {
  it('accepts exactly the addresses node:net accepts, with the same family', () => {
    fc.assert(
      fc.property(addressLike, (text) => {
        expect(parseIp(text)?.family).toBe(nodeAccepts(text));
      }),
      { numRuns: 20_000 },
    );
  });

  it('agrees with node:net on the edges of the IPv6 grammar', () => {
    const cases = ['::', '::1', '1::', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1::2:3:4:5:6:7:8', '1:2:3:4:5:6:1.2.3.4', '::ffff:10.0.0.1', '1::1.2.3.4', '1:2:3:4:5:6::1.2.3.4', ':1::', '1:::2', '1::2::3', ':', '', '1.2.3.4', '01.2.3.4', '1.2.3', 'fe80::1%eth0', '::1.2.3', '12345::'];
    for (const text of cases) expect(parseIp(text)?.family, text).toBe(nodeAccepts(text));
  });
});
