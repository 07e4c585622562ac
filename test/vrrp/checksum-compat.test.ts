import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ChecksumDestination, type OldChecksumMode } from '../../src/vrrp/checksum-compat.ts';
import { encodeAdvertisement, type AdvertisementToSend } from '../../src/vrrp/packet.ts';

const GROUP = '224.0.0.18';
const PEER = { family: 4, source: '10.0.0.1', destination: '10.0.0.2' } as const;
const advert: AdvertisementToSend = { version: 3, vrid: 51, priority: 200, advertIntervalMs: 1000, addresses: ['10.0.0.100'], authentication: { type: 'none' } };
/** A VRRPv3 unicast advert as keepalived up to 1.3.6 (or with old_unicast_checksum) sums it. */
const OLD = encodeAdvertisement(advert, { ...PEER, destination: GROUP });
const CURRENT = encodeAdvertisement(advert, PEER);

const destination = (mode: OldChecksumMode, unicast = true) => new ChecksumDestination(mode, GROUP, unicast, pino({ level: 'silent' }), 'VI');

describe('old_unicast_checksum', () => {
  it('by default takes the first unicast advert summed the old way and from then on sums its own adverts so too, as keepalived 2.2.7 does', () => {
    const checksums = destination('detect');
    expect(checksums.decode(CURRENT, PEER).ok).toBe(true);
    expect(checksums.of(PEER.destination)).toBe(PEER.destination);
    expect(checksums.decode(OLD, PEER).ok).toBe(true);
    expect(checksums.of(PEER.destination)).toBe(GROUP);
    expect(checksums.decode(CURRENT, PEER)).toEqual({ ok: false, reason: 'checksum' });
  });

  it('with never, drops the old sums; with the keyword alone, sums the old way from the start', () => {
    expect(destination('never').decode(OLD, PEER)).toEqual({ ok: false, reason: 'checksum' });
    const always = destination('always');
    expect(always.of(PEER.destination)).toBe(GROUP);
    expect(always.decode(OLD, PEER).ok).toBe(true);
  });

  it('never switches a multicast instance', () => {
    expect(destination('detect', false).decode(OLD, PEER)).toEqual({ ok: false, reason: 'checksum' });
  });
});
