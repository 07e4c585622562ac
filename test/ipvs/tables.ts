import type { IpvsDest, IpvsService, IpvsTable, ServiceId } from '../../src/ipvs/model.ts';

/** Wanted tables covering the scope of issue 4, shared by the kernel tests and the benchmark. */

export const dest = (addr: string, port: number, more: Partial<IpvsDest> = {}): IpvsDest => ({
  addr,
  port,
  fwd: 'droute',
  weight: 1,
  upperThreshold: 0,
  lowerThreshold: 0,
  tunnel: null,
  ...more,
});

export const service = (id: ServiceId, more: Partial<IpvsService> = {}): IpvsService => ({
  id,
  scheduler: 'wlc',
  persistence: null,
  onePacket: false,
  schedulerFlags: [],
  pe: null,
  dests: [],
  ...more,
});

export const tcp4 = (addr: string, port: number): ServiceId => ({ kind: 'addr', af: 'inet', protocol: 'tcp', addr, port });

export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];

export function schedulerTable(available: readonly string[]): IpvsTable {
  return available.map((scheduler, i) =>
    service(tcp4(`10.1.0.${i + 1}`, 80), {
      scheduler,
      dests: [dest('192.168.1.1', 80, { weight: 2 }), dest('192.168.1.2', 80, { weight: 3 })],
    }),
  );
}

/** Every kind of service, flag and destination keepalived can ask for. */
export const coverageTable: IpvsTable = [
  service(tcp4('10.0.0.1', 80), {
    dests: [
      dest('192.168.0.1', 80, { weight: 3, upperThreshold: 100, lowerThreshold: 10 }),
      dest('192.168.0.2', 8080, { fwd: 'masq', weight: 0 }),
      dest('192.168.0.3', 80, { fwd: 'tunnel', tunnel: { type: 'ipip', port: 0, checksum: 'nocsum' } }),
      dest('192.168.0.4', 80, { fwd: 'tunnel', tunnel: { type: 'gue', port: 6080, checksum: 'csum' } }),
      dest('192.168.0.5', 80, { fwd: 'tunnel', tunnel: { type: 'gue', port: 6081, checksum: 'remcsum' } }),
      dest('192.168.0.6', 80, { fwd: 'tunnel', tunnel: { type: 'gre', port: 0, checksum: 'csum' } }),
    ],
  }),
  service({ kind: 'addr', af: 'inet', protocol: 'udp', addr: '10.0.0.1', port: 53 }, {
    scheduler: 'sh',
    schedulerFlags: [1, 2],
    onePacket: true,
    persistence: { timeout: 60, prefix: 24 },
    dests: [dest('192.168.0.7', 53, { fwd: 'masq' })],
  }),
  service({ kind: 'addr', af: 'inet', protocol: 'udp', addr: '10.0.0.1', port: 5060 }, {
    scheduler: 'rr',
    persistence: { timeout: 300, prefix: 32 },
    pe: 'sip',
    dests: [dest('192.168.0.8', 5060)],
  }),
  service({ kind: 'addr', af: 'inet', protocol: 'sctp', addr: '10.0.0.2', port: 9 }, { scheduler: 'lblcr', dests: [dest('192.168.0.9', 9)] }),
  service({ kind: 'addr', af: 'inet6', protocol: 'tcp', addr: '2001:db8::1', port: 443 }, {
    scheduler: 'mh',
    schedulerFlags: [1, 2],
    persistence: { timeout: 30, prefix: 64 },
    dests: [dest('2001:db8::a', 443, { weight: 5 }), dest('2001:db8::b', 443, { fwd: 'masq' })],
  }),
  service({ kind: 'fwmark', af: 'inet', fwmark: 5 }, {
    scheduler: 'rr',
    schedulerFlags: [1, 2, 3],
    persistence: { timeout: 100, prefix: 16 },
    dests: [dest('192.168.0.10', 0), dest('192.168.0.11', 0, { weight: 7 })],
  }),
  service({ kind: 'fwmark', af: 'inet6', fwmark: 6 }, {
    scheduler: 'wrr',
    persistence: { timeout: 100, prefix: 48 },
    dests: [dest('2001:db8::c', 0)],
  }),
];
