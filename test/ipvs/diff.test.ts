import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyOps } from '../../src/ipvs/apply-model.ts';
import { diff, DuplicateEntryError, ownedDestKey, ownershipOf, ownsEverything, type Ownership } from '../../src/ipvs/diff.ts';
import { destKey, normalizeTable, serviceKey, serviceSettingsOf, type IpvsService, type IpvsTable } from '../../src/ipvs/model.ts';
import { tableArb } from './arbitraries.ts';

const web: IpvsService = {
  id: { kind: 'addr', af: 'inet', protocol: 'tcp', addr: '10.0.0.1', port: 80 },
  scheduler: 'wlc',
  persistence: null,
  onePacket: false,
  schedulerFlags: [],
  pe: null,
  dests: [
    { addr: '192.168.0.1', port: 80, fwd: 'droute', weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnel: null },
    { addr: '192.168.0.2', port: 80, fwd: 'droute', weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnel: null },
  ],
};
const unrelated: IpvsService = { ...web, id: { kind: 'fwmark', af: 'inet', fwmark: 7 }, scheduler: 'rr', dests: [] };

describe('diff', () => {
  it('programs an empty kernel with one add per entry', () => {
    const ops = diff([], [web], ownsEverything);
    expect(ops.map((o) => o.op)).toEqual(['add-service', 'add-dest', 'add-dest']);
  });

  it('changes a weight with a single edit-dest', () => {
    const wanted = [{ ...web, dests: [web.dests[0]!, { ...web.dests[1]!, weight: 0 }] }];
    expect(diff([web], wanted, ownershipOf([web]))).toEqual([
      { op: 'edit-dest', service: web.id, dest: { ...web.dests[1]!, weight: 0 } },
    ]);
  });

  it('changes a scheduler or flags in place, never deleting the service', () => {
    const wanted = [{ ...web, scheduler: 'sh', schedulerFlags: [1, 2] as const, persistence: { timeout: 300, prefix: 24 } }];
    expect(diff([web], wanted, ownsEverything)).toEqual([{ op: 'edit-service', service: serviceSettingsOf(wanted[0]!) }]);
  });

  it('does nothing when kernel and wanted agree, whatever the address spelling', () => {
    const kernel = [{ ...web, id: { ...web.id, af: 'inet6' as const, addr: '2001:db8::1' } }];
    const wanted = [{ ...web, id: { ...web.id, af: 'inet6' as const, addr: '2001:DB8:0::1' } }];
    expect(diff(kernel, wanted, ownsEverything)).toEqual([]);
  });

  it('leaves a service it does not own alone, and corrects an owned one in place', () => {
    const kernel = [{ ...web, scheduler: 'rr' }, unrelated];
    const ops = diff(kernel, [web], ownershipOf([web]));
    expect(ops.map((o) => o.op)).toEqual(['edit-service']);
  });

  it('removes an owned service and owned destinations that are no longer wanted', () => {
    const ops = diff([web, unrelated], [{ ...web, dests: [web.dests[0]!] }], ownsEverything);
    expect(ops.map((o) => `${o.op}`)).toEqual(['del-dest', 'del-service']);
  });

  it('keeps destinations someone else added to a service it programs', () => {
    const foreign = { ...web.dests[0]!, addr: '192.168.0.99' };
    const kernel = [{ ...web, dests: [...web.dests, foreign] }];
    expect(diff(kernel, [web], ownershipOf([web]))).toEqual([]);
  });

  it('adds new destinations before removing old ones, so the pool never runs empty', () => {
    const wanted = [{ ...web, dests: [{ ...web.dests[0]!, addr: '192.168.0.9' }] }];
    expect(diff([web], wanted, ownsEverything).map((o) => o.op)).toEqual(['add-dest', 'del-dest', 'del-dest']);
  });

  it('empties a table that is all its own with one flush', () => {
    expect(diff([web, unrelated], [], ownsEverything)).toEqual([{ op: 'flush' }]);
    expect(diff([], [], ownsEverything)).toEqual([]);
    expect(diff([web, unrelated], [], ownershipOf([web])).map((o) => o.op)).toEqual(['del-service']);
  });

  it('rejects a wanted table that lists an entry twice', () => {
    expect(() => diff([], [web, web], ownsEverything)).toThrow(DuplicateEntryError);
    expect(() => diff([], [{ ...web, dests: [web.dests[0]!, web.dests[0]!] }], ownsEverything)).toThrow(/192\.168\.0\.1/);
  });
});

const ownershipArb = (kernel: IpvsTable): fc.Arbitrary<Ownership> =>
  fc.oneof(
    fc.constant(ownsEverything),
    fc.record({
      services: fc.subarray(kernel.map((s) => serviceKey(s.id))),
      dests: fc.subarray(kernel.flatMap((s) => s.dests.map((d) => ownedDestKey(serviceKey(s.id), destKey(d))))),
    }).map(({ services, dests }): Ownership => ({ kind: 'entries', services: new Set(services), dests: new Set(dests) })),
  );

/** wanted, plus whatever of the kernel the daemon does not own. */
function expectedTable(kernel: IpvsTable, wanted: IpvsTable, owned: Ownership): IpvsTable {
  const ownsS = (s: IpvsService) => owned.kind === 'everything' || owned.services.has(serviceKey(s.id));
  const ownsD = (s: IpvsService, d: IpvsService['dests'][number]) =>
    owned.kind === 'everything' || owned.dests.has(ownedDestKey(serviceKey(s.id), destKey(d)));
  const wantedKeys = new Set(wanted.map((s) => serviceKey(s.id)));
  const kernelByKey = new Map(kernel.map((s) => [serviceKey(s.id), s]));
  const result: IpvsService[] = wanted.map((w) => {
    const k = kernelByKey.get(serviceKey(w.id));
    const wantedDests = new Set(w.dests.map(destKey));
    const kept = (k?.dests ?? []).filter((d) => !wantedDests.has(destKey(d)) && !ownsD(k!, d));
    return { ...w, dests: [...w.dests, ...kept] };
  });
  for (const k of kernel) {
    if (wantedKeys.has(serviceKey(k.id)) || ownsS(k)) continue;
    result.push({ ...k, dests: k.dests.filter((d) => !ownsD(k, d)) });
  }
  return result;
}

describe('diff applied to a model of the kernel', () => {
  it('yields wanted ∪ unowned, with every operation accepted', () => {
    const cases = fc.tuple(tableArb, tableArb).chain(([kernel, wanted]) =>
      ownershipArb(kernel).map((owned) => ({ kernel, wanted, owned })),
    );
    fc.assert(
      fc.property(cases, ({ kernel, wanted, owned }) => {
        const result = applyOps(kernel, diff(kernel, wanted, owned));
        expect(result.rejected).toEqual([]);
        expect(normalizeTable(result.table)).toEqual(normalizeTable(expectedTable(kernel, wanted, owned)));
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent: a second diff after applying the first is empty', () => {
    fc.assert(
      fc.property(tableArb, tableArb, (kernel, wanted) => {
        const once = applyOps(kernel, diff(kernel, wanted, ownsEverything)).table;
        expect(diff(once, wanted, ownsEverything)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
