import { destKey, serviceKey, type IpvsDest, type IpvsService, type IpvsTable, type ServiceKey, type ServiceSettings } from './model.ts';

/**
 * A setting of an entry that was in the kernel before lvsd programmed it, as the kernel held it and
 * as lvsd set it. keepalived leaves such an entry as it finds it (EEXIST is ignored); lvsd
 * programs what the configuration says, and says so (README, deliberate differences).
 */
export interface Correction {
  readonly service: ServiceKey;
  /** The real server, `10.0.0.2:80` or `[2001:db8::2]:80`, for one of its settings. */
  readonly realServer?: string;
  readonly setting: string;
  readonly was: string;
  readonly now: string;
}

type Described<T> = ReadonlyArray<readonly [setting: string, describe: (entry: T) => string]>;

const SERVICE_SETTINGS: Described<ServiceSettings> = [
  ['scheduler', (s) => s.scheduler],
  ['persistence', (s) => (s.persistence ? `${s.persistence.timeout}s per /${s.persistence.prefix}` : 'none')],
  ['one-packet', (s) => (s.onePacket ? 'on' : 'off')],
  ['scheduler flags', (s) => s.schedulerFlags.map((flag) => `flag-${flag}`).join(',') || 'none'],
  ['persistence engine', (s) => s.pe ?? 'none'],
];

const DEST_SETTINGS: Described<IpvsDest> = [
  ['forwarding', (d) => d.fwd],
  ['weight', (d) => String(d.weight)],
  ['upper threshold', (d) => String(d.upperThreshold)],
  ['lower threshold', (d) => String(d.lowerThreshold)],
  ['tunnel', (d) => (d.tunnel ? `${d.tunnel.type} port ${d.tunnel.port} ${d.tunnel.checksum}` : 'none')],
];

/** Every setting of an entry in both tables that differs from `found` to `programmed`. */
export function correctionsOf(found: IpvsTable, programmed: IpvsTable): Correction[] {
  const now = new Map<ServiceKey, IpvsService>(programmed.map((service) => [serviceKey(service.id), service]));
  const corrections: Correction[] = [];
  for (const was of found) {
    const service = serviceKey(was.id);
    const is = now.get(service);
    if (!is) continue;
    corrections.push(...changed(SERVICE_SETTINGS, was, is).map((change) => ({ service, ...change })));
    const dests = new Map(is.dests.map((dest) => [destKey(dest), dest]));
    for (const wasDest of was.dests) {
      const isDest = dests.get(destKey(wasDest));
      if (!isDest) continue;
      const realServer = wasDest.addr.includes(':') ? `[${wasDest.addr}]:${wasDest.port}` : `${wasDest.addr}:${wasDest.port}`;
      corrections.push(...changed(DEST_SETTINGS, wasDest, isDest).map((change) => ({ service, realServer, ...change })));
    }
  }
  return corrections;
}

function changed<T>(settings: Described<T>, was: T, now: T): Array<Pick<Correction, 'setting' | 'was' | 'now'>> {
  return settings
    .map(([setting, describe]) => ({ setting, was: describe(was), now: describe(now) }))
    .filter((change) => change.was !== change.now);
}

/** `scheduler wlc -> rr`, `10.1.0.1:80 weight 1 -> 3` */
export function describeCorrection(correction: Correction): string {
  return `${correction.realServer ? `${correction.realServer} ` : ''}${correction.setting} ${correction.was} -> ${correction.now}`;
}
