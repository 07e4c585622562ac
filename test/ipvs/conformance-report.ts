import type { SyncDaemon } from '../../src/ipvs/model.ts';

/** What kernel-conformance.ts prints (inside the VM) and ipvs.vm.test.ts asserts on. */

/** ipvsadm's view of one namespace, one rule a line, sorted. */
export interface Snapshot {
  save: string[];
  thresholds: string[];
}

export interface StepReport {
  name: string;
  /** null for programming from empty, where the count is one per entry. */
  expectedOps: number | null;
  ops: string[];
  /** Netlink requests the apply sent. */
  requests: number;
  failed: string[];
  /** Differences left after applying, read back from the kernel. */
  remaining: number;
  ours: Snapshot;
  reference: Snapshot;
  dumpEqualsWanted: boolean;
}

export interface ConformanceReport {
  available: { ok: true } | { ok: false; reason: string };
  schedulers: string[];
  steps: StepReport[];
  preexisting: { ops: string[]; failed: string[]; remaining: number; unrelatedBefore: string[]; unrelatedAfter: string[]; ours: string[]; expected: string[] };
  badEntry: { results: Array<'ok' | { code: string; message: string }>; table: string[]; expected: string[] };
  syncDaemon: { started: string[]; running: SyncDaemon[]; expected: SyncDaemon; ipvsadmView: string; stopped: string[]; after: SyncDaemon[] };
}
