import { execFile } from 'node:child_process';
import { IpvsClient } from '../ipvs/client.ts';
import { serviceKey, type IpvsOp, type IpvsService, type IpvsTable, type ServiceId } from '../ipvs/model.ts';
import type { IpvsPort } from './director.ts';
import type { ServiceConnections } from './metrics.ts';

export interface IpvsConnection extends IpvsPort {
  /** Connection counters of these services, read from the kernel now. */
  connections(services: readonly IpvsService[]): Promise<ServiceConnections[]>;
  close(): void;
}

const MODPROBE_TIMEOUT_MS = 5_000;

/**
 * Opens the IPVS netlink family. Like keepalived, loads ip_vs when the kernel
 * has it as a module that is not loaded yet.
 */
export async function openIpvs(): Promise<{ ok: true; connection: IpvsConnection } | { ok: false; reason: string }> {
  let client: IpvsClient;
  try {
    client = await IpvsClient.open();
  } catch {
    await new Promise<void>((resolve) => execFile('modprobe', ['ip_vs'], { timeout: MODPROBE_TIMEOUT_MS }, () => resolve()));
    try {
      client = await IpvsClient.open();
    } catch (error) {
      return {
        ok: false,
        reason: `${(error as Error).message} (or run \`lvsd -P\` for VRRP only)`,
      };
    }
  }
  return { ok: true, connection: connectionOf(client) };
}

function connectionOf(client: IpvsClient): IpvsConnection {
  return {
    dump: (): Promise<IpvsTable> => client.dump(),
    async apply(ops: readonly IpvsOp[]) {
      const results = await client.apply(ops);
      return results.flatMap((result) => (result.ok ? [] : [{ op: result.op, error: result.error.message }]));
    },
    async connections(services: readonly IpvsService[]): Promise<ServiceConnections[]> {
      const wanted = new Set(services.map((service) => serviceKey(service.id)));
      const table = await client.dump();
      return table
        .filter((service) => wanted.has(serviceKey(service.id)))
        .map((service) => ({
          service: serviceName(service.id),
          active: service.dests.reduce((sum, dest) => sum + (dest.stats?.activeConnections ?? 0), 0),
          inactive: service.dests.reduce((sum, dest) => sum + (dest.stats?.inactiveConnections ?? 0), 0),
        }));
    },
    close: () => client.close(),
  };
}

/** A kernel service as ipvsadm -L names it: `TCP 10.0.0.1:80`, `UDP [2001:db8::1]:53`, `FWM 7`. */
function serviceName(id: ServiceId): string {
  if (id.kind === 'fwmark') return `FWM ${id.fwmark}${id.af === 'inet6' ? ' IPv6' : ''}`;
  const address = id.af === 'inet6' ? `[${id.addr}]` : id.addr;
  return `${id.protocol.toUpperCase()} ${address}:${id.port}`;
}
