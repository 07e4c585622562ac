import { readFileSync } from 'node:fs';
import type { Log } from './log.ts';
import type { KeepalivedConfig, RealServer } from '../config/model.ts';
import { checkSpecsFromConfig } from '../healthcheck/from-config.ts';
import type { CheckTally } from '../healthcheck/check-tally.ts';
import type { CheckerPool, PoolStats, RealServerCheckSpec, Verdict } from '../healthcheck/pool.ts';
import type { Adopted } from './adoption.ts';
import type { RealServerVerdict } from '../healthcheck/table.ts';
import { healthKey, type HealthDetails, type HealthPort, type ScriptRunner } from './director.ts';
import { realServerKey, virtualServerName, type VirtualServerPlan } from './engine.ts';
import type { LocalAddresses } from './local-addresses.ts';

export type CheckQueue = Pick<PoolStats, 'scheduled' | 'waiting' | 'inFlight'>;

/** The checker pool as the director's health port; also runs notify_up / notify_down. */
export class PoolHealth implements HealthPort {
  private pool: CheckerPool | undefined;
  private realServers = new Map<string, RealServer>();
  private readonly lastUp = new Map<string, boolean>();
  private localAddresses: LocalAddresses | undefined;
  /** ha_suspend virtual servers by the address their checks wait for, canonical as LocalAddresses reports them (null: never runs). */
  private suspendable = new Map<string, string | null>();

  constructor(
    private readonly log: Log,
    private readonly onVerdict: (plan: string, realServer: string, verdict: RealServerVerdict) => void,
    private readonly runScript: ScriptRunner,
    private readonly onChecked: (plan: string, realServer: string) => void,
  ) {}

  async update(config: KeepalivedConfig, plans: readonly VirtualServerPlan[], adopted: readonly Adopted[] = []): Promise<void> {
    this.realServers = new Map(plans.flatMap((plan) => plan.config.realServers.map((rs) => [healthKey(plan.name, realServerKey(rs)), rs] as const)));
    const { specs, warnings } = checkSpecsFromConfig(config, { virtualServer: virtualServerName, realServer: realServerKey });
    for (const warning of warnings) this.log.warn(warning);
    // Real servers without checkers are always up: the director knows that without a pool.
    const checked = specs.filter((spec) => spec.checkers.length > 0);
    await this.followHaSuspend(checked);
    if (this.pool) {
      await this.pool.update(checked);
      return;
    }
    const inIpvs = new Map(adopted.map((a) => [healthKey(a.plan, a.realServer), a.verdict.up] as const));
    for (const [key, up] of inIpvs) this.lastUp.set(key, up);
    const startAs = (spec: RealServerCheckSpec): RealServerCheckSpec => {
      const up = inIpvs.get(healthKey(spec.virtualServer, spec.realServer));
      return up === undefined ? spec : { ...spec, adoptedFromIpvs: up ? 'present' : 'absent' };
    };
    // Loaded after IPVS is programmed, so that start-up is not held up by the probe code.
    const { CheckerPool } = await import('../healthcheck/pool.ts');
    this.pool = new CheckerPool(checked.map(startAs), {
      onVerdict: (verdict) => this.verdict(verdict),
      onChecked: (member) => this.onChecked(member.virtualServer, member.realServer),
      onWarning: (message) => this.log.warn(message),
      isLocalAddress: (address) => this.localAddresses?.has(address) ?? true,
    });
    await this.pool.start();
  }

  /** Once the checks due now have answered and none is due for a moment, or after `maxMs`. */
  async settled(maxMs: number): Promise<void> {
    await this.pool?.settled(maxMs);
  }

  details(): ReadonlyMap<string, HealthDetails> {
    const now = Date.now();
    const details = new Map<string, HealthDetails>();
    for (const rs of this.pool?.snapshot() ?? []) {
      const latencies = rs.checkers.map((c) => c.lastLatencyMs).filter((ms) => ms !== null);
      details.set(healthKey(rs.virtualServer, rs.realServer), {
        stateAgeMs: now - rs.lastChangeMs,
        lastCheckLatencyMs: latencies.length > 0 ? Math.max(...latencies) : undefined,
        failure: rs.failing ?? undefined,
      });
    }
    return details;
  }

  /** Every check since start, by checker kind. */
  checkTallies(): CheckTally[] {
    return this.pool?.checkTallies() ?? [];
  }

  /** How late checks started since the previous call, which starts a new window (as each scrape does for the event-loop lag). */
  takeCheckLag(): PoolStats['lagMs'] | undefined {
    const lag = this.pool?.stats().lagMs;
    this.pool?.resetLag();
    return lag;
  }

  /** Where the checks are now: waiting for their time, due and waiting for a probe slot, or probing. */
  checkQueue(): CheckQueue | undefined {
    const stats = this.pool?.stats();
    return stats && { scheduled: stats.scheduled, waiting: stats.waiting, inFlight: stats.inFlight };
  }

  async stop(): Promise<void> {
    await this.pool?.stop();
    this.localAddresses?.close();
  }

  /** Watches the host's addresses once a virtual server sets ha_suspend, and says whose checks wait. */
  private async followHaSuspend(specs: readonly RealServerCheckSpec[]): Promise<void> {
    this.suspendable = new Map(specs.flatMap((spec) => (spec.haSuspend ? [[spec.virtualServer, spec.haSuspend.address] as const] : [])));
    if (this.suspendable.size === 0) return;
    if (!this.localAddresses) {
      const { LocalAddresses } = await import('./local-addresses.ts');
      this.localAddresses = await LocalAddresses.watch({
        changed: (added, removed) => this.addressesChanged(added, removed),
        lost: (error) => this.log.warn({ err: error }, 'address notifications lost: reading the addresses again for ha_suspend'),
      });
    }
    for (const [virtualServer, address] of this.suspendable) {
      if (address === null) this.log.info({ virtualServer }, 'ha_suspend on a virtual_server_group: its checks do not run, as in keepalived 2.2.7');
      else if (!this.localAddresses.has(address)) this.log.info({ virtualServer, address }, 'ha_suspend: checks suspended while the address is not on this host');
    }
  }

  private addressesChanged(added: readonly string[], removed: readonly string[]): void {
    for (const [virtualServer, address] of this.suspendable) {
      if (address === null) continue;
      if (added.includes(address)) this.log.info({ virtualServer, address }, 'ha_suspend: the address is on this host: checks resume');
      if (removed.includes(address)) this.log.info({ virtualServer, address }, 'ha_suspend: the address left this host: checks suspended');
    }
  }

  readTrackedFile(path: string): string | undefined {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  }

  private verdict(verdict: Verdict): void {
    const key = healthKey(verdict.virtualServer, verdict.realServer);
    const was = this.lastUp.get(key);
    this.lastUp.set(key, verdict.up);
    if (was !== undefined && was !== verdict.up) {
      this.log.info({ virtualServer: verdict.virtualServer, realServer: verdict.realServer, checker: verdict.checker, reason: verdict.reason }, verdict.up ? 'real server up' : 'real server down');
      const rs = this.realServers.get(key);
      const script = verdict.up ? rs?.notifyUp : rs?.notifyDown;
      if (script) this.runScript(script, verdict.up ? 'notify_up' : 'notify_down');
    }
    this.onVerdict(verdict.virtualServer, verdict.realServer, { up: verdict.up, weight: verdict.weight });
  }
}
