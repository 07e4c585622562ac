import { describe, expect, it } from 'vitest';
import { correctionsOf, describeCorrection } from '../../src/ipvs/corrections.ts';
import { parseRules } from '../../src/ipvs/ipvsadm.ts';

const corrected = (found: string, programmed: string) => correctionsOf(parseRules(found), parseRules(programmed)).map(describeCorrection);

describe('corrections of entries found in the kernel', () => {
  it('names each setting lvsd changed in a service and its real servers', () => {
    expect(
      corrected(
        '-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1\n-a -t 10.0.0.1:80 -r [fd00::1]:80 -m -w 1\n',
        '-A -t 10.0.0.1:80 -s rr -p 360\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 3\n-a -t 10.0.0.1:80 -r [fd00::1]:80 -m -w 1 -x 10\n',
      ),
    ).toEqual([
      'scheduler wlc -> rr',
      'persistence none -> 360s per /32',
      '10.1.0.1:80 forwarding masq -> droute',
      '10.1.0.1:80 weight 1 -> 3',
      '[fd00::1]:80 upper threshold 0 -> 10',
    ]);
  });

  it('says nothing of entries it added, entries it removed, or entries already as configured', () => {
    expect(
      corrected(
        '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1\n-A -u 10.0.0.9:53 -s rr\n',
        '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1\n-a -t 10.0.0.1:80 -r 10.1.0.2:80 -m -w 1\n-A -t 10.0.0.2:80 -s rr\n',
      ),
    ).toEqual([]);
  });
});
