import fc from 'fast-check';
import type { IpvsDest, IpvsService, IpvsTable, ServiceId, ServiceSettings } from '../../src/ipvs/model.ts';

// Small pools so that random kernel and wanted tables share keys often.
const vips = ['10.0.0.1', '10.0.0.2', '2001:db8::1'];
const rips = ['192.168.0.1', '192.168.0.2', '192.168.0.3', '2001:db8::a', '2001:db8::b'];

export const serviceIdArb: fc.Arbitrary<ServiceId> = fc.oneof(
  fc.record({
    kind: fc.constant('addr' as const),
    protocol: fc.constantFrom('tcp' as const, 'udp' as const, 'sctp' as const),
    addr: fc.constantFrom(...vips),
    port: fc.constantFrom(80, 443),
  }).map((id) => ({ ...id, af: id.addr.includes(':') ? ('inet6' as const) : ('inet' as const) })),
  fc.record({ kind: fc.constant('fwmark' as const), af: fc.constantFrom('inet' as const, 'inet6' as const), fwmark: fc.integer({ min: 1, max: 3 }) }),
);

export const settingsArb = (id: ServiceId): fc.Arbitrary<ServiceSettings> =>
  fc.record({
    id: fc.constant(id),
    scheduler: fc.constantFrom('rr', 'wrr', 'sh', 'mh'),
    persistence: fc.option(fc.record({ timeout: fc.constantFrom(60, 300), prefix: fc.constant(id.af === 'inet' ? 24 : 64) }), { nil: null }),
    onePacket: fc.boolean(),
    schedulerFlags: fc.subarray([1, 2, 3] as const),
    pe: fc.constantFrom(null, 'sip'),
  });

export const destArb: fc.Arbitrary<IpvsDest> = fc.record({
  addr: fc.constantFrom(...rips),
  port: fc.constantFrom(80, 8080),
  fwd: fc.constantFrom('masq' as const, 'droute' as const),
  weight: fc.integer({ min: 0, max: 3 }),
  upperThreshold: fc.constantFrom(0, 100),
  lowerThreshold: fc.constant(0),
  tunnel: fc.constant(null),
});

export const serviceArb: fc.Arbitrary<IpvsService> = serviceIdArb.chain((id) =>
  fc.record({
    settings: settingsArb(id),
    dests: fc.uniqueArray(destArb, { maxLength: 4, selector: (d) => `${d.addr} ${d.port}` }),
  }).map(({ settings, dests }) => ({ ...settings, dests })),
);

export const tableArb: fc.Arbitrary<IpvsTable> = fc.uniqueArray(serviceArb, {
  maxLength: 5,
  selector: (s) => JSON.stringify(s.id),
});
