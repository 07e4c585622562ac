import { createServer, type Server } from 'node:http';
import type { DirectorStatus } from './status.ts';

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

/** Prometheus text exposition format 0.0.4. */
export function renderMetrics({ status, connections }: MetricsSnapshot): string {
  const out: string[] = [];
  const family = (name: string, type: 'gauge' | 'counter', help: string, samples: Array<[Record<string, string>, number]>): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${formatLabels(labels)} ${value}`);
  };
  const realServers = status.virtualServers.flatMap((vs) => vs.realServers.map((rs) => ({ labels: { virtual_server: vs.name, real_server: rs.address }, rs })));
  family('lvsd_real_server_up', 'gauge', 'Whether the real server passes its checks (1) or not (0).', realServers.map(({ labels, rs }) => [labels, rs.up ? 1 : 0]));
  family('lvsd_real_server_weight', 'gauge', 'Weight of the real server in IPVS (absent: not in IPVS).',
    realServers.filter(({ rs }) => rs.ipvsWeight !== undefined).map(({ labels, rs }) => [labels, rs.ipvsWeight ?? 0]));
  family('lvsd_real_server_check_latency_seconds', 'gauge', 'Duration of the last check of the real server.',
    realServers.filter(({ rs }) => rs.lastCheckLatencyMs !== undefined).map(({ labels, rs }) => [labels, (rs.lastCheckLatencyMs ?? 0) / 1000]));
  family('lvsd_real_server_drained', 'gauge', 'Whether an operator drained the real server (lvsctl drain): weight 0 in IPVS, checks as usual.',
    realServers.map(({ labels, rs }) => [labels, rs.drain ? 1 : 0]));
  family('lvsd_virtual_server_quorum_up', 'gauge', 'Whether the virtual server has its quorum.',
    status.virtualServers.map((vs) => [{ virtual_server: vs.name }, vs.quorum.up ? 1 : 0]));
  family('lvsd_service_active_connections', 'gauge', 'Active connections of the IPVS service (from the kernel).',
    connections.map((c) => [{ service: c.service }, c.active]));
  family('lvsd_service_inactive_connections', 'gauge', 'Inactive connections of the IPVS service (from the kernel).',
    connections.map((c) => [{ service: c.service }, c.inactive]));
  family('lvsd_reloads_total', 'counter', 'Configuration reloads by result.', [
    [{ result: 'success' }, status.reloads.count - status.reloads.failed],
    [{ result: 'failure' }, status.reloads.failed],
  ]);
  family('lvsd_vrrp_master', 'gauge', 'Whether the VRRP instance is MASTER.', status.vrrp.map((v) => [{ instance: v.name }, v.state === 'MASTER' ? 1 : 0]));
  return `${out.join('\n')}\n`;
}

function formatLabels(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

export async function serveMetrics(address: { host: string; port: number }, snapshot: () => Promise<MetricsSnapshot>): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end('see /metrics\n');
      return;
    }
    snapshot().then(
      (data) => response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(data)),
      (error: Error) => response.writeHead(500).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  return server;
}
