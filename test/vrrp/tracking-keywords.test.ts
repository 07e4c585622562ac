// `weight … reverse` on track_script and track_interface, and track_file, against keepalived 2.2.7
// in the two-node lab (lab.ts): both read the same keepalived.conf, each is the only router of its
// VRID, and the priorities in their adverts on the link are compared.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labForTest, LAB_INTERFACE, run, sleep } from './lab.ts';
import { advertisedPriorities, startBoth, type Router } from './same-config.ts';

/** One instance tracking a script, a veth link and two files, every weight reversed. */
function config({ vrid, vip, dir }: Router): string {
  return `global_defs {
  router_id r${vrid}
  script_user root
  vrrp_garp_master_delay 0
}
vrrp_script chk {
  script /bin/true
  interval 1
  weight 10 reverse
}
track_file level {
  file ${dir}/level
  weight 3
  init_file 2 overwrite
}
track_file gate {
  file ${dir}/gate
  init_file 1 overwrite
}
vrrp_instance VI {
  state BACKUP
  interface ${LAB_INTERFACE}
  virtual_router_id ${vrid}
  priority 100
  advert_int 1
  version 2
  track_script {
    chk
  }
  track_interface {
    trk weight 5 reverse
  }
  track_file {
    level weight 4 reverse
    gate weight 0 reverse
  }
  virtual_ipaddress {
    ${vip}/24 dev ${LAB_INTERFACE}
  }
}
`;
}

describe('tracking with reverse weights and track_file, against keepalived 2.2.7', () => {
  it('gives the same effective priority in adverts, follows writes to the files at once, and goes to FAULT on a weight 0 reverse file holding 0', async (context) => {
    const lab = await labForTest(context);
    for (const node of [lab.a, lab.b]) {
      await run('ip', ['-n', node.ns, 'link', 'add', 'trk', 'type', 'veth', 'peer', 'name', 'trk-peer']);
      for (const link of ['trk', 'trk-peer']) await run('ip', ['-n', node.ns, 'link', 'set', link, 'up']);
    }
    const { keepalived, lvsd, warnings } = await startBoth(lab, config);
    // keepalived says the same about its vrrp_script; nothing else is left unhandled.
    expect(warnings).toEqual(['SECURITY VIOLATION - scripts are being executed but script_security not enabled']);
    // Each is master of its own VRID after its 3 s down timer.
    for (const router of [keepalived, lvsd]) expect(await lab.waitForAddress(router.node, router.vip, true, 9000)).toBe(true);

    // 100 - 10 (script up, weight 10 reverse) - 5 (trk up, weight 5 reverse) - 2 × 4 (level, weight 4 reverse).
    expect(await advertisedPriorities(lab, [keepalived, lvsd])).toEqual([[77], [77]]);

    // A write is seen at once (inotify in keepalived, a directory watch in lvsd): level 5 counts -20.
    for (const router of [keepalived, lvsd]) writeFileSync(join(router.dir, 'level'), '5\n');
    // trk losing carrier: a positive reversed weight counts only while up. 100 - 10 - 20.
    for (const router of [keepalived, lvsd]) await run('ip', ['-n', router.node.ns, 'link', 'set', 'trk-peer', 'down']);
    await sleep(1500);
    expect(await advertisedPriorities(lab, [keepalived, lvsd])).toEqual([[70], [70]]);
    expect((await lab.speakerStatus('lvsd'))[0]).toMatchObject({ state: 'MASTER', effectivePriority: 70 });

    // gate (weight 0 reverse) holding 0: FAULT, the VIP leaves and the adverts stop.
    for (const router of [keepalived, lvsd]) writeFileSync(join(router.dir, 'gate'), '0\n');
    for (const router of [keepalived, lvsd]) expect(await lab.waitForAddress(router.node, router.vip, false, 3000)).toBe(true);
    expect((await lab.speakerStatus('lvsd'))[0]?.state).toBe('FAULT');
    expect(await advertisedPriorities(lab, [keepalived, lvsd])).toEqual([[], []]);
  }, 60_000);
});

/** A sync group member whose own failing script has a weight: keepalived 2.2.7 drops the script. */
function syncGroupConfig({ vrid, vip }: Router): string {
  return `global_defs {
  router_id r${vrid}
  script_user root
  vrrp_garp_master_delay 0
}
vrrp_script failing {
  script /bin/false
  interval 1
  weight -30
}
vrrp_script group_check {
  script /bin/true
  interval 1
}
vrrp_sync_group G {
  group {
    VI
  }
  track_script {
    group_check weight 15
  }
}
vrrp_instance VI {
  interface ${LAB_INTERFACE}
  virtual_router_id ${vrid}
  priority 100
  advert_int 1
  track_script {
    failing
  }
  virtual_ipaddress {
    ${vip}/24 dev ${LAB_INTERFACE}
  }
}
`;
}

describe('a sync group without sync_group_tracking_weight, against keepalived 2.2.7', () => {
  it("ignores a member's own weighted script and keeps the group's weights", async (context) => {
    const lab = await labForTest(context);
    const { keepalived, lvsd, warnings } = await startBoth(lab, syncGroupConfig);
    expect(warnings.some((w) => w.includes('ignoring tracked script failing with weight -30 due to SYNC group'))).toBe(true);
    for (const router of [keepalived, lvsd]) expect(await lab.waitForAddress(router.node, router.vip, true, 9000)).toBe(true);
    // 100 + 15 (group_check up); failing's -30 is not counted.
    expect(await advertisedPriorities(lab, [keepalived, lvsd])).toEqual([[115], [115]]);
  }, 60_000);
});
