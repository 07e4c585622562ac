import { destKey, serviceKey, type IpvsDest, type IpvsOp, type IpvsService, type IpvsTable } from './model.ts';

export interface ModelResult {
  readonly table: IpvsTable;
  /** Operations the kernel would refuse (entry exists / does not exist), with its errno name. */
  readonly rejected: ReadonlyArray<{ readonly op: IpvsOp; readonly code: 'EEXIST' | 'ESRCH' | 'ENOENT' }>;
}

/** The kernel's IPVS table semantics for the operations we send, for property tests of diff. */
export function applyOps(table: IpvsTable, ops: readonly IpvsOp[]): ModelResult {
  const services = new Map(table.map((s) => [serviceKey(s.id), s] as const));
  const rejected: Array<ModelResult['rejected'][number]> = [];
  const withDests = (service: IpvsService, dests: IpvsDest[]): IpvsService => ({ ...service, dests });

  for (const op of ops) {
    switch (op.op) {
      case 'flush':
        services.clear();
        break;
      case 'start-daemon':
      case 'stop-daemon':
        break;
      case 'add-service': {
        const key = serviceKey(op.service.id);
        if (services.has(key)) rejected.push({ op, code: 'EEXIST' });
        else services.set(key, { ...op.service, dests: [] });
        break;
      }
      case 'edit-service': {
        const key = serviceKey(op.service.id);
        const current = services.get(key);
        if (current === undefined) rejected.push({ op, code: 'ESRCH' });
        else services.set(key, { ...op.service, dests: current.dests });
        break;
      }
      case 'del-service': {
        const key = serviceKey(op.service);
        if (!services.delete(key)) rejected.push({ op, code: 'ESRCH' });
        break;
      }
      case 'add-dest':
      case 'edit-dest':
      case 'del-dest': {
        const key = serviceKey(op.service);
        const current = services.get(key);
        if (current === undefined) {
          rejected.push({ op, code: 'ESRCH' });
          break;
        }
        const dkey = destKey(op.dest);
        const exists = current.dests.some((d) => destKey(d) === dkey);
        const others = current.dests.filter((d) => destKey(d) !== dkey);
        if (op.op === 'add-dest') {
          if (exists) rejected.push({ op, code: 'EEXIST' });
          else services.set(key, withDests(current, [...current.dests, op.dest]));
        } else if (!exists) {
          rejected.push({ op, code: 'ENOENT' });
        } else {
          services.set(key, withDests(current, op.op === 'edit-dest' ? [...others, op.dest] : others));
        }
        break;
      }
    }
  }
  return { table: [...services.values()], rejected };
}
