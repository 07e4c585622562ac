import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.ts';
import { sharedVm } from '../kernel/vm.ts';
import { keepalivedDump } from './keepalived-dump.ts';
import { fixed, generated, keepalivedInstances, lvsdInstances, samples, withKnownDifferences } from './vrrp-settings.ts';

// Every VRRP instance must resolve as keepalived's VRRP process dumps it (keepalived -d):
// version, priority, advert interval, preemption, gratuitous ARP timing (lower-priority bursts and
// those on extra interfaces too), the down timer's advert count, adverts on lower/higher priority,
// accept mode, authentication (AH too), virtual addresses and the vmacs they go on, use_vmac and
// vmac_xmit_base, tracking with its weights, the unicast keywords (peers and their TTL ranges,
// unicast_ttl, check_unicast_src, unicast_fault_no_peer's fault, old_unicast_checksum), the
// multicast group, skip_check_adv_addr, promote_secondaries and kernel_rx_buf_size, virtual
// routes and rules (each word lvsd programs; keepalived's add/append/prepend and a route's
// no_track are not compared, lvsd having neither), notify_priority_changes (from the instance,
// its sync group or global_defs, a value in upper case ignored), with keepalived's defaults,
// globals and corrections (e.g. nopreempt or preempt_delay cleared on an instance that starts as
// master).
// Two Debian samples use what lvsd does not program (a multipath and a blackhole virtual route;
// static_rules, which shift keepalived's numbering of a virtual rule): each such setting is
// recorded with keepalived's value and lvsd's (vrrp-settings.ts SAMPLE_DIFFERENCES), both are
// asserted, and every other setting of those samples is compared as usual.

// One keepalived at a time: starting several at once starves the conformance cases that share
// the emulated CPU (one needed its retry when these ran concurrently).
describe('VRRP instances resolve as keepalived -d shows them', () => {
  for (const { name, text, differences = [] } of [...samples, ...fixed, ...generated]) {
    it(name, async () => {
      const vm = await sharedVm();
      const file = join(vm.scratchDir(), 'keepalived.conf');
      writeFileSync(file, text);
      const parsed = parseConfigText(text, file);
      if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
      const theirs = keepalivedInstances(await keepalivedDump(vm, file, 'vrrp'));
      for (const { why, instance, setting, keepalived } of differences) expect(theirs[instance]?.[setting], `keepalived's side of: ${why}`).toBe(keepalived);
      expect(lvsdInstances(parsed.config)).toEqual(withKnownDifferences(theirs, differences));
    });
  }
});
