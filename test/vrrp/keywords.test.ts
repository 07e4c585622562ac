// Every keyword keepalived 2.2.7 installs for vrrp_instance (keepalived/vrrp/vrrp_parser.c) is
// either one lvsd acts on, or one `lvsctl check` names as not honoured. Nothing is accepted
// silently and then ignored.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCommand } from '../../src/cli/check.ts';

/** keepalived 2.2.7's vrrp_instance keywords, each with a line that uses it. */
const KEEPALIVED_KEYWORDS: Record<string, string> = {
  use_vmac: 'use_vmac',
  use_vmac_addr: 'use_vmac_addr',
  vmac_xmit_base: 'vmac_xmit_base',
  use_ipvlan: 'use_ipvlan',
  unicast_peer: 'unicast_peer {\n    127.0.0.2\n  }',
  unicast_fault_no_peer: 'unicast_fault_no_peer',
  check_unicast_src: 'check_unicast_src',
  old_unicast_checksum: 'old_unicast_checksum',
  native_ipv6: 'native_ipv6',
  state: 'state MASTER',
  interface: 'interface lo',
  vrf: 'vrf red',
  dont_track_primary: 'dont_track_primary',
  track_interface: 'track_interface {\n    lo weight 10 reverse\n  }',
  track_script: 'track_script {\n    chk weight -10 reverse\n  }',
  track_file: 'track_file {\n    tf weight 3 reverse\n  }',
  track_process: 'track_process {\n    proc weight 5 reverse\n  }',
  track_bfd: 'track_bfd {\n    bfd\n  }',
  mcast_src_ip: 'mcast_src_ip 127.0.0.1',
  unicast_src_ip: 'unicast_src_ip 127.0.0.1',
  mcast_dst_ip: 'mcast_dst_ip 224.0.0.19',
  track_src_ip: 'track_src_ip',
  virtual_router_id: 'virtual_router_id 52',
  unicast_ttl: 'unicast_ttl 5',
  version: 'version 3',
  priority: 'priority 90',
  advert_int: 'advert_int 2',
  virtual_ipaddress: 'virtual_ipaddress {\n    192.0.2.12/32\n  }',
  virtual_ipaddress_excluded: 'virtual_ipaddress_excluded {\n    192.0.2.11/32\n  }',
  promote_secondaries: 'promote_secondaries',
  linkbeat_use_polling: 'linkbeat_use_polling',
  virtual_routes: 'virtual_routes {\n    192.0.2.128/25 dev lo\n  }',
  virtual_rules: 'virtual_rules {\n    from 192.0.2.1 table 100 priority 100\n  }',
  accept: 'accept',
  no_accept: 'no_accept',
  skip_check_adv_addr: 'skip_check_adv_addr',
  strict_mode: 'strict_mode',
  preempt: 'preempt',
  nopreempt: 'nopreempt',
  preempt_delay: 'preempt_delay 5',
  debug: 'debug 2',
  notify_backup: 'notify_backup /bin/true',
  notify_master: 'notify_master /bin/true',
  notify_fault: 'notify_fault /bin/true',
  notify_stop: 'notify_stop /bin/true',
  notify_deleted: 'notify_deleted /bin/true',
  notify: 'notify /bin/true',
  notify_master_rx_lower_pri: 'notify_master_rx_lower_pri /bin/true',
  smtp_alert: 'smtp_alert',
  notify_priority_changes: 'notify_priority_changes',
  lvs_sync_daemon_interface: 'lvs_sync_daemon_interface lo',
  garp_master_delay: 'garp_master_delay 3',
  garp_master_refresh: 'garp_master_refresh 10',
  garp_master_repeat: 'garp_master_repeat 3',
  garp_master_refresh_repeat: 'garp_master_refresh_repeat 2',
  garp_lower_prio_delay: 'garp_lower_prio_delay 5',
  garp_lower_prio_repeat: 'garp_lower_prio_repeat 2',
  down_timer_adverts: 'down_timer_adverts 5',
  garp_extra_if: 'garp_extra_if all 10',
  vmac_garp_intvl: 'vmac_garp_intvl 10',
  lower_prio_no_advert: 'lower_prio_no_advert',
  higher_prio_send_advert: 'higher_prio_send_advert',
  kernel_rx_buf_size: 'kernel_rx_buf_size 65536',
  authentication: 'authentication {\n    auth_type PASS\n    auth_pass secret\n  }',
};

/**
 * What lvsd acts on as keepalived does. `preempt` is keepalived's default; `accept` is what lvsd
 * always does; `garp_master_refresh_repeat` does nothing without `garp_master_refresh` (which is
 * named) in keepalived either; keepalived 2.2.7 only shows `debug` in its configuration dump.
 */
const HONOURED = new Set([
  'unicast_peer', 'native_ipv6', 'state', 'interface', 'track_interface', 'track_script', 'mcast_src_ip', 'unicast_src_ip',
  'virtual_router_id', 'version', 'priority', 'advert_int', 'virtual_ipaddress', 'virtual_ipaddress_excluded', 'virtual_routes',
  'accept', 'preempt', 'nopreempt', 'preempt_delay', 'notify_backup', 'notify_master', 'notify_fault', 'notify_stop', 'notify',
  'garp_master_delay', 'garp_master_repeat', 'garp_master_refresh_repeat', 'authentication', 'lvs_sync_daemon_interface',
  'lower_prio_no_advert', 'higher_prio_send_advert', 'garp_master_refresh', 'garp_lower_prio_delay', 'garp_lower_prio_repeat',
  'down_timer_adverts', 'unicast_ttl', 'check_unicast_src', 'unicast_fault_no_peer', 'notify_priority_changes', 'track_file', 'virtual_rules', 'track_process', 'use_vmac', 'vmac_xmit_base', 'use_vmac_addr',
  'skip_check_adv_addr', 'mcast_dst_ip', 'promote_secondaries', 'kernel_rx_buf_size', 'debug',
  'old_unicast_checksum', 'garp_extra_if', 'vmac_garp_intvl',
]);

const scratch = mkdtempSync(join(tmpdir(), 'lvsd-vrrp-keywords-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `lvsctl check`'s warnings for one instance that uses `line` as its last setting. */
async function warningsFor(keyword: string, line: string): Promise<string[]> {
  const file = join(scratch, `${keyword}.conf`);
  const setup = [
    'global_defs {\n  enable_script_security\n  script_user root\n}',
    'vrrp_script chk {\n  script /bin/true\n}',
    'track_file tf {\n  file /dev/null\n}',
    'vrrp_track_process proc {\n  process init\n}',
  ];
  const vip = keyword === 'native_ipv6' ? '2001:db8::10/128' : '192.0.2.10/32';
  const instance = ['vrrp_instance VI_1 {', '  interface lo', '  virtual_router_id 51', '  virtual_ipaddress {', `    ${vip}`, '  }', `  ${line}`, '}'];
  writeFileSync(file, `${[...setup, ...instance].join('\n')}\n`);
  const out = new PassThrough();
  const err = new PassThrough();
  const lines: string[] = [];
  err.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter((l) => l !== '')));
  out.resume();
  expect(await checkCommand(['-f', file], out, err)).toBe(0);
  return lines;
}

describe("keepalived 2.2.7's vrrp_instance keywords", () => {
  it.each(Object.entries(KEEPALIVED_KEYWORDS))('%s is honoured, or named by lvsctl check', async (keyword, line) => {
    const warnings = await warningsFor(keyword, line);
    expect(warnings.filter((w) => w.includes('unknown keyword'))).toEqual([]);
    const named = warnings.filter((w) => w.includes(keyword) && /: warning: /.test(w));
    if (HONOURED.has(keyword)) expect(warnings.filter((w) => /not supported/.test(w))).toEqual([]);
    else expect(named).not.toEqual([]);
  });
});

describe('keywords keepalived 2.2.7 does not have', () => {
  // keepalived 2.2.7's parser installs none of these (vrrp_parser.c; `ipvlan` is `use_ipvlan`, and
  // no release up to 2.4.3 has no_accept_check or vmac_xmit_base_addr): keepalived logs "Unknown
  // keyword" for them, and lvsd names them as unknown at their line instead of accepting them silently.
  it.for(['no_accept_check', 'vmac_xmit_base_addr', 'ipvlan', 'rfc_compliant', 'evip_other_family', 'mcast_src_ip_v6'])('%s is named as an unknown keyword at its line', async (keyword) => {
    const warnings = await warningsFor(keyword, keyword);
    expect(warnings).toContainEqual(expect.stringMatching(new RegExp(`:20:3: warning: unknown keyword '${keyword}' in vrrp_instance, ignored$`)));
  });
});
