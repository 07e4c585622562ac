import { describe, expect, it } from 'vitest';
import { wantedDestinations, type TableVirtualServer, type RealServerVerdict } from '../../src/healthcheck/table.ts';

const vs = (over: Partial<TableVirtualServer> = {}): TableVirtualServer => ({
  fwd: 'NAT',
  quorum: 1,
  hysteresis: 0,
  realServers: [
    { key: 'a', address: '10.0.0.1', port: 80, inhibitOnFailure: false },
    { key: 'b', address: '10.0.0.2', port: 80, inhibitOnFailure: false },
  ],
  ...over,
});
const health = (entries: Record<string, RealServerVerdict>) => new Map(Object.entries(entries));
const addrs = (t: ReturnType<typeof wantedDestinations>) => t.destinations.map((d) => `${d.address}:${d.weight}:${d.fwd}`);

describe('wantedDestinations', () => {
  it('lists alive servers with their weight and drops failed ones', () => {
    const t = wantedDestinations(vs(), health({ a: { up: true, weight: 3 }, b: { up: false, weight: 1 } }));
    expect(addrs(t)).toEqual(['10.0.0.1:3:NAT']);
    expect([t.quorumUp, t.sorryServerActive]).toEqual([true, false]);
  });

  it('inhibit_on_failure keeps a failed server with weight 0', () => {
    const v = vs({ realServers: [{ key: 'a', address: '10.0.0.1', port: 80, inhibitOnFailure: true, fwd: 'DR' }] });
    expect(addrs(wantedDestinations(v, health({ a: { up: false, weight: 7 } })))).toEqual(['10.0.0.1:0:DR']);
  });

  it('a server without a verdict counts as down', () => {
    expect(addrs(wantedDestinations(vs(), new Map()))).toEqual([]);
  });

  it('sorry_server takes over when quorum is lost and leaves when it is back', () => {
    const v = vs({ sorryServer: { address: '10.9.9.9', port: 80, weight: 1, inhibit: false, fwd: 'DR' } });
    const down = wantedDestinations(v, health({ a: { up: false, weight: 1 }, b: { up: false, weight: 1 } }));
    expect(addrs(down)).toEqual(['10.9.9.9:1:DR']);
    expect([down.quorumUp, down.sorryServerActive]).toEqual([false, true]);
    const up = wantedDestinations(v, health({ a: { up: true, weight: 1 } }), false);
    expect(addrs(up)).toEqual(['10.0.0.1:1:NAT']);
  });

  it('sorry_server_inhibit keeps the sorry server with weight 0 while not needed', () => {
    const v = vs({ sorryServer: { address: '10.9.9.9', port: 80, weight: 1, inhibit: true } });
    expect(addrs(wantedDestinations(v, health({ a: { up: true, weight: 1 } })))).toEqual(['10.0.0.1:1:NAT', '10.9.9.9:0:NAT']);
  });

  it('with the sorry server active, live servers below quorum are taken out (inhibited ones get weight 0)', () => {
    const v = vs({
      quorum: 5,
      realServers: [
        { key: 'a', address: '10.0.0.1', port: 80, inhibitOnFailure: false },
        { key: 'b', address: '10.0.0.2', port: 80, inhibitOnFailure: true },
      ],
      sorryServer: { address: '10.9.9.9', port: 80, weight: 1, inhibit: false },
    });
    const t = wantedDestinations(v, health({ a: { up: true, weight: 2 }, b: { up: true, weight: 2 } }));
    expect(addrs(t)).toEqual(['10.0.0.2:0:NAT', '10.9.9.9:1:NAT']);
  });

  it('quorum without sorry server only reports the state and keeps live servers', () => {
    const t = wantedDestinations(vs({ quorum: 5 }), health({ a: { up: true, weight: 2 } }));
    expect([t.quorumUp, addrs(t)]).toEqual([false, ['10.0.0.1:2:NAT']]);
  });

  it('hysteresis: lost below quorum-h, regained at quorum+h', () => {
    const v = vs({ quorum: 4, hysteresis: 1 });
    const w = (a: number) => health({ a: { up: true, weight: a } });
    expect(wantedDestinations(v, w(3), true).quorumUp).toBe(true);
    expect(wantedDestinations(v, w(2), true).quorumUp).toBe(false);
    expect(wantedDestinations(v, w(4), false).quorumUp).toBe(false);
    expect(wantedDestinations(v, w(5), false).quorumUp).toBe(true);
  });

  it('starts with quorum down: the first computation needs quorum + hysteresis, as keepalived logs "Starting with quorum down 2-1=3 > 2"', () => {
    const v = vs({ quorum: 2, hysteresis: 1, sorryServer: { address: '10.9.9.9', port: 80, weight: 1, inhibit: false } });
    const both = health({ a: { up: true, weight: 1 }, b: { up: true, weight: 1 } });
    expect(wantedDestinations(v, both)).toMatchObject({ quorumUp: false, sorryServerActive: true });
    expect(wantedDestinations(v, both, true)).toMatchObject({ quorumUp: true, sorryServerActive: false });
  });

  it('zero live weight loses quorum even with quorum 0', () => {
    expect(wantedDestinations(vs({ quorum: 0 }), health({ a: { up: true, weight: 0 } }), true).quorumUp).toBe(false);
  });
});
