import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../src/daemon/status-view.ts';
import type { DirectorStatus, SplitBrainStatus } from '../../src/daemon/status.ts';

// What `lvsctl status` prints (the daemon renders it for both lvsctl builds) about a VRRP split brain.
function withSplitBrain(splitBrain: SplitBrainStatus | undefined, warnings: string[] = []): DirectorStatus {
  return {
    version: '0', pid: 1, startedAt: new Date().toISOString(), configFile: 'k.conf', reloads: { count: 0, failed: 0 }, ipvs: { state: 'in use' }, syncDaemons: [], virtualServers: [],
    vrrp: [{
      name: 'VI_1', interface: 'eth0', vrid: 51, state: 'MASTER', priority: { effective: 150, configured: 150 }, virtualAddresses: ['10.0.0.100/24'], warnings,
      adverts: { received: 12, dropped: {} }, transitions: { MASTER: 1 }, splitBrains: splitBrain ? 1 : 0, ...(splitBrain && { splitBrain }),
    }],
  };
}

describe('lvsctl status, VRRP split brain', () => {
  it('shows the last split brain under its instance: the other master, how long both were master, when and how it ended', () => {
    const text = renderStatus(withSplitBrain({ peer: '10.0.0.2', peerPriority: 100, ongoing: false, durationMs: 2500, endedAgoMs: 63_000, outcome: 'stayed-master' }), { color: false });
    expect(text).toContain('  last split brain: 10.0.0.2 (priority 100) master too for 2.5s, ended 1m03s ago (the other master went quiet)');
  });

  it('shows one going on as the instance\'s warning, and nothing without one', () => {
    const warning = 'split brain: another master for VRID 51, 10.0.0.2 (priority 100) master too for 4.0s, advertised 0.5s ago';
    const text = renderStatus(withSplitBrain({ peer: '10.0.0.2', peerPriority: 100, ongoing: true, durationMs: 4000 }, [warning]), { color: false });
    expect(text).toContain(`  ! ${warning}`);
    expect(text).not.toContain('last split brain');
    expect(renderStatus(withSplitBrain(undefined), { color: false })).not.toContain('split brain');
  });
});
