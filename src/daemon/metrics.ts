import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
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
  new Counter({
    name: 'lvsd_reloads_total', help: 'Configuration reloads by result.', labelNames: ['result'], registers: [registry],
    collect() {
      const { reloads } = read().status;
      this.reset();
      this.inc({ result: 'success' }, reloads.count - reloads.failed);
      this.inc({ result: 'failure' }, reloads.failed);
    },
  });
  new Counter({
    name: 'lvsd_ipvs_drift_repairs_total', help: 'IPVS operations that put back entries of lvsd\'s services another tool had changed.', registers: [registry],
    collect() {
      this.reset();
      this.inc(read().status.ipvs.drift?.repairs ?? 0);
    },
  });
  new Counter({
    name: 'lvsd_ipvs_refusals_total', help: 'IPVS operations the kernel refused (each is tried again, with a backoff).', registers: [registry],
    collect() {
      this.reset();
      this.inc(read().status.ipvs.refusals?.count ?? 0);
    },
  });
  gauge('lvsd_sync_daemon_running', 'Whether the kernel runs this IPVS connection-sync daemon (lvs_sync_daemon).', ['state', 'interface'], (set, { status }) => {
    for (const daemon of status.syncDaemons) set({ state: daemon.state, interface: daemon.interface }, 1);
  });
  gauge('lvsd_vrrp_master', 'Whether the VRRP instance is MASTER.', ['vrrp_instance'], (set, { status }) => {
    for (const v of status.vrrp) set({ vrrp_instance: v.name }, v.state === 'MASTER' ? 1 : 0);
  });
  const reloadDuration = new Histogram({
    name: 'lvsd_reload_duration_seconds', help: 'Time from a reload request (SIGHUP or lvsctl reload) to its outcome, by result.', labelNames: ['result'], registers: [registry],
  });
  const observeReload: ReloadObserver = (ok, seconds) => reloadDuration.observe({ result: ok ? 'success' : 'failure' }, seconds);
  return { registry, observeReload };
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
