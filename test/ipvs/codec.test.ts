import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipvsAvailable, IpvsClient, IpvsUnavailableError } from '../../src/ipvs/client.ts';
import { decodeDest, decodeService, encodeOp, IpvsDecodeError } from '../../src/ipvs/codec.ts';
import type { IpvsDest, ServiceSettings } from '../../src/ipvs/model.ts';
import { serviceSettingsOf } from '../../src/ipvs/model.ts';
import { serviceArb } from './arbitraries.ts';
import { coverageTable } from './tables.ts';

// A request carries the same nested attributes a dump answer does, so decoding what we encode
// checks both directions against each other; the VM tests check them against the kernel.
const withoutStats = ({ stats: _stats, ...dest }: IpvsDest): IpvsDest => dest;

describe('IPVS attribute codec', () => {
  it('decodes every service it encodes, with all flags, persistence and engines', () => {
    fc.assert(
      fc.property(serviceArb, (service) => {
        const settings: ServiceSettings = serviceSettingsOf(service);
        expect(decodeService(encodeOp({ op: 'add-service', service: settings }).payload)).toEqual(settings);
      }),
      { numRuns: 300 },
    );
    for (const service of coverageTable) {
      expect(decodeService(encodeOp({ op: 'edit-service', service: serviceSettingsOf(service) }).payload)).toEqual(serviceSettingsOf(service));
    }
  });

  it('decodes every destination it encodes, tunnels included', () => {
    for (const service of coverageTable) {
      for (const dest of service.dests) {
        const payload = encodeOp({ op: 'add-dest', service: service.id, dest }).payload;
        expect(withoutStats(decodeDest(payload, service.id.af))).toEqual(dest);
      }
    }
  });

  it('keeps every encoded request intact while later ones are written (arenas of 64 KiB)', () => {
    // Services and destinations of every shape in turn, so arena boundaries fall everywhere.
    const ops = Array.from({ length: 6000 }, (_, i) => {
      const service = coverageTable[i % coverageTable.length]!;
      const dest = service.dests[i % service.dests.length];
      return i % 3 === 0 || dest === undefined
        ? ({ op: 'add-service', service: serviceSettingsOf(service) } as const)
        : ({ op: 'add-dest', service: service.id, dest: { ...dest, weight: i } } as const);
    });
    const payloads = ops.map((op) => encodeOp(op).payload);
    ops.forEach((op, i) => {
      const payload = payloads[i]!;
      if (op.op === 'add-service') expect(decodeService(payload)).toEqual(op.service);
      else expect(withoutStats(decodeDest(payload, op.service.af))).toEqual(op.dest);
    });
  });

  it('refuses names the kernel cannot hold instead of truncating them', () => {
    const settings = { ...serviceSettingsOf(coverageTable[0]!), scheduler: 'a-scheduler-name-too-long' };
    expect(() => encodeOp({ op: 'add-service', service: settings })).toThrow(RangeError);
  });

  it('fails on malformed kernel messages with a decode error, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const decode of [(b: Buffer) => decodeService(b), (b: Buffer) => decodeDest(b, 'inet')]) {
          try {
            decode(Buffer.from(bytes));
          } catch (error) {
            expect(error).toBeInstanceOf(IpvsDecodeError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('on a kernel without IPVS (this host)', () => {
  it('says so, and how to fix it', async () => {
    const available = await ipvsAvailable();
    expect(available.ok).toBe(false);
    if (!available.ok) expect(available.reason).toMatch(/modprobe ip_vs/);
    await expect(IpvsClient.open()).rejects.toBeInstanceOf(IpvsUnavailableError);
  });
});
