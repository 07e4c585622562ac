import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { KeepalivedConfig } from '../../src/config/index.ts';
import type { Adopted } from '../../src/daemon/adoption.ts';
import { Director, type HealthPort } from '../../src/daemon/director.ts';
import type { VirtualServerPlan } from '../../src/daemon/engine.ts';
import { renderStatus } from '../../src/daemon/status-view.ts';
import { parseRules } from '../../src/ipvs/ipvsadm.ts';
import type { IpvsOp } from '../../src/ipvs/model.ts';
import { config, ModelKernel, WEB } from './fixtures.ts';

/** The checker pool's contract: at start every real server with checkers reports up, unless alpha. */
class ScriptedHealth implements HealthPort {
  director!: Director;
  /** What the director said it took over from IPVS at start; the pool sends those no initial verdict. */
  adopted: readonly Adopted[] = [];
  constructor(private readonly trackedFiles: ReadonlyMap<string, string> = new Map()) {}
  async update(config: KeepalivedConfig, plans: readonly VirtualServerPlan[], adopted: readonly Adopted[] = []): Promise<void> {
    this.adopted = adopted;
    for (const plan of plans) {
      for (const rs of plan.config.realServers) {
        if (adopted.some((a) => a.plan === plan.name && a.realServer === `${rs.address}:${rs.port}`)) continue;
        // A FILE_CHECK's first probe reads what the director read before programming.
        if (rs.checkers.every((checker) => checker.kind === 'FILE_CHECK')) continue;
        const alpha = rs.checkers.some((checker) => checker.timing.alpha);
        this.director.onVerdict(plan.name, `${rs.address}:${rs.port}`, { up: !alpha, weight: rs.weight });
      }
    }
    void config;
  }
  details() {
    return new Map();
  }
  async stop(): Promise<void> {}
  readTrackedFile(path: string): string | undefined {
    return this.trackedFiles.get(path);
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

async function started(text: string, kernel = new ModelKernel(), trackedFiles = new Map<string, string>()) {
  const health = new ScriptedHealth(trackedFiles);
  const scripts: string[] = [];
  const logLines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  const director = new Director(config(text), kernel, health, (script, reason) => scripts.push(`${reason} ${script.command}`), log);
  health.director = director;
  await director.start();
  await settle();
  return { director, kernel, scripts, logLines, health };
}


describe('director', () => {
  it('programs every virtual server with its live real servers at start', async () => {
    const { kernel } = await started(WEB);
    expect(kernel.rules()).toBe(
      ['-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2', '-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1', ''].join('\n'),
    );
  });

  it("programs a group's DR and TUN real servers with each service's port, none for an fwmark entry, and shows their weight", async () => {
    const { director, kernel } = await started(`virtual_server_group G {
  10.0.0.1 80
  10.0.0.2 443
  fwmark 7
}
virtual_server group G {
  protocol TCP
  lb_algo rr
  lb_kind DR
  real_server 10.0.1.1 8080 { }
  real_server 10.0.1.2 8080 { lvs_method NAT }
}`);
    expect(kernel.rules().split('\n').filter((line) => line.startsWith('-a')).sort()).toEqual([
      '-a -f 7 -r 10.0.1.1:0 -g -w 1',
      '-a -f 7 -r 10.0.1.2:8080 -m -w 1',
      '-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1',
      '-a -t 10.0.0.1:80 -r 10.0.1.2:8080 -m -w 1',
      '-a -t 10.0.0.2:443 -r 10.0.1.1:443 -g -w 1',
      '-a -t 10.0.0.2:443 -r 10.0.1.2:8080 -m -w 1',
    ]);
    expect(director.virtualServerStatus()[0]!.realServers.map((rs) => [rs.address, rs.ipvsWeight])).toEqual([['10.0.1.1:8080', 1], ['10.0.1.2:8080', 1]]);
  });

  it('programs group services without persistence_granularity, and keeps ops for a group of fwmarks, as keepalived 2.2.7 does', async () => {
    const group = (entries: string) => `virtual_server_group G {
${entries}
}
virtual_server group G {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  persistence_timeout 60
  persistence_granularity 255.255.255.0
  ops
  real_server 10.0.1.1 80 { }
}`;
    const services = async (entries: string) => (await started(group(entries))).kernel.rules().split('\n').filter((line) => line.startsWith('-A'));
    expect(await services('  10.0.0.1 80\n  fwmark 7')).toEqual(['-A -t 10.0.0.1:80 -s rr -p 60', '-A -f 7 -s rr -p 60']);
    expect(await services('  fwmark 7')).toEqual(['-A -f 7 -s rr -p 60 -o']);
  });

  it('keeps alpha real servers out until their first success', async () => {
    const { director, kernel } = await started(WEB.replace('lb_algo rr', 'lb_algo rr\n  alpha'));
    expect(kernel.rules()).toBe('-A -t 10.0.0.1:80 -s rr\n');
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.2:80', { up: true, weight: 1 });
    await settle();
    expect(kernel.rules()).toContain('-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1');
  });

  it('programs the first table with what the tracked files hold, as keepalived reads them before it programs', async () => {
    const text = `track_file boost {
  file /run/boost
  weight 2
}
track_file maintenance {
  file /run/maintenance
  weight 0
}
track_file created {
  file /run/created
  init_file 4
}
virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_kind NAT
  lb_algo rr
  real_server 10.0.1.1 80 { weight 1
    FILE_CHECK { track_file boost } }
  real_server 10.0.1.2 80 { weight 1
    FILE_CHECK { track_file maintenance } }
  real_server 10.0.1.3 80 { weight 1
    FILE_CHECK { track_file created } }
  real_server 10.0.1.4 80 { weight 1
    FILE_CHECK {
      track_file boost
      weight -200
    } }
}`;
    const files = new Map([['/run/boost', '3\n'], ['/run/maintenance', '1\n']]);
    const { kernel } = await started(text, new ModelKernel(), files);
    expect(kernel.rules()).toBe(
      ['-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 7', '-a -t 10.0.0.1:80 -r 10.0.1.3:80 -m -w 5', ''].join('\n'),
    );
    expect(kernel.sent).toHaveLength(1);
  });

  it('removes a failed real server, or sets weight 0 with inhibit_on_failure', async () => {
    const { director, kernel } = await started(WEB);
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.1:80', { up: false, weight: 2 });
    await settle();
    expect(kernel.rules()).not.toContain('10.0.1.1:80');

    const inhibited = await started(WEB.replace('lb_algo rr', 'lb_algo rr\n  inhibit_on_failure'));
    inhibited.director.onVerdict('TCP 10.0.0.1:80', '10.0.1.1:80', { up: false, weight: 2 });
    await settle();
    expect(inhibited.kernel.rules()).toContain('-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 0');
    expect(inhibited.kernel.sent.at(-1)).toHaveLength(1);
  });

  it('says when the verdicts that came in are in IPVS, before any timer could run', async () => {
    const { director, kernel } = await started(WEB.replace('lb_algo rr', 'lb_algo rr\n  alpha\n  sorry_server 10.0.9.9 8080'));
    expect(kernel.rules()).toBe(['-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.9.9:8080 -m -w 1', ''].join('\n'));
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.2:80', { up: true, weight: 1 });
    await director.idle();
    expect(kernel.rules()).toBe(['-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1', ''].join('\n'));
  });

  it('hands over to the sorry server when no real server is left, and back', async () => {
    const { director, kernel } = await started(WEB.replace('lb_algo rr', 'lb_algo rr\n  sorry_server 10.0.9.9 8080'));
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.1:80', { up: false, weight: 2 });
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.2:80', { up: false, weight: 1 });
    await settle();
    expect(kernel.rules()).toBe(['-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.9.9:8080 -m -w 1', ''].join('\n'));
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.2:80', { up: true, weight: 1 });
    await settle();
    expect(kernel.rules()).toBe(['-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1', ''].join('\n'));
  });

  it('at a restart (its service already in IPVS) keeps what IPVS holds until the checks say otherwise: no flap', async () => {
    // lvsd was killed with rs1 at weight 5 (a dynamic weight) and rs2 already out; rs3 has no checker.
    const before = ['-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 5', ''].join('\n');
    const { director, kernel, health } = await started(WEB.replace(/}$/, '  real_server 10.0.1.3 80 { weight 1 }\n}'), new ModelKernel(before));
    expect(kernel.rules()).toBe(['-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 5', '-a -t 10.0.0.1:80 -r 10.0.1.3:80 -m -w 1', ''].join('\n'));
    expect(health.adopted).toEqual([
      { plan: 'TCP 10.0.0.1:80', realServer: '10.0.1.1:80', verdict: { up: true, weight: 5 } },
      { plan: 'TCP 10.0.0.1:80', realServer: '10.0.1.2:80', verdict: { up: false, weight: 1 } },
    ]);
    // Their first checks: rs1 passes at its configured weight, rs2 passes and joins.
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.1:80', { up: true, weight: 2 });
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.2:80', { up: true, weight: 1 });
    await settle();
    expect(kernel.rules()).toContain('-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2');
    expect(kernel.rules()).toContain('-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1');
  });

  it('at a first start (empty IPVS) programs every real server up, as keepalived does, and adopts nothing', async () => {
    const { health } = await started(WEB);
    expect(health.adopted).toEqual([]);
  });

  it('runs quorum_down and quorum_up when the quorum flips', async () => {
    const { director, scripts } = await started(
      WEB.replace('lb_algo rr', 'lb_algo rr\n  quorum 2\n  quorum_up "/bin/up.sh"\n  quorum_down "/bin/down.sh"'),
    );
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.1:80', { up: false, weight: 2 });
    await settle();
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.1:80', { up: true, weight: 2 });
    await settle();
    expect(scripts).toEqual(['quorum_down /bin/down.sh', 'quorum_up /bin/up.sh']);
    // Counted for /metrics: the quorum flipped twice, the real server went down and came back.
    const [vs] = director.virtualServerStatus();
    expect(vs?.quorum.changes).toBe(2);
    expect(vs?.realServers.map((rs) => [rs.address, rs.stateChanges])).toEqual([['10.0.1.1:80', 2], ['10.0.1.2:80', 0]]);
  });

  it('leaves services it does not own alone and corrects its own in place, saying what it changed', async () => {
    const kernel = new ModelKernel('-A -u 10.9.9.9:53 -s rr\n-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 5\n');
    const { director, logLines } = await started(WEB, kernel);
    // The service's settings are corrected at once; its real servers are adopted as a restart's
    // are: 10.0.1.1 keeps weight 5 and 10.0.1.2 waits until their checks say otherwise.
    expect(kernel.sent.flat().map((op) => op.op)).toEqual(['edit-service']);
    expect(kernel.rules()).toContain('-A -u 10.9.9.9:53 -s rr');
    expect(kernel.rules()).toContain('-A -t 10.0.0.1:80 -s rr');
    expect(director.virtualServerStatus()[0]?.correctedAtStart).toEqual(['scheduler wlc -> rr']);
    const status = { version: '0', pid: 1, startedAt: new Date().toISOString(), configFile: 'k.conf', reloads: { count: 0, failed: 0 }, ipvs: { state: 'in use' as const }, vrrp: [], syncDaemons: [] };
    expect(renderStatus({ ...status, virtualServers: director.virtualServerStatus() }, { color: false })).toContain(
      'TCP 10.0.0.1:80  rr     NAT     up 5/1  -\n  ! was in IPVS before lvsd with other settings, corrected: scheduler wlc -> rr\n',
    );
    expect(logLines.map(({ virtualServer, realServer, setting, was, now }) => ({ virtualServer, realServer, setting, was, now }))).toEqual([
      { virtualServer: 'TCP 10.0.0.1:80', realServer: undefined, setting: 'scheduler', was: 'wlc', now: 'rr' },
    ]);
  });

  it('reloads with the fewest changes: a weight is one edit, a new service one add per entry', async () => {
    const { director, kernel } = await started(WEB);
    const before = kernel.sent.length;
    await director.reload(config(WEB.replace('weight 2', 'weight 5')));
    await settle();
    expect(kernel.sent.slice(before).flat()).toMatchObject([{ op: 'edit-dest', dest: { addr: '10.0.1.1', weight: 5 } }]);

    const more = before + 1;
    await director.reload(config(`${WEB.replace('weight 2', 'weight 5')}\nvirtual_server 10.0.0.2 53 { protocol UDP\n lb_algo wlc\n lb_kind NAT\n real_server 10.0.1.3 53 { } }`));
    await settle();
    expect(kernel.sent.slice(more).flat().map((op) => op.op)).toEqual(['add-service', 'add-dest']);
  });

  it('deletes removed virtual servers on reload and everything it owns at stop', async () => {
    const kernel = new ModelKernel('-A -u 10.9.9.9:53 -s rr\n');
    const { director } = await started(`${WEB}\nvirtual_server 10.0.0.2 443 { real_server 10.0.1.3 443 { } }`, kernel);
    await director.reload(config(WEB));
    expect(kernel.rules()).not.toContain('10.0.0.2:443');
    await director.stop();
    expect(kernel.rules()).toBe('-A -u 10.9.9.9:53 -s rr\n');
  });

  it('puts back within one delay_loop what another tool changed in its services (keepalived never does), leaves the rest alone, and says what it found', async () => {
    const text = `${WEB.replace('lb_algo rr', 'lb_algo rr\n  delay_loop 1')}
virtual_server 10.0.0.9 80 {
  delay_loop 1
  real_server 10.0.1.1 80 { }
}`;
    const { director, kernel, logLines } = await started(text, new ModelKernel('-A -t 10.0.0.50:80 -s wlc\n-a -t 10.0.0.50:80 -r 10.0.1.7:80 -m -w 1\n'));
    const lines = (rules: string) => rules.split('\n').filter((line) => line !== '').sort();
    const programmed = lines(kernel.rules());
    // What an operator does with ipvsadm: a destination deleted (-d), a weight edited (-e), a service
    // deleted (-D), and a service lvsd does not own edited.
    kernel.table = parseRules(
      kernel.rules().split('\n')
        .filter((line) => line !== '-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2' && !line.includes('-u 10.0.0.9:80'))
        .map((line) => line.replace('-r 10.0.1.2:80 -m -w 1', '-r 10.0.1.2:80 -m -w 7').replace('-r 10.0.1.7:80 -m -w 1', '-r 10.0.1.7:80 -m -w 3'))
        .join('\n'),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(lines(kernel.rules())).toEqual(programmed.map((line) => line.replace('-r 10.0.1.7:80 -m -w 1', '-r 10.0.1.7:80 -m -w 3')));
    const drift = director.driftStatus();
    expect(drift.repairs).toBe(4);
    expect(drift.last?.changes).toEqual(expect.arrayContaining([
      'missing, added again: -a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2',
      'was -e -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 7, set back: -e -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1',
      'missing, added again: -A -u 10.0.0.9:80 -s wlc',
    ]));
    expect(logLines.find((line) => String(line.msg).includes('changed by another tool'))).toMatchObject({ msg: 'IPVS entries of lvsd changed by another tool: 4 put back' });
    const status = { version: '0', pid: 1, startedAt: new Date().toISOString(), configFile: 'k.conf', reloads: { count: 0, failed: 0 }, vrrp: [], syncDaemons: [] };
    expect(renderStatus({ ...status, ipvs: { state: 'in use', drift }, virtualServers: director.virtualServerStatus() }, { color: false })).toContain(
      `IPVS changed by another tool, put back (4 operations since start); last at ${drift.last!.at}:\n  missing, added again: -a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2\n`,
    );
    // A flush (ipvsadm -C) is repaired the same way; nothing changes while nobody touches it.
    kernel.table = [];
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(lines(kernel.rules())).toEqual(programmed.filter((line) => !line.includes('10.0.0.50')));
    const sent = kernel.sent.length;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(kernel.sent.length).toBe(sent);
    await director.stop();
  });

  it('tries a refused operation again with a growing backoff until it goes through, without holding up other changes', async () => {
    /** Refuses adding 10.0.1.1 `refusing` times, as the kernel refuses an entry that another tool left its service in a state to reject. */
    class RefusingKernel extends ModelKernel {
      refusing = 3;
      override async apply(ops: readonly IpvsOp[]) {
        const refused = ops.filter((op) => op.op === 'add-dest' && op.dest.addr === '10.0.1.1' && this.refusing > 0);
        if (refused.length > 0) this.refusing--;
        const failures = await super.apply(ops.filter((op) => !refused.includes(op)));
        return [...failures, ...refused.map((op) => ({ op, error: 'ERANGE' }))];
      }
    }
    const kernel = new RefusingKernel();
    // The first table, then the first verdicts' pass: both tried it.
    const { director } = await started(WEB, kernel);
    expect(kernel.rules()).not.toContain('10.0.1.1');
    expect(director.refusalStatus()).toMatchObject({ count: 2, last: { op: '-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2', error: 'ERANGE' }, retryInMs: 2000 });
    // A verdict's change goes through at once; the pass tries the refused entry too, and the backoff grows.
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.2:80', { up: true, weight: 5 });
    await settle();
    expect(kernel.rules()).toContain('-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 5');
    expect(director.refusalStatus()).toMatchObject({ count: 3, retryInMs: 4000 });
    const status = { version: '0', pid: 1, startedAt: new Date().toISOString(), configFile: 'k.conf', reloads: { count: 0, failed: 0 }, vrrp: [], syncDaemons: [] };
    expect(renderStatus({ ...status, ipvs: { state: 'in use', refusals: director.refusalStatus() }, virtualServers: [] }, { color: false })).toContain(
      'IPVS refused 3 operations since start, retrying with a 4 s backoff; last at',
    );
    await new Promise((resolve) => setTimeout(resolve, 4_300));
    expect(kernel.rules()).toContain('-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2');
    expect(director.refusalStatus().count).toBe(3);
    expect(director.refusalStatus().retryInMs).toBeUndefined();
    await director.stop();
  });

  it('shows a person what the kernel holds and why', async () => {
    const { director } = await started(WEB.replace('lb_algo rr', 'lb_algo rr\n  sorry_server 10.0.9.9 8080'));
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.1:80', { up: false, weight: 2 });
    await settle();
    const [vs] = director.virtualServerStatus();
    expect(vs).toMatchObject({
      name: 'TCP 10.0.0.1:80',
      scheduler: 'rr',
      method: 'NAT',
      quorum: { up: true, needed: 1, alive: 1 },
      sorryServer: { address: '10.0.9.9:8080', active: false },
      realServers: [
        { address: '10.0.1.1:80', up: false, configuredWeight: 2, ipvsWeight: undefined },
        { address: '10.0.1.2:80', up: true, configuredWeight: 1, ipvsWeight: 1 },
      ],
    });
  });
});

describe('director: what it announces over BGP', () => {
  const ANNOUNCED = `bgp_announce {\n  table 201\n}\n${WEB.replace('lb_algo rr', 'lb_algo rr\n  quorum 2\n  announce')}`;

  it('holds an announcement until checks confirm the quorum that IPVS already counts at start, and follows its loss', async () => {
    const { director } = await started(ANNOUNCED);
    const moves: number[] = [];
    director.followQuorum(() => moves.push(moves.length));
    expect(director.announcingServers()).toEqual([{ name: 'TCP 10.0.0.1:80', addresses: ['10.0.0.1'], quorumUp: true, quorumConfirmed: false }]);
    director.onChecked('TCP 10.0.0.1:80', '10.0.1.2:80');
    expect(director.announcingServers()[0]).toMatchObject({ quorumConfirmed: false });
    director.onChecked('TCP 10.0.0.1:80', '10.0.1.1:80');
    expect(director.announcingServers()[0]).toMatchObject({ quorumUp: true, quorumConfirmed: true });
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.1:80', { up: false, weight: 2 });
    await settle();
    expect(director.announcingServers()[0]).toMatchObject({ quorumUp: false, quorumConfirmed: false });
    expect(moves.length).toBeGreaterThanOrEqual(3);
  });
});
