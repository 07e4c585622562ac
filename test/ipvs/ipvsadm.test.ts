import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatRules, parseRules, RuleParseError } from '../../src/ipvs/ipvsadm.ts';
import { normalizeTable } from '../../src/ipvs/model.ts';
import { tableArb } from './arbitraries.ts';
import { coverageTable } from './tables.ts';

// Verbatim `ipvsadm -S -n` output of ipvsadm 1.31 on the VM's 6.1 kernel.
const SAVED = `-A -t 10.0.0.1:80 -s wlc
-a -t 10.0.0.1:80 -r 192.168.1.1:80 -g -w 3
-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 1
-a -t 10.0.0.1:80 -r 192.168.1.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -t 10.0.0.1:80 -r 192.168.1.5:80 -i -w 1 --tun-type ipip
-A -u 10.0.0.1:53 -s sh -p 60 -M 255.255.255.0 -o -b sh-fallback,sh-port
-A -u 10.0.0.1:5060 -s rr -p 60 --pe sip
-A --sctp-service 10.0.0.3:9 -s lblcr
-A -t [2001:db8::1]:443 -s rr -p 30 --pe sip
-A -f 5 -s mh -p 300 -b mh-port
-a -f 5 -r 192.168.1.9:0 -g -w 1
-A -f 6 -6 -s rr -p 100 -M 64 -b flag-3
-a -f 6 -6 -r [2001:db8::9]:0 -g -w 1
`;

describe('ipvsadm rules', () => {
  it('reads ipvsadm -S -n output', () => {
    const table = parseRules(SAVED);
    expect(table.map((s) => s.scheduler)).toEqual(['wlc', 'sh', 'rr', 'lblcr', 'rr', 'mh', 'rr']);
    expect(table[0]!.dests.map((d) => [d.fwd, d.weight, d.tunnel?.type ?? null])).toEqual([
      ['droute', 3, null],
      ['masq', 1, null],
      ['tunnel', 1, 'gue'],
      ['tunnel', 1, 'ipip'],
    ]);
    expect(table[0]!.dests[2]!.tunnel).toEqual({ type: 'gue', port: 6080, checksum: 'csum' });
    expect(table[1]).toMatchObject({ onePacket: true, schedulerFlags: [1, 2], persistence: { timeout: 60, prefix: 24 } });
    expect(table[4]).toMatchObject({ id: { kind: 'addr', af: 'inet6', addr: '2001:db8::1', port: 443 }, pe: 'sip' });
    expect(table[6]).toMatchObject({ id: { kind: 'fwmark', af: 'inet6', fwmark: 6 }, schedulerFlags: [3], persistence: { timeout: 100, prefix: 64 } });
    // What we would write for that table reads back the same.
    expect(normalizeTable(parseRules(formatRules(table)))).toEqual(normalizeTable(table));
  });

  it('writes restore input that reads back as the same table', () => {
    expect(normalizeTable(parseRules(formatRules(coverageTable)))).toEqual(normalizeTable(coverageTable));
    fc.assert(
      fc.property(tableArb, (table) => {
        expect(normalizeTable(parseRules(formatRules(table)))).toEqual(normalizeTable(table));
      }),
      { numRuns: 300 },
    );
  });

  it('names the line it cannot read', () => {
    expect(() => parseRules('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.2:80 -r 10.1.1.1:80 -g\n')).toThrow(RuleParseError);
    expect(() => parseRules('-A -s rr\n')).toThrow(/line 1/);
  });
});
