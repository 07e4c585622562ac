import type { BgpAnnounce } from '../config/model.ts';
import type { AnnouncementStatus } from '../daemon/status.ts';
import { announcementsOf, describeWithdrawal, routeChanges, type Announcement, type AnnouncingServer } from './announcements.ts';

/** The routing table as the announcer needs it; rtnetlink implements it (kernel-routes.ts). */
export interface RoutePort {
  /** The addresses that have a route of lvsd's in its table. */
  list(): Promise<string[]>;
  add(address: string): Promise<void>;
  remove(address: string): Promise<void>;
  close(): void;
}

export interface AnnouncerLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** After a route the kernel refused, the next attempt at the whole table. */
const RETRY_MS = 1000;

/**
 * Keeps the table's routes equal to the announcements the quorum of the virtual servers wants.
 * Route changes run one at a time; updates arriving meanwhile fold into one pass after it.
 */
export class Announcer {
  private routed = new Set<string>();
  private wanted: Announcement[] = [];
  private readonly since = new Map<string, string>();
  private running: Promise<void> = Promise.resolve();
  private passQueued = false;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private problem: { readonly at: string; readonly message: string } | undefined;

  constructor(
    readonly settings: BgpAnnounce,
    private readonly routes: RoutePort,
    private readonly servers: () => AnnouncingServer[],
    private readonly log: AnnouncerLog,
  ) {}

  /** Withdraws whatever a previous run left in the table: after a crash, only a holding quorum announces again. */
  async start(): Promise<void> {
    const left = await this.routes.list();
    for (const address of left) await this.routes.remove(address);
    if (left.length > 0) this.log.info({ addresses: left, table: this.settings.table }, 'withdrew the announcements an earlier run left');
  }

  /** Brings the routes to what the virtual servers' quorum wants now. */
  update(): void {
    if (this.passQueued || this.stopping) return;
    this.passQueued = true;
    this.running = this.running.then(() => {
      this.passQueued = false;
      return this.pass();
    });
  }

  /** Withdraws every announcement, and reads the table again to make sure. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    await this.running;
    const remove = async () => {
      for (const address of new Set([...this.routed, ...(await this.routes.list())])) await this.routes.remove(address);
    };
    await remove().catch(remove).catch((error: unknown) => this.log.error({ err: error }, 'announcements left in the routing table'));
    this.wanted = this.wanted.map((a) => ({ address: a.address, announced: false, withdrawnBecause: { kind: 'stopping' } }));
    this.routed.clear();
    this.routes.close();
  }

  status(): { announcements: AnnouncementStatus[]; problem?: { at: string; message: string } } {
    return {
      announcements: this.wanted.map((a) => ({
        address: a.address,
        announced: this.routed.has(a.address),
        ...(a.withdrawnBecause && { reason: describeWithdrawal(a.withdrawnBecause) }),
        since: this.since.get(a.address) ?? '',
      })),
      ...(this.problem && { problem: this.problem }),
    };
  }

  private async pass(): Promise<void> {
    if (this.stopping) return;
    const wasRouted = new Set(this.routed);
    const known = new Set(this.wanted.map((a) => a.address));
    this.wanted = announcementsOf(this.servers());
    const { add, remove } = routeChanges(this.routed, this.wanted);
    const failures: string[] = [];
    // Withdrawals first: a VIP whose quorum is gone leaves the routers before anything is added.
    for (const address of remove) {
      await this.routes.remove(address).then(() => this.routed.delete(address), (error: unknown) => failures.push(`withdraw ${address}: ${(error as Error).message}`));
    }
    for (const address of add) {
      await this.routes.add(address).then(() => this.routed.add(address), (error: unknown) => failures.push(`announce ${address}: ${(error as Error).message}`));
    }
    const now = new Date().toISOString();
    for (const announcement of this.wanted) {
      const announced = this.routed.has(announcement.address);
      if (known.has(announcement.address) && wasRouted.has(announcement.address) === announced) continue;
      this.since.set(announcement.address, now);
      if (!known.has(announcement.address) && !announced) continue;
      const why = announcement.withdrawnBecause && describeWithdrawal(announcement.withdrawnBecause);
      this.log.info({ address: announcement.address, ...(why && { reason: why }) }, announced ? 'VIP announced' : 'VIP withdrawn');
    }
    if (failures.length === 0) {
      this.problem = undefined;
      return;
    }
    this.problem = { at: now, message: failures.join('; ') };
    this.log.error({ failures }, `routing table ${this.settings.table} refused announcement changes: trying again in ${RETRY_MS} ms`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.update(), RETRY_MS).unref();
  }
}
