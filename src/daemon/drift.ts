import { destKey, serviceKey, type IpvsOp, type IpvsTable } from '../ipvs/model.ts';
import { describeOp } from './describe.ts';

// What the director reports of IPVS changes it did not make: entries another tool changed in its
// services (drift), and operations the kernel refused.

export interface RefusalStatus {
  /** IPVS operations the kernel refused since start */
  readonly count: number;
  readonly last?: { readonly at: string; readonly op: string; readonly error: string };
  /** Set while lvsd has a retry of the refused operations pending. */
  readonly retryInMs?: number;
}

export interface DriftStatus {
  /** IPVS operations lvsd made to put its entries back */
  readonly repairs: number;
  readonly last?: { readonly at: string; readonly changes: readonly string[] };
}

/** One repair as the operator reads it: what lvsd found, and what it did about it. */
export function driftOf(op: IpvsOp, found: IpvsTable): string {
  const repair = describeOp(op);
  switch (op.op) {
    case 'add-service':
    case 'add-dest':
      return `missing, added again: ${repair}`;
    case 'edit-service': {
      const was = found.find((service) => serviceKey(service.id) === serviceKey(op.service.id));
      return was ? `was ${describeOp({ op: 'edit-service', service: was })}, set back: ${repair}` : `set back: ${repair}`;
    }
    case 'edit-dest': {
      const dests = found.find((service) => serviceKey(service.id) === serviceKey(op.service))?.dests ?? [];
      const was = dests.find((dest) => destKey(dest) === destKey(op.dest));
      return was ? `was ${describeOp({ ...op, dest: was })}, set back: ${repair}` : `set back: ${repair}`;
    }
    default:
      return `not programmed by lvsd, removed: ${repair}`;
  }
}
