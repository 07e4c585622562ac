import type { IpvsConnection } from '../../src/daemon/ipvs-adapter.ts';
import { ModelKernel } from './fixtures.ts';

/** The model kernel as a netlink connection that reports no sync daemon and no connection. */
class ModelConnection extends ModelKernel implements IpvsConnection {
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

/** src/daemon/ipvs-adapter.ts's openIpvs, over an empty model kernel (model-ipvs.mjs puts it in place). */
export async function openIpvs(): Promise<{ ok: true; connection: IpvsConnection }> {
  return { ok: true, connection: new ModelConnection() };
}
