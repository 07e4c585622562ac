import {
  destKey,
  sameDestSettings,
  sameServiceSettings,
  serviceKey,
  serviceSettingsOf,
  type DestKey,
  type IpvsDest,
  type IpvsOp,
  type IpvsService,
  type IpvsTable,
  type ServiceKey,
} from './model.ts';

/**
 * Which kernel entries the daemon may change or delete when they are not wanted.
 * 'everything' is keepalived's lvs_flush; 'entries' is what the daemon created.
 */
export type Ownership =
  | { readonly kind: 'everything' }
  | { readonly kind: 'entries'; readonly services: ReadonlySet<ServiceKey>; readonly dests: ReadonlySet<OwnedDestKey> };

export type OwnedDestKey = `${ServiceKey} ${DestKey}`;

export const ownsEverything: Ownership = { kind: 'everything' };

/** Ownership of every entry of a table, e.g. of the table the daemon programmed last time. */
export function ownershipOf(table: IpvsTable): Ownership {
  const services = new Set<ServiceKey>();
  const dests = new Set<OwnedDestKey>();
  for (const service of table) {
    const key = serviceKey(service.id);
    services.add(key);
    for (const dest of service.dests) dests.add(ownedDestKey(key, destKey(dest)));
  }
  return { kind: 'entries', services, dests };
}

export function ownedDestKey(service: ServiceKey, dest: DestKey): OwnedDestKey {
  return `${service} ${dest}`;
}

export function ownsService(owned: Ownership, service: ServiceKey): boolean {
  return owned.kind === 'everything' || owned.services.has(service);
}

export function ownsDest(owned: Ownership, service: ServiceKey, dest: DestKey): boolean {
  return owned.kind === 'everything' || owned.dests.has(ownedDestKey(service, dest));
}

export class DuplicateEntryError extends Error {
  constructor(readonly entry: string) {
    super(`wanted table lists ${entry} twice`);
    this.name = 'DuplicateEntryError';
  }
}

/**
 * The operations that turn `kernel` into `wanted`, leaving entries that are neither wanted nor
 * owned alone. A service or destination whose key stays is edited in place, never re-created, so
 * its connections survive. Per service: settings first, then new destinations before removals,
 * so a service being changed never passes through an empty pool.
 */
export function diff(kernel: IpvsTable, wanted: IpvsTable, owned: Ownership): IpvsOp[] {
  // Emptying a table that is all ours: one request instead of one per service.
  if (wanted.length === 0 && owned.kind === 'everything') return kernel.length > 0 ? [{ op: 'flush' }] : [];
  const ops: IpvsOp[] = [];
  const kernelServices = indexServices(kernel, false);
  const wantedServices = indexServices(wanted, true);

  for (const [key, want] of wantedServices) {
    const have = kernelServices.get(key);
    const wantDests = indexDests(want.dests, key, true);
    if (have === undefined) {
      ops.push({ op: 'add-service', service: serviceSettingsOf(want) });
      for (const dest of wantDests.values()) ops.push({ op: 'add-dest', service: want.id, dest });
      continue;
    }
    if (!sameServiceSettings(have, want)) ops.push({ op: 'edit-service', service: serviceSettingsOf(want) });
    const haveDests = indexDests(have.dests, key, false);
    const edits: IpvsOp[] = [];
    for (const [dkey, dest] of wantDests) {
      const current = haveDests.get(dkey);
      if (current === undefined) ops.push({ op: 'add-dest', service: want.id, dest });
      else if (!sameDestSettings(current, dest)) edits.push({ op: 'edit-dest', service: want.id, dest });
    }
    ops.push(...edits);
    for (const [dkey, dest] of haveDests) {
      if (!wantDests.has(dkey) && ownsDest(owned, key, dkey)) ops.push({ op: 'del-dest', service: want.id, dest });
    }
  }

  for (const [key, have] of kernelServices) {
    if (wantedServices.has(key)) continue;
    if (ownsService(owned, key)) {
      ops.push({ op: 'del-service', service: have.id });
      continue;
    }
    for (const dest of have.dests) {
      if (ownsDest(owned, key, destKey(dest))) ops.push({ op: 'del-dest', service: have.id, dest });
    }
  }
  return ops;
}

function indexServices(table: IpvsTable, rejectDuplicates: boolean): Map<ServiceKey, IpvsService> {
  const index = new Map<ServiceKey, IpvsService>();
  for (const service of table) {
    const key = serviceKey(service.id);
    if (rejectDuplicates && index.has(key)) throw new DuplicateEntryError(`service ${key}`);
    index.set(key, service);
  }
  return index;
}

function indexDests(dests: readonly IpvsDest[], service: ServiceKey, rejectDuplicates: boolean): Map<DestKey, IpvsDest> {
  const index = new Map<DestKey, IpvsDest>();
  for (const dest of dests) {
    const key = destKey(dest);
    if (rejectDuplicates && index.has(key)) throw new DuplicateEntryError(`destination ${key} of ${service}`);
    index.set(key, dest);
  }
  return index;
}
