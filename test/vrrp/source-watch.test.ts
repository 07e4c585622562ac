import { describe, expect, it } from 'vitest';
import type { InterfaceAddress, LinkInfo } from '../../src/vrrp/netlink.ts';
import { SourceAddressWatch } from '../../src/vrrp/source-watch.ts';

const links = new Map([['eth0', { index: 2 } as LinkInfo]]);
const on = (address: string, linkIndex = 2): InterfaceAddress => ({ address, linkIndex, prefixLength: 24, secondary: false });
const spec = { name: 'VI', interface: 'eth0', sourceAddress: '10.0.0.1', trackSourceAddress: true };

describe('track_src_ip', () => {
  it('holds an instance whose configured source is not on its interface, from the start, until it is there', () => {
    const watch = new SourceAddressWatch();
    expect(watch.update([spec], links, [on('10.0.0.2'), on('10.0.0.1', 3)])).toEqual([{ instance: 'VI', lost: true }]);
    expect(watch.isLost('VI')).toBe(true);
    expect(watch.update([spec], links, [on('10.0.0.1')])).toEqual([{ instance: 'VI', lost: false }]);
    expect(watch.isLost('VI')).toBe(false);
    expect(watch.update([spec], links, [on('10.0.0.1')])).toEqual([]);
  });

  it('lets go of an instance that no longer tracks its source, without calling it back', () => {
    const watch = new SourceAddressWatch();
    watch.update([spec], links, []);
    expect(watch.update([{ ...spec, trackSourceAddress: false }], links, [])).toEqual([]);
    expect(watch.isLost('VI')).toBe(false);
  });
});
