import type * as ChildProcess from 'node:child_process';
import { IpvsClient } from '../ipvs/client.ts';
import { builtin } from '../util/builtin.ts';
import { serviceKey, serviceName, type IpvsOp, type IpvsService, type IpvsTable, type ServiceId, type SyncDaemon } from '../ipvs/model.ts';
import type { IpvsPort } from './director.ts';
import type { ServiceConnections } from './metrics.ts';

export interface IpvsConnection extends IpvsPort {
  /** The sync daemons the kernel runs. */
  daemons(): Promise<SyncDaemon[]>;
  /** Connection counters of these services, read from the kernel now. */
  connections(services: readonly IpvsService[]): Promise<ServiceConnections[]>;
  /** Netlink requests since start, by operation: how many the kernel carried out and how many it refused. */
  operationCounts(): NetlinkOperationCount[];
  close(): void;
}

export interface NetlinkOperationCount {
  readonly operation: IpvsOp['op'] | 'dump';
  readonly ok: number;
  readonly failed: number;
}

const MODPROBE_TIMEOUT_MS = 5_000;

/**
 * Opens the IPVS netlink family. Like keepalived, loads ip_vs when the kernel
 * has it as a module that is not loaded yet.
 */
export async function openIpvs(): Promise<{ ok: true; connection: IpvsConnection } | { ok: false; reason: string }> {
  try {
    return { ok: true, connection: connectionOf(await IpvsClient.open()) };
  } catch {
    const { execFile } = builtin<typeof ChildProcess>('node:child_process');
    await new Promise<void>((resolve) => execFile('modprobe', ['ip_vs'], { timeout: MODPROBE_TIMEOUT_MS }, () => resolve()));
    try {
      return { ok: true, connection: connectionOf(await IpvsClient.open()) };
    } catch (error) {
      return {
        ok: false,
        reason: `${(error as Error).message} (or run \`lvsd -P\` for VRRP only)`,
      };
    }
  }
}

function connectionOf(first: IpvsClient): IpvsConnection {
  let client = first;
  const counts = new Map<NetlinkOperationCount['operation'], { ok: number; failed: number }>();
  const count = (operation: NetlinkOperationCount['operation'], ok: boolean): void => {
    let entry = counts.get(operation);
    if (entry === undefined) counts.set(operation, (entry = { ok: 0, failed: 0 }));
    if (ok) entry.ok++;
    else entry.failed++;
  };
  const dump = async (destsOf?: (service: ServiceId) => boolean): Promise<IpvsTable> => {
    try {
      const table = await client.dump(destsOf);
      count('dump', true);
      return table;
    } catch (error) {
      count('dump', false);
      throw error;
    }
  };
  return {
    dump,
    daemons: () => client.getDaemons(),
    async apply(ops: readonly IpvsOp[]) {
      const results = await client.apply(ops);
      for (const result of results) count(result.op.op, result.ok);
      return results.flatMap((result) => (result.ok ? [] : [{ op: result.op, error: result.error.message }]));
    },
    operationCounts: () => [...counts].map(([operation, { ok, failed }]) => ({ operation, ok, failed })),
    async reconnect() {
      client.close();
      client = await IpvsClient.open();
    },
    async connections(services: readonly IpvsService[]): Promise<ServiceConnections[]> {
      const wanted = new Set(services.map((service) => serviceKey(service.id)));
      const table = await dump();
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
