import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CHECK_DURATION_BOUNDS_S, type CheckTally } from '../healthcheck/check-tally.ts';
import type { CheckQueue } from './health-adapter.ts';
import type { NetlinkOperationCount } from './ipvs-adapter.ts';
import type { DirectorStatus } from './status.ts';
import { answerStatusPage, type StatusJson } from './status-page.ts';

/** Connection counters of one kernel service, summed over its destinations. */
export interface ServiceConnections {
  readonly service: string;
  readonly active: number;
  readonly inactive: number;
}

export interface MetricsSnapshot {
  readonly status: DirectorStatus;
  readonly connections: readonly ServiceConnections[];
  readonly checks: readonly CheckTally[];
  /** Since the previous snapshot; absent without checkers. */
  readonly checkLag?: { readonly p99: number };
  /** Absent without checkers. */
  readonly checkQueue?: CheckQueue;
  /** IPVS updates queued in the director, the running one included; absent without IPVS. */
  readonly ipvsUpdatesPending?: number;
  readonly netlink: readonly NetlinkOperationCount[];
}

/** Called by the daemon when a reload has an outcome, with the seconds since it was requested. */
export type ReloadObserver = (ok: boolean, seconds: number) => void;

/**
 * lvsd's metrics as prom-client gauges and counters, read from a snapshot of the daemon at each
 * scrape, beside prom-client's default process and Node.js metrics (CPU, memory, file
 * descriptors, event-loop lag) under the `lvsd_` prefix. Reload durations are events, not state:
 * the daemon reports each through observeReload.
 */
export function metricsRegistry(read: () => MetricsSnapshot): { registry: Registry; observeReload: ReloadObserver } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'lvsd_' });
  // Gauges named like counters, which promtool faults; the same counts are in lvsd_nodejs_active_{handles,requests,resources} by type.
  for (const misnamed of ['active_handles', 'active_requests', 'active_resources']) registry.removeSingleMetric(`lvsd_nodejs_${misnamed}_total`);
  const realServers = (status: DirectorStatus) =>
    status.virtualServers.flatMap((vs) => vs.realServers.map((rs) => ({ labels: { virtual_server: vs.name, real_server: rs.address }, rs })));
  const gauge = (name: string, help: string, labelNames: readonly string[], fill: (set: (labels: Record<string, string>, value: number) => void, data: MetricsSnapshot) => void) =>
    new Gauge({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        fill((labels, value) => this.set(labels, value), read());
      },
    });
  const RS = ['virtual_server', 'real_server'];
  gauge('lvsd_real_server_up', 'Whether the real server passes its checks (1) or not (0).', RS, (set, { status }) => {
    for (const { labels, rs } of realServers(status)) set(labels, rs.up ? 1 : 0);
  });
  gauge('lvsd_real_server_weight', 'Weight of the real server in IPVS (absent: not in IPVS).', RS, (set, { status }) => {
    for (const { labels, rs } of realServers(status)) if (rs.ipvsWeight !== undefined) set(labels, rs.ipvsWeight);
  });
  gauge('lvsd_real_server_check_latency_seconds', 'Duration of the last check of the real server.', RS, (set, { status }) => {
    for (const { labels, rs } of realServers(status)) if (rs.lastCheckLatencyMs !== undefined) set(labels, rs.lastCheckLatencyMs / 1000);
  });
  gauge('lvsd_real_server_drained', 'Whether an operator drained the real server (lvsctl drain): weight 0 in IPVS, checks as usual.', RS, (set, { status }) => {
    for (const { labels, rs } of realServers(status)) set(labels, rs.drain ? 1 : 0);
  });
  gauge('lvsd_virtual_server_quorum_up', 'Whether the virtual server has its quorum.', ['virtual_server'], (set, { status }) => {
    for (const vs of status.virtualServers) set({ virtual_server: vs.name }, vs.quorum.up ? 1 : 0);
  });
  gauge('lvsd_service_active_connections', 'Active connections of the IPVS service (from the kernel).', ['service'], (set, { connections }) => {
    for (const c of connections) set({ service: c.service }, c.active);
  });
  gauge('lvsd_service_inactive_connections', 'Inactive connections of the IPVS service (from the kernel).', ['service'], (set, { connections }) => {
    for (const c of connections) set({ service: c.service }, c.inactive);
  });
  gauge('lvsd_sync_daemon_running', 'Whether the kernel runs this IPVS connection-sync daemon (lvs_sync_daemon).', ['state', 'interface'], (set, { status }) => {
    for (const daemon of status.syncDaemons) set({ state: daemon.state, interface: daemon.interface }, 1);
  });
  gauge('lvsd_vrrp_master', 'Whether the VRRP instance is MASTER.', ['vrrp_instance'], (set, { status }) => {
    for (const v of status.vrrp) set({ vrrp_instance: v.name }, v.state === 'MASTER' ? 1 : 0);
  });
  gauge('lvsd_bgp_vip_announced', 'Whether lvsd hands the VIP to BIRD for BGP (1), or has withdrawn it (0).', ['address'], (set, { status }) => {
    for (const vip of status.bgp?.announcements ?? []) set({ address: vip.address }, vip.announced ? 1 : 0);
  });
  gauge('lvsd_bgp_session_up', 'Whether BIRD\'s BGP session is up, as its control socket reported it at the scrape.', ['session'], (set, { status }) => {
    for (const session of status.bgp?.sessions ?? []) set({ session: session.name }, session.up ? 1 : 0);
  });
  gauge('lvsd_bgp_session_state_since_timestamp_seconds', 'When BIRD\'s BGP session entered its state (with BIRD\'s timeformat protocol iso long).', ['session'], (set, { status }) => {
    for (const session of status.bgp?.sessions ?? []) if (session.sinceAt !== undefined) set({ session: session.name }, Date.parse(session.sinceAt) / 1000);
  });
  gauge('lvsd_bgp_bird_reachable', 'Whether BIRD answered on its control socket at the scrape.', [], (set, { status }) => {
    if (status.bgp) set({}, status.bgp.birdProblem === undefined ? 1 : 0);
  });
  const counter = (name: string, help: string, labelNames: readonly string[], fill: (add: (labels: Record<string, string>, value: number) => void, data: MetricsSnapshot) => void) =>
    new Counter({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        fill((labels, value) => this.inc(labels, value), read());
      },
    });
  counter('lvsd_reloads_total', 'Configuration reloads by result.', ['result'], (add, { status: { reloads } }) => {
    add({ result: 'success' }, reloads.count - reloads.failed);
    add({ result: 'failure' }, reloads.failed);
  });
  counter('lvsd_ipvs_drift_repairs_total', 'IPVS operations that put back entries of lvsd\'s services another tool had changed.', [], (add, { status }) => {
    add({}, status.ipvs.drift?.repairs ?? 0);
  });
  counter('lvsd_ipvs_refusals_total', 'IPVS operations the kernel refused (each is tried again, with a backoff).', [], (add, { status }) => {
    add({}, status.ipvs.refusals?.count ?? 0);
  });
  counter('lvsd_checks_total', 'Checks since start, by checker type and result.', ['checker', 'result'], (add, { checks }) => {
    for (const tally of checks) {
      add({ checker: tally.kind, result: 'passed' }, tally.passed);
      add({ checker: tally.kind, result: 'failed' }, tally.failed);
    }
  });
  registry.registerMetric(new CheckDurations(() => read().checks));
  gauge('lvsd_check_lag_p99_seconds', 'How late checks started after they were due (p99), over the checks started since the previous scrape.', [], (set, { checkLag }) => {
    if (checkLag) set({}, checkLag.p99 / 1000);
  });
  gauge('lvsd_checks_queued', 'Checks by where they wait: scheduled (for their next time), waiting (due, for one of the probe slots), in_flight (probing).', ['stage'], (set, { checkQueue }) => {
    if (!checkQueue) return;
    set({ stage: 'scheduled' }, checkQueue.scheduled);
    set({ stage: 'waiting' }, checkQueue.waiting);
    set({ stage: 'in_flight' }, checkQueue.inFlight);
  });
  gauge('lvsd_ipvs_updates_pending', 'IPVS updates queued in lvsd (verdict batches, reloads, drift checks, drains), the running one included.', [], (set, { ipvsUpdatesPending }) => {
    if (ipvsUpdatesPending !== undefined) set({}, ipvsUpdatesPending);
  });
  counter('lvsd_real_server_state_changes_total', 'Times the real server went up or down.', RS, (add, { status }) => {
    for (const { labels, rs } of realServers(status)) add(labels, rs.stateChanges);
  });
  counter('lvsd_virtual_server_quorum_changes_total', 'Times the virtual server lost or gained its quorum.', ['virtual_server'], (add, { status }) => {
    for (const vs of status.virtualServers) add({ virtual_server: vs.name }, vs.quorum.changes);
  });
  counter('lvsd_vrrp_transitions_total', 'Entries of the VRRP instance into each state.', ['vrrp_instance', 'state'], (add, { status }) => {
    for (const v of status.vrrp) for (const [state, times] of Object.entries(v.transitions)) add({ vrrp_instance: v.name, state }, times ?? 0);
  });
  counter('lvsd_vrrp_split_brains_total', 'Times another master for the VRRP instance\'s VRID appeared while it was master.', ['vrrp_instance'], (add, { status }) => {
    for (const v of status.vrrp) add({ vrrp_instance: v.name }, v.splitBrains);
  });
  counter('lvsd_vrrp_adverts_received_total', 'VRRP packets that reached the instance, dropped ones included.', ['vrrp_instance'], (add, { status }) => {
    for (const v of status.vrrp) add({ vrrp_instance: v.name }, v.adverts.received);
  });
  counter('lvsd_vrrp_adverts_dropped_total', 'VRRP packets the instance dropped, by reason.', ['vrrp_instance', 'reason'], (add, { status }) => {
    for (const v of status.vrrp) for (const [reason, times] of Object.entries(v.adverts.dropped)) add({ vrrp_instance: v.name, reason }, times ?? 0);
  });
  counter('lvsd_netlink_operations_total', 'IPVS netlink requests, by operation and whether the kernel carried it out.', ['operation', 'result'], (add, { netlink }) => {
    for (const op of netlink) {
      add({ operation: op.operation, result: 'ok' }, op.ok);
      add({ operation: op.operation, result: 'error' }, op.failed);
    }
  });
  const reloadDuration = new Histogram({
    name: 'lvsd_reload_duration_seconds', help: 'Time from a reload request (SIGHUP or lvsctl reload) to its outcome, by result.', labelNames: ['result'], registers: [registry],
  });
  const observeReload: ReloadObserver = (ok, seconds) => reloadDuration.observe({ result: ok ? 'success' : 'failure' }, seconds);
  return { registry, observeReload };
}

const CHECK_DURATIONS = 'lvsd_check_duration_seconds';
const CHECK_DURATIONS_HELP = 'Duration of checks, by checker type.';

/**
 * A histogram read from the pool's own counts at each scrape: prom-client's Histogram would be fed
 * one observe per check, thousands a second, for counts the pool keeps anyway. prom-client's
 * Registry writes a histogram from getForPromString() (absent from its typings), so that is what
 * this replaces.
 */
class CheckDurations extends Histogram<'checker'> {
  constructor(private readonly read: () => readonly CheckTally[]) {
    super({ name: CHECK_DURATIONS, help: CHECK_DURATIONS_HELP, labelNames: ['checker'], buckets: [...CHECK_DURATION_BOUNDS_S], registers: [] });
  }

  async getForPromString() {
    const line = (suffix: string, labels: Record<string, string | number>, value: number) => ({ metricName: `${CHECK_DURATIONS}_${suffix}`, labels, sharedLabels: {}, value });
    const values = this.read().flatMap((tally) => {
      const checker = tally.kind;
      const count = tally.passed + tally.failed;
      let cumulative = 0;
      return [
        ...CHECK_DURATION_BOUNDS_S.map((le, index) => line('bucket', { le, checker }, (cumulative += tally.durationCounts[index]!))),
        line('bucket', { le: '+Inf', checker }, count),
        line('sum', { checker }, tally.durationSumSeconds),
        line('count', { checker }, count),
      ];
    });
    return { name: CHECK_DURATIONS, help: CHECK_DURATIONS_HELP, type: 'histogram', values, aggregator: 'sum' };
  }
}

/** /metrics for Prometheus; / and /status.json for a person (status-page.ts). */
export async function serveMetrics(
  address: { host: string; port: number },
  snapshot: () => Promise<MetricsSnapshot>,
  statusJson: StatusJson,
): Promise<{ server: Server; observeReload: ReloadObserver }> {
  let latest: MetricsSnapshot | undefined;
  const { registry, observeReload } = metricsRegistry(() => latest!);
  // One scrape at a time, each from one snapshot that every metric reads.
  let scraping: Promise<unknown> = Promise.resolve();
  const scrape = (): Promise<string> => {
    const text = scraping.then(async () => {
      latest = await snapshot();
      return registry.metrics();
    });
    scraping = text.catch(() => undefined);
    return text;
  };
  const server = createServer((request, response) => {
    // HEAD as GET: node leaves the body out.
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end('GET or HEAD only\n');
      return;
    }
    const path = new URL(request.url ?? '/', 'http://lvsd').pathname;
    if (answerStatusPage(path, response, statusJson)) return;
    if (path !== '/metrics') {
      response.writeHead(404).end('see /metrics, / or /status.json\n');
      return;
    }
    scrape().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: Error) => response.writeHead(500).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  return { server, observeReload };
}
