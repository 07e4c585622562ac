import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { IpvsConnection } from '../../src/daemon/ipvs-adapter.ts';
import { ModelKernel } from './fixtures.ts';

/**
 * Where the model's table can be read from outside the daemon, as `ipvsadm -S -n` would print it:
 * a Unix socket that writes the rules to each client and closes (set by the soak, test/daemon/soak.ts).
 */
export const MODEL_TABLE_SOCKET_ENV = 'LVSD_MODEL_IPVS_SOCKET';

/** The model kernel as a netlink connection that reports no sync daemon and no connection. */
class ModelConnection extends ModelKernel implements IpvsConnection {
  constructor() {
    // Kept for hours by a daemon: a record of every batch would grow with every verdict.
    super('', false);
  }
  async daemons() {
    return [];
  }
  async connections() {
    return [];
  }
  operationCounts() {
    return [];
  }
  close() {}
}

function serveTable(connection: ModelConnection, path: string): void {
  rmSync(path, { force: true });
  createServer((client) => client.end(connection.rules())).listen(path).unref();
}

/** src/daemon/ipvs-adapter.ts's openIpvs, over an empty model kernel (model-ipvs.mjs puts it in place). */
export async function openIpvs(): Promise<{ ok: true; connection: IpvsConnection }> {
  const connection = new ModelConnection();
  const tableSocket = process.env[MODEL_TABLE_SOCKET_ENV];
  if (tableSocket) serveTable(connection, tableSocket);
  return { ok: true, connection };
}
