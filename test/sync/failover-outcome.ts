// What failover.mjs reports, reduced to what an operator asks of a failover.

export interface ConnectionOutcome {
  readonly index: number;
  /** The real server that answered first, and last. */
  readonly first: string | null;
  readonly last: string | null;
  readonly broken: string | null;
  readonly sent: number;
  readonly answered: number;
  /** Since the last answer, when the client stopped; null: never answered. */
  readonly quietMs: number | null;
  /** The longest wait for an answer. */
  readonly maxStallMs: number;
}

export interface FailoverRun {
  readonly established: number;
  readonly syncedOnBackup: number;
  readonly failoverMs: number;
  readonly connections: readonly ConnectionOutcome[];
  readonly events: readonly string[];
  readonly error?: string;
}

export interface FailoverSummary {
  readonly established: number;
  readonly syncedOnBackup: number;
  readonly failoverMs: number;
  /** Answering at the end, never broken, on the real server they started on. */
  readonly survived: number;
  readonly broken: number;
  readonly moved: number;
  readonly stallMedianMs: number;
  readonly stallP99Ms: number;
}

/** An answer within the last 2 s (20 requests) counts as working at the end. */
const WORKING_QUIET_MS = 2000;

export function summarize(run: FailoverRun): FailoverSummary {
  const stalls = run.connections.map((c) => c.maxStallMs).sort((a, b) => a - b);
  const at = (q: number) => stalls[Math.min(stalls.length - 1, Math.floor(q * stalls.length))] ?? 0;
  return {
    established: run.established,
    syncedOnBackup: run.syncedOnBackup,
    failoverMs: run.failoverMs,
    survived: run.connections.filter((c) => c.broken === null && c.first !== null && c.first === c.last && c.quietMs !== null && c.quietMs < WORKING_QUIET_MS).length,
    broken: run.connections.filter((c) => c.broken !== null).length,
    moved: run.connections.filter((c) => c.first !== c.last).length,
    stallMedianMs: at(0.5),
    stallP99Ms: at(0.99),
  };
}

export function describeSummary(name: string, s: FailoverSummary): string {
  return `${name}: ${s.survived}/${s.established} connections survived (${s.broken} broken, ${s.moved} moved), ` +
    `${s.syncedOnBackup} synced to the backup, VIP moved in ${s.failoverMs} ms, stall median ${s.stallMedianMs} ms, p99 ${s.stallP99Ms} ms`;
}
