// Which IPVS sync daemons lvsd runs, from keepalived 2.2.7's three ways of asking for them, and the
// operations that take the kernel there.
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import type { SyncDaemon } from '../../src/ipvs/model.ts';
import { renderStatus } from '../../src/daemon/status-view.ts';
import { syncDaemonOps, syncDaemonPlan, wantedSyncDaemons } from '../../src/daemon/sync-daemons.ts';

const INSTANCE = (extra = '') => `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n${extra}  virtual_ipaddress {\n    192.0.2.10\n  }\n}\n`;

function planOf(text: string) {
  const parsed = parseConfigText(text, '/k.conf', () => '', () => [], { hostname: 'd1' });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
  return syncDaemonPlan(parsed.config);
}

const daemon = (state: SyncDaemon['state'], over: Partial<SyncDaemon> = {}): SyncDaemon => ({
  state, interface: 'eth1', syncId: 51, maxLength: null, group: '224.0.0.81', port: 8848, ttl: null, ...over,
});

describe('lvs_sync_daemon', () => {
  it('follows the instance named in global_defs, with its VRID as the sync id unless id is given', () => {
    expect(planOf(`global_defs {\n  lvs_sync_daemon eth1 VI_1\n}\n${INSTANCE()}`)).toEqual({
      follows: 'VI_1',
      settings: { interface: 'eth1', syncId: 51, maxLength: null, group: '224.0.0.81', port: 8848, ttl: null },
    });
    expect(planOf(`global_defs {\n  lvs_sync_daemon eth1 inst VI_1 id 7 maxlen 1400 port 8850 ttl 2 group 239.1.1.1\n}\n${INSTANCE()}`)).toEqual({
      follows: 'VI_1',
      settings: { interface: 'eth1', syncId: 7, maxLength: 1400, group: '239.1.1.1', port: 8850, ttl: 2 },
    });
    expect(planOf(`global_defs {\n  lvs_sync_daemon eth1 VI_1 9\n}\n${INSTANCE()}`)?.settings.syncId).toBe(9);
  });

  it('runs master and backup for the daemon\'s life without an instance, sync id 0, while the checkers run', () => {
    const plan = planOf('global_defs {\n  lvs_sync_daemon eth1\n}\n');
    expect(plan).toMatchObject({ follows: undefined, settings: { syncId: 0 } });
    expect(wantedSyncDaemons(plan, { runsCheckers: true, stateOf: () => undefined }).map((d) => d.state)).toEqual(['master', 'backup']);
    expect(wantedSyncDaemons(plan, { runsCheckers: false, stateOf: () => undefined })).toEqual([]);
  });

  it("reads the older lvs_sync_daemon_interface in a vrrp_instance as keepalived does: that instance, sync id 0, the kernel's defaults", () => {
    expect(planOf(INSTANCE('  lvs_sync_daemon_interface eth1\n'))).toEqual({
      follows: 'VI_1',
      settings: { interface: 'eth1', syncId: 0, maxLength: null, group: null, port: null, ttl: null },
    });
    expect(planOf(INSTANCE())).toBeUndefined();
  });

  it('runs the master daemon while the instance is MASTER and the backup daemon in every other state', () => {
    const plan = planOf(`global_defs {\n  lvs_sync_daemon eth1 VI_1\n}\n${INSTANCE()}`);
    const wanted = (state: string | undefined) => wantedSyncDaemons(plan, { runsCheckers: true, stateOf: () => state }).map((d) => d.state);
    expect([wanted('INIT'), wanted('BACKUP'), wanted('MASTER'), wanted('FAULT'), wanted('STOPPED'), wanted(undefined)]).toEqual([
      ['backup'], ['backup'], ['master'], ['backup'], [], [],
    ]);
  });

  it('stops before it starts, keeps a daemon that matches, and compares only the settings the plan gives', () => {
    expect(syncDaemonOps([daemon('backup')], [daemon('master')])).toEqual([
      { op: 'stop-daemon', state: 'backup' },
      { op: 'start-daemon', daemon: daemon('master') },
    ]);
    expect(syncDaemonOps([daemon('master', { maxLength: 1472, ttl: 1 })], [daemon('master')])).toEqual([]);
    expect(syncDaemonOps([daemon('master', { syncId: 3 })], [daemon('master')])).toEqual([
      { op: 'stop-daemon', state: 'master' },
      { op: 'start-daemon', daemon: daemon('master') },
    ]);
    expect(syncDaemonOps([daemon('master'), daemon('backup')], [])).toEqual([
      { op: 'stop-daemon', state: 'master' },
      { op: 'stop-daemon', state: 'backup' },
    ]);
  });

  it('shows in lvsctl status which daemon runs, where, and what it follows', () => {
    const status = { version: '0', pid: 1, startedAt: new Date().toISOString(), configFile: 'k.conf', reloads: { count: 0, failed: 0 }, ipvs: { state: 'in use' as const }, virtualServers: [], vrrp: [] };
    const view = renderStatus({ ...status, syncDaemons: [{ state: 'master', interface: 'eth1', syncId: 5, group: '224.0.0.81', port: 8848, follows: 'VI_1' }] }, { color: false });
    expect(view).toContain('SYNC DAEMON  IF    SYNCID  GROUP                 FOLLOWS\nmaster       eth1  5       224.0.0.81 port 8848  VI_1\n');
  });
});
