import { describe, expect, it } from 'vitest';
import { announcementsOf, describeWithdrawal, routeChanges, type AnnouncingServer } from '../../src/bgp/announcements.ts';

const server = (name: string, addresses: string[], quorumUp: boolean, quorumConfirmed = quorumUp): AnnouncingServer => ({ name, addresses, quorumUp, quorumConfirmed });

describe('announcements from quorum', () => {
  it('announces a VIP while every virtual server on it holds quorum, and names the first that does not', () => {
    const web = server('TCP 198.51.100.10:80', ['198.51.100.10'], true);
    const tls = server('TCP 198.51.100.10:443', ['198.51.100.10'], false);
    const dns = server('UDP 198.51.100.11:53', ['198.51.100.11'], true);
    expect(announcementsOf([web, dns])).toEqual([
      { address: '198.51.100.10', announced: true },
      { address: '198.51.100.11', announced: true },
    ]);
    const [vip] = announcementsOf([web, tls, dns]);
    expect(vip).toEqual({ address: '198.51.100.10', announced: false, withdrawnBecause: { kind: 'quorum lost', virtualServer: 'TCP 198.51.100.10:443' } });
    expect(describeWithdrawal(vip!.withdrawnBecause!)).toBe('TCP 198.51.100.10:443 has no quorum');
  });

  it('holds back a quorum that checks have not yet confirmed (the up state every real server starts with)', () => {
    const [vip] = announcementsOf([server('TCP 198.51.100.10:80', ['198.51.100.10'], true, false)]);
    expect(vip).toMatchObject({ announced: false, withdrawnBecause: { kind: 'awaiting checks' } });
  });

  it('adds the routes of newly announced VIPs and removes those of withdrawn or unconfigured ones', () => {
    const wanted = announcementsOf([server('a', ['198.51.100.10'], true), server('b', ['198.51.100.11'], false), server('c', ['2001:db8::10'], true)]);
    expect(routeChanges(new Set(['198.51.100.11', '198.51.100.99', '2001:db8::10']), wanted)).toEqual({
      add: ['198.51.100.10'],
      remove: ['198.51.100.11', '198.51.100.99'],
    });
  });
});
