import { describe, expect, it } from 'vitest';
import { openAh, sealWithAh } from '../../src/vrrp/ah.ts';
import { decodeAdvertisement, encodeAdvertisement, parseIpv4Datagram } from '../../src/vrrp/packet.ts';

// An advert keepalived 2.2.7 sent (tcpdump -x): VRID 83, priority 200, 10.77.0.100, auth_type AH, auth_pass secret12, sequence 1.
const KEEPALIVED_ADVERT = Buffer.from(
  '45c0004000010000ff33d0690a4d0001e00000127004000' + '00a4d0001000000010d311d8527ebfce7938e32d92153c801020109f90a4d00640000000000000000',
  'hex',
);
const KEY = { password: 'secret12', unicast: false };

function received(datagram: Buffer) {
  const parsed = parseIpv4Datagram(datagram);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.value;
}

describe('auth_type AH (IPsec AH, HMAC-MD5-96) as keepalived 2.2.7 computes it', () => {
  it('opens keepalived\'s advert with the same key, and sealing the same advert gives keepalived\'s bytes', () => {
    const { header, payload, protocol } = received(KEEPALIVED_ADVERT);
    expect(protocol).toBe(51);
    const opened = openAh(header, payload, KEY);
    expect(opened).toMatchObject({ ok: true, value: { sequence: 1 } });
    const advert = opened.ok && decodeAdvertisement(opened.value.vrrp, { family: 4, source: '10.77.0.1', destination: '224.0.0.18' });
    expect(advert).toMatchObject({ ok: true, value: { vrid: 83, priority: 200, authType: 2, addresses: ['10.77.0.100'] } });

    const vrrp = encodeAdvertisement(
      { version: 2, vrid: 83, priority: 200, advertIntervalMs: 1000, addresses: ['10.77.0.100'], authentication: { type: 'ah', password: 'secret12' } },
      { family: 4, source: '10.77.0.1', destination: '224.0.0.18' },
    );
    expect(sealWithAh(header, vrrp, KEY, 1)).toEqual(payload);
  });

  it('refuses a wrong key, a changed byte, an SPI that is not the source, and AH around another protocol', () => {
    const { header, payload } = received(KEEPALIVED_ADVERT);
    expect(openAh(header, payload, { ...KEY, password: 'secret13' })).toEqual({ ok: false, reason: 'auth' });
    const changed = Buffer.from(payload);
    changed[24 + 2] = 201;
    expect(openAh(header, changed, KEY)).toEqual({ ok: false, reason: 'auth' });
    const otherSource = Buffer.from(header);
    otherSource[15] = 9;
    expect(openAh(otherSource, payload, KEY)).toEqual({ ok: false, reason: 'auth' });
    const otherProtocol = Buffer.from(payload);
    otherProtocol[0] = 6;
    expect(openAh(header, otherProtocol, KEY)).toEqual({ ok: false, reason: 'not-vrrp' });
  });

  it('leaves the fields routers change out of the ICV: TOS, fragment offset, checksum, and the TTL of unicast adverts only', () => {
    const { header, payload } = received(KEEPALIVED_ADVERT);
    const mutated = Buffer.from(header);
    mutated[1] = 0;
    mutated.writeUInt16BE(0x4000, 6);
    mutated.writeUInt16BE(0x1234, 10);
    expect(openAh(mutated, payload, KEY).ok).toBe(true);
    mutated[8] = 64;
    expect(openAh(mutated, payload, KEY)).toEqual({ ok: false, reason: 'auth' });
    const unicast = { ...KEY, unicast: true };
    const sealed = sealWithAh(header, payload.subarray(24), unicast, 7);
    expect(openAh(mutated, sealed, unicast)).toMatchObject({ ok: true, value: { sequence: 7 } });
  });
});
