import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import { vrrpSpecsFromConfig } from '../../src/vrrp/from-config.ts';
import { initialQuorum, matchesProcess, observeCount } from '../../src/vrrp/process-quorum.ts';
import type { TrackedProcess } from '../../src/vrrp/types.ts';
import { labForTest, LAB_INTERFACE, sleep, type Lab } from './lab.ts';

const BASE: TrackedProcess = {
  name: 'p', process: 'nginx', params: [], paramMatch: 'none', fullCommand: false, weight: 0, reverse: false,
  quorum: 1, quorumMax: 0xffffffff, forkDelayMs: 0, terminateDelayMs: 0,
};

function parse(text: string) {
  const result = parseConfigText(text, 'k.conf', () => '', () => [], { hostname: 'lb1' });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return { specs: vrrpSpecsFromConfig(result.config), warnings: result.warnings.map((w) => `${w.at.line}: ${w.message}`) };
}

describe('track_process matching, as keepalived 2.2.7 matches', () => {
  const nginx = { comm: 'nginx', argv: ['/usr/sbin/nginx', '-c', '/etc/nginx.conf', '-g', 'daemon off;'] };

  it('compares comm, or argv[0] with full_command', () => {
    expect(matchesProcess(BASE, nginx)).toBe(true);
    expect(matchesProcess({ ...BASE, process: '/usr/sbin/nginx' }, nginx)).toBe(false);
    expect(matchesProcess({ ...BASE, process: '/usr/sbin/nginx', fullCommand: true }, nginx)).toBe(true);
  });

  it('matches arguments exactly, as a leading list (partial), or with the last one a prefix (initial)', () => {
    const full = { ...BASE, process: '/usr/sbin/nginx', fullCommand: true };
    expect(matchesProcess({ ...full, paramMatch: 'exact', params: ['-c', '/etc/nginx.conf'] }, nginx)).toBe(false);
    expect(matchesProcess({ ...full, paramMatch: 'exact', params: nginx.argv.slice(1) }, nginx)).toBe(true);
    expect(matchesProcess({ ...full, paramMatch: 'partial', params: ['-c', '/etc/nginx.conf'] }, nginx)).toBe(true);
    expect(matchesProcess({ ...full, paramMatch: 'partial', params: ['-c', '/etc/nginx'] }, nginx)).toBe(false);
    expect(matchesProcess({ ...full, paramMatch: 'initial', params: ['-c', '/etc/nginx'] }, nginx)).toBe(true);
    expect(matchesProcess({ ...full, paramMatch: 'exact', params: [] }, { comm: 'nginx', argv: ['/usr/sbin/nginx'] })).toBe(true);
  });
});

describe('track_process quorum', () => {
  it('is held between quorum and quorum_max, from the first count without a delay', () => {
    const rule = { ...BASE, quorum: 2, quorumMax: 3 };
    expect([0, 1, 2, 3, 4].map((count) => initialQuorum(rule, count).held)).toEqual([false, false, true, true, false]);
  });

  it('changes only after terminate_delay or fork_delay, and not at all if the count comes back first', () => {
    const rule = { ...BASE, quorum: 2, terminateDelayMs: 1500, forkDelayMs: 500 };
    let state = initialQuorum(rule, 2);
    state = observeCount(rule, state, 1, 1000);
    expect(state).toEqual({ held: true, pending: { dueAt: 2500 } });
    state = observeCount(rule, state, 2, 2000);
    expect(state).toEqual({ held: true, pending: undefined });
    state = observeCount(rule, state, 1, 3000);
    expect(observeCount(rule, state, 1, 4400).held).toBe(true);
    state = observeCount(rule, state, 1, 4500);
    expect(state).toEqual({ held: false, pending: undefined });
    state = observeCount(rule, state, 3, 5000);
    expect(state.held).toBe(false);
    expect(observeCount(rule, state, 3, 5500)).toEqual({ held: true, pending: undefined });
    expect(observeCount({ ...rule, forkDelayMs: 0 }, initialQuorum(rule, 0), 2, 0).held).toBe(true);
  });
});

describe('vrrp_track_process in keepalived.conf', () => {
  it("reads keepalived 2.2.7's keywords, defaults and ranges, and the instance's weight and reverse", () => {
    const { specs, warnings } = parse(`vrrp_track_process web {
  process /usr/sbin/nginx -g
  param_match initial
  quorum 2
  quorum_max 1
  quorum_max 4
  delay 2
  fork_delay 0.5
  weight 10 reverse
}
vrrp_track_process plain {
  process sshd
}
vrrp_instance V {
  interface eth0
  virtual_router_id 9
  virtual_ipaddress {
    192.0.2.9/24
  }
  track_process {
    web
    plain weight -5 reverse
    missing
  }
}
`);
    expect(specs.instances[0]!.trackProcesses).toEqual([
      { name: 'web', process: '/usr/sbin/nginx', params: ['-g'], paramMatch: 'initial', fullCommand: true, weight: 10, reverse: true, quorum: 2, quorumMax: 4, forkDelayMs: 500, terminateDelayMs: 2000 },
      { name: 'plain', process: 'sshd', params: [], paramMatch: 'none', fullCommand: false, weight: -5, reverse: true, quorum: 1, quorumMax: 0xffffffff, forkDelayMs: 0, terminateDelayMs: 0 },
    ]);
    expect(warnings).toEqual(expect.arrayContaining(['5: quorum_max is less than quorum - ignoring', '23: (V) track process missing not found, ignoring']));
    expect([...warnings, ...specs.warnings].filter((w) => /not supported/.test(w))).toEqual([]);
  });
});

/** Two trackers of `sleep` processes told apart by their argument, the second one putting the instance in FAULT. */
function speakerConfig(token: string): string {
  return `vrrp_track_process pair {
  process sleep ${token}1
  quorum 2
  terminate_delay 1
  weight 20
}
vrrp_track_process gate {
  process sleep ${token}2
}
vrrp_instance VI {
  interface ${LAB_INTERFACE}
  virtual_router_id 73
  priority 100
  advert_int 1
  track_process {
    pair
    gate weight 0
  }
  virtual_ipaddress {
    10.77.0.173/24 dev ${LAB_INTERFACE}
  }
}
`;
}

describe('track_process in a network namespace', () => {
  it('moves the priority when the quorum goes, after terminate_delay, and FAULTs on a weight 0 process', async (context) => {
    const lab = await labForTest(context);
    // Unique arguments, so that no other process on the host matches.
    const token = `${process.pid}${Date.now() % 100000}.`;
    const sleepers = [1, 1, 2].map((which) => spawn('sleep', [`${token}${which}`], { stdio: 'ignore' }));
    context.onTestFinished(() => {
      for (const sleeper of sleepers) sleeper.kill('SIGKILL');
    });
    const { specs } = parse(speakerConfig(token));
    expect(specs.warnings).toEqual([]);
    await lab.startSpeaker(lab.b, 'lvsd', specs.instances);
    expect(await lab.waitForAddress(lab.b, '10.77.0.173', true, 9000)).toBe(true);
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'MASTER', effectivePriority: 120 });

    sleepers[0]!.kill('SIGKILL');
    const killedAt = Date.now();
    // terminate_delay 1: the quorum still counts for a second; the scan sees it within another.
    await sleep(700);
    expect((await lab.speakerStatus('lvsd'))[0]?.effectivePriority).toBe(120);
    expect(await waitForPriority(lab, 100, 4000)).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(3500);

    sleepers[2]!.kill('SIGKILL');
    expect(await lab.waitForAddress(lab.b, '10.77.0.173', false, 3000)).toBe(true);
    expect((await lab.speakerStatus('lvsd'))[0]?.state).toBe('FAULT');
  }, 60_000);
});

async function waitForPriority(lab: Lab, priority: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await lab.speakerStatus('lvsd'))[0]?.effectivePriority === priority) return true;
    await sleep(100);
  }
  return false;
}
