// Drives the kernel's sync daemons to what sync-daemons.ts wants, one reconcile at a time, and
// remembers what the kernel last reported for the status.
import type { IpvsOp, SyncDaemon } from '../ipvs/model.ts';
import type { SyncDaemonStatus } from './status.ts';
import { syncDaemonOps, wantedSyncDaemons, type SyncDaemonContext, type SyncDaemonPlan } from './sync-daemons.ts';

export interface SyncDaemonPort {
  daemons(): Promise<SyncDaemon[]>;
  apply(ops: readonly IpvsOp[]): Promise<ReadonlyArray<{ readonly op: IpvsOp; readonly error: string }>>;
}

interface SyncLog {
  info(message: string): void;
  error(message: string): void;
}

export class SyncDaemons {
  private plan: SyncDaemonPlan | undefined;
  private running: readonly SyncDaemon[] = [];
  private problem: string | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ipvs: SyncDaemonPort,
    private readonly context: SyncDaemonContext,
    private readonly log: SyncLog,
  ) {}

  /** A new plan (start, reload), or the followed instance moved: the kernel follows. */
  follow(plan: SyncDaemonPlan | undefined): Promise<void> {
    this.plan = plan;
    return this.reconcile();
  }

  reconcile(): Promise<void> {
    this.queue = this.queue.then(() => this.apply(wantedSyncDaemons(this.plan, this.context)));
    return this.queue;
  }

  /** At stop: keepalived stops the daemons it started. */
  stop(): Promise<void> {
    this.plan = undefined;
    return this.reconcile();
  }

  status(): SyncDaemonStatus[] {
    return this.running.map((daemon) => ({
      state: daemon.state,
      interface: daemon.interface,
      syncId: daemon.syncId,
      group: daemon.group,
      port: daemon.port,
      ...(this.plan?.follows !== undefined && { follows: this.plan.follows }),
      ...(this.problem !== undefined && { problem: this.problem }),
    }));
  }

  private async apply(wanted: SyncDaemon[]): Promise<void> {
    try {
      const ops = syncDaemonOps(await this.ipvs.daemons(), wanted);
      const failed = ops.length === 0 ? [] : await this.ipvs.apply(ops);
      for (const op of ops) {
        const failure = failed.find((f) => f.op === op);
        const what = op.op === 'start-daemon' ? `started: ${describe(op.daemon)}` : `stopped: ${op.state}`;
        if (failure) this.log.error(`IPVS sync daemon not ${what} (${failure.error})`);
        else this.log.info(`IPVS sync daemon ${what}`);
      }
      this.problem = failed.length === 0 ? undefined : failed.map((f) => f.error).join('; ');
      this.running = await this.ipvs.daemons();
    } catch (error) {
      this.problem = (error as Error).message;
      this.log.error(`IPVS sync daemons: ${this.problem}`);
    }
  }
}

function describe(daemon: SyncDaemon): string {
  return `${daemon.state} on ${daemon.interface}, syncid ${daemon.syncId}`;
}
