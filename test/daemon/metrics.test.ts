import { describe, expect, it } from 'vitest';
import { CheckTallies } from '../../src/healthcheck/check-tally.ts';
import { metricsRegistry, type MetricsSnapshot } from '../../src/daemon/metrics.ts';
import type { DirectorStatus } from '../../src/daemon/status.ts';
import { promtoolCheck } from './netns-lvsd.ts';

// The daemon's snapshot as a scrape reads it; lifecycle.vm.test.ts and vrrp-only.test.ts scrape a running lvsd.
const VS = 'TCP 10.0.0.1:80';
const status: DirectorStatus = {
  version: '0', pid: 1, startedAt: '2026-12-07T00:00:00.000Z', configFile: 'k.conf', reloads: { count: 0, failed: 0 }, ipvs: { state: 'in use' }, syncDaemons: [],
  virtualServers: [{
    name: VS, scheduler: 'rr', method: 'NAT', quorum: { up: true, needed: 1, alive: 1, changes: 2 },
    realServers: [{ address: '10.1.0.2:80', up: true, configuredWeight: 1, ipvsWeight: 1, stateAgeMs: 0, stateChanges: 3, lastCheckLatencyMs: 0.2, checkers: 1 }],
  }],
  vrrp: [{
    name: 'VI_1', interface: 'eth0', vrid: 51, state: 'MASTER', priority: { effective: 150, configured: 150 }, virtualAddresses: [], warnings: [],
    adverts: { received: 12, dropped: { checksum: 4, 'unknown-vrid': 1 } }, transitions: { BACKUP: 1, MASTER: 2 }, splitBrains: 1,
  }],
};

function snapshot(): MetricsSnapshot {
  const tallies = new CheckTallies();
  tallies.record('TCP_CHECK', true, 0.3);
  tallies.record('TCP_CHECK', true, 7);
  tallies.record('TCP_CHECK', false, 3000);
  tallies.record('HTTP_GET', true, 40);
  return {
    status,
    connections: [],
    checks: tallies.snapshot(),
    checkLag: { p99: 12 },
    checkQueue: { scheduled: 1990, waiting: 3, inFlight: 7 },
    ipvsUpdatesPending: 2,
    netlink: [{ operation: 'add-dest', ok: 5, failed: 1 }, { operation: 'dump', ok: 9, failed: 0 }],
  };
}

describe('metrics an operator alerts on', () => {
  it('counts checks, state and quorum changes, VRRP events and netlink operations, and promtool finds nothing to fault', async () => {
    const { registry } = metricsRegistry(snapshot);
    const text = await registry.metrics();
    const lines = [
      'lvsd_checks_total{checker="TCP_CHECK",result="passed"} 2',
      'lvsd_checks_total{checker="TCP_CHECK",result="failed"} 1',
      'lvsd_checks_total{checker="HTTP_GET",result="passed"} 1',
      'lvsd_check_duration_seconds_bucket{le="0.001",checker="TCP_CHECK"} 1',
      'lvsd_check_duration_seconds_bucket{le="0.01",checker="TCP_CHECK"} 2',
      'lvsd_check_duration_seconds_bucket{le="2.5",checker="TCP_CHECK"} 2',
      'lvsd_check_duration_seconds_bucket{le="5",checker="TCP_CHECK"} 3',
      'lvsd_check_duration_seconds_bucket{le="+Inf",checker="TCP_CHECK"} 3',
      'lvsd_check_duration_seconds_count{checker="TCP_CHECK"} 3',
      'lvsd_check_duration_seconds_bucket{le="0.05",checker="HTTP_GET"} 1',
      'lvsd_check_lag_p99_seconds 0.012',
      'lvsd_checks_queued{stage="scheduled"} 1990',
      'lvsd_checks_queued{stage="waiting"} 3',
      'lvsd_checks_queued{stage="in_flight"} 7',
      'lvsd_ipvs_updates_pending 2',
      `lvsd_real_server_state_changes_total{virtual_server="${VS}",real_server="10.1.0.2:80"} 3`,
      `lvsd_virtual_server_quorum_changes_total{virtual_server="${VS}"} 2`,
      'lvsd_vrrp_transitions_total{vrrp_instance="VI_1",state="MASTER"} 2',
      'lvsd_vrrp_transitions_total{vrrp_instance="VI_1",state="BACKUP"} 1',
      'lvsd_vrrp_split_brains_total{vrrp_instance="VI_1"} 1',
      'lvsd_vrrp_adverts_received_total{vrrp_instance="VI_1"} 12',
      'lvsd_vrrp_adverts_dropped_total{vrrp_instance="VI_1",reason="checksum"} 4',
      'lvsd_vrrp_adverts_dropped_total{vrrp_instance="VI_1",reason="unknown-vrid"} 1',
      'lvsd_netlink_operations_total{operation="add-dest",result="ok"} 5',
      'lvsd_netlink_operations_total{operation="add-dest",result="error"} 1',
      'lvsd_netlink_operations_total{operation="dump",result="ok"} 9',
    ];
    for (const line of lines) expect(text.split('\n')).toContain(line);
    expect(text).toMatch(/^lvsd_check_duration_seconds_sum\{checker="TCP_CHECK"\} 3\.0073\d*$/m);
    expect(text).toContain('# TYPE lvsd_check_duration_seconds histogram');
    expect(await promtoolCheck(text)).toEqual({ code: 0, output: '' });
  });

  it('gives the same check durations as JSON (prom-client getMetricsAsJSON), for anything that reads them so', async () => {
    const { registry } = metricsRegistry(snapshot);
    const json = await registry.getMetricsAsJSON();
    const durations = json.find((metric) => metric.name === 'lvsd_check_duration_seconds');
    expect(durations?.values).toContainEqual({ metricName: 'lvsd_check_duration_seconds_count', labels: { checker: 'HTTP_GET' }, value: 1 });
  });
});
