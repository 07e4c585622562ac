// One description of a VRRP peer, rendered either as a keepalived.conf or as lvsd's speaker spec,
// so interop tests configure both implementations identically.
import { LAB_INTERFACE, type Lab, type Node } from './lab.ts';
import type { VrrpInstanceSpec } from '../../src/vrrp/types.ts';
import { defaultVmacName, virtualRouterMac } from '../../src/vrrp/vmac.ts';
import { VRRP_MULTICAST_V4, VRRP_MULTICAST_V6 } from '../../src/vrrp/packet.ts';

export interface PeerConfig {
  name: string;
  vrid: number;
  version: 2 | 3;
  priority: number;
  advertIntervalMs: number;
  /** keepalived's `state`; both implementations start a non-owner as BACKUP whatever it says, and an owner as BACKUP only when it says so. */
  initialState?: 'MASTER' | 'BACKUP';
  preempt?: boolean;
  vip: string;
  vipPrefix: number;
  password?: string;
  /** With `password`: PASS unless AH. */
  authType?: 'PASS' | 'AH';
  /** Unicast: our source and the peer; multicast when absent. */
  unicast?: { source: string; peer: string; minTtl?: number };
  /** check_unicast_src: with `unicast`, adverts from any other source are dropped. */
  checkUnicastSrc?: boolean;
  /** unicast_fault_no_peer; without `unicast`, keepalived gets unicast_src_ip set to `unicastSource`. */
  unicastFaultNoPeer?: boolean;
  /** unicast_src_ip without unicast_peer (keepalived: a unicast keyword, so multicast or FAULT). */
  unicastSource?: string;
  /** lvsd only: a `notify` script appending its arguments to this file. */
  notifyLog?: string;
  /** A vrrp_script `test -e FILE` tracked with this weight. */
  checkFile?: { path: string; weight: number };
  /** garp_master_repeat (5 by default). */
  garpMasterRepeat?: number;
  garpMasterRefresh?: { seconds: number; repeat: number };
  /** garp_lower_prio_repeat and _delay; keepalived defaults them to the global garp_master repeat (5) and delay (0 here). */
  garpLowerPrio?: { repeat: number; delaySeconds: number };
  downTimerAdverts?: number;
  unicastTtl?: number;
  higherPrioSendAdvert?: boolean;
  /** notify_priority_changes, with vrrp_notify_fifo at this path. */
  priorityFifo?: string;
  /** use_vmac [name], and vmac_xmit_base. */
  vmac?: { name?: string; xmitBase?: boolean };
}

export function keepalivedConfig(peer: PeerConfig): string {
  const lines = [
    'global_defs {',
    `  router_id ${peer.name}`,
    '  script_user root',
    '  vrrp_garp_master_delay 0',
    ...(peer.priorityFifo ? [`  vrrp_notify_fifo ${peer.priorityFifo}`] : []),
    '}',
  ];
  if (peer.checkFile) {
    lines.push('vrrp_script check_file {', `  script "/usr/bin/test -e ${peer.checkFile.path}"`, '  interval 1', `  weight ${peer.checkFile.weight}`, '  fall 1', '  rise 1', '}');
  }
  lines.push(
    'vrrp_instance VI {',
    `  state ${peer.initialState ?? 'BACKUP'}`,
    `  interface ${LAB_INTERFACE}`,
    `  virtual_router_id ${peer.vrid}`,
    `  priority ${peer.priority}`,
    `  advert_int ${peer.advertIntervalMs / 1000}`,
    `  version ${peer.version}`,
  );
  if (peer.preempt === false) lines.push('  nopreempt');
  if (peer.password) lines.push('  authentication {', `    auth_type ${peer.authType ?? 'PASS'}`, `    auth_pass ${peer.password}`, '  }');
  if (peer.unicast) lines.push(`  unicast_src_ip ${peer.unicast.source}`, '  unicast_peer {', `    ${peer.unicast.peer}${peer.unicast.minTtl === undefined ? '' : ` min_ttl ${peer.unicast.minTtl}`}`, '  }');
  lines.push('  virtual_ipaddress {', `    ${peer.vip}/${peer.vipPrefix} dev ${LAB_INTERFACE}`, '  }');
  if (peer.checkFile) lines.push('  track_script {', '    check_file', '  }');
  lines.push(...keywordLines(peer), '}', '');
  return lines.join('\n');
}

function keywordLines(peer: PeerConfig): string[] {
  return [
    ...(peer.garpMasterRepeat === undefined ? [] : [`  garp_master_repeat ${peer.garpMasterRepeat}`]),
    ...(peer.garpMasterRefresh ? [`  garp_master_refresh ${peer.garpMasterRefresh.seconds}`, `  garp_master_refresh_repeat ${peer.garpMasterRefresh.repeat}`] : []),
    ...(peer.garpLowerPrio ? [`  garp_lower_prio_repeat ${peer.garpLowerPrio.repeat}`, `  garp_lower_prio_delay ${peer.garpLowerPrio.delaySeconds}`] : []),
    ...(peer.downTimerAdverts === undefined ? [] : [`  down_timer_adverts ${peer.downTimerAdverts}`]),
    ...(peer.unicastTtl === undefined ? [] : [`  unicast_ttl ${peer.unicastTtl}`]),
    ...(peer.checkUnicastSrc ? ['  check_unicast_src'] : []),
    ...(peer.unicastFaultNoPeer ? ['  unicast_fault_no_peer'] : []),
    ...(peer.unicastSource ? [`  unicast_src_ip ${peer.unicastSource}`] : []),
    ...(peer.priorityFifo ? ['  notify_priority_changes'] : []),
    ...(peer.higherPrioSendAdvert ? ['  higher_prio_send_advert'] : []),
    ...(peer.vmac ? [`  use_vmac${peer.vmac.name === undefined ? '' : ` ${peer.vmac.name}`}`, ...(peer.vmac.xmitBase ? ['  vmac_xmit_base'] : [])] : []),
  ];
}

export function speakerInstance(peer: PeerConfig): VrrpInstanceSpec {
  const family = peer.vip.includes(':') ? 6 : 4;
  return {
    name: peer.name,
    interface: LAB_INTERFACE,
    vrid: peer.vrid,
    version: peer.version,
    family,
    priority: peer.priority,
    initialState: peer.initialState ?? 'BACKUP',
    advertIntervalMs: peer.advertIntervalMs,
    preempt: peer.preempt ?? true,
    preemptDelayMs: 0,
    lowerPrioNoAdvert: false,
    sourceAddress: peer.unicast?.source ?? peer.unicastSource,
    trackSourceAddress: false,
    unicastPeers: peer.unicast ? [peer.unicast.peer] : [],
    multicastGroup: family === 4 ? VRRP_MULTICAST_V4 : VRRP_MULTICAST_V6,
    oldChecksum: { mode: 'detect', group: VRRP_MULTICAST_V4 },
    checkUnicastSource: (peer.checkUnicastSrc ?? false) || peer.unicast?.minTtl !== undefined,
    peerTtlRanges: peer.unicast?.minTtl === undefined ? [] : [{ address: peer.unicast.peer, minTtl: peer.unicast.minTtl, maxTtl: 255 }],
    skipCheckAdvAddr: false,
    configFaults: peer.unicastFaultNoPeer && !peer.unicast ? ['unicast_fault_no_peer: unicast without any unicast_peer'] : [],
    unicastTtl: peer.unicastTtl,
    downTimerAdverts: peer.downTimerAdverts ?? 3,
    kernelRxBufSize: 0,
    authentication: peer.password ? { type: peer.authType === 'AH' ? 'ah' : 'pass', password: peer.password } : { type: 'none' },
    addressVmacs: [],
    promoteSecondaries: false,
    vmac: peer.vmac && { name: peer.vmac.name ?? defaultVmacName(peer.vrid), mac: virtualRouterMac(peer.vrid, family), xmitBase: peer.vmac.xmitBase ?? false },
    virtualAddresses: [{ address: peer.vip, prefixLength: peer.vipPrefix, dev: undefined, label: undefined, scope: 'global' }],
    excludedAddresses: [],
    virtualRoutes: [],
    virtualRules: [],
    trackScripts: peer.checkFile
      ? [
          {
            weight: peer.checkFile.weight,
            reverse: false,
            script: {
              name: 'check_file',
              command: `/usr/bin/test -e ${peer.checkFile.path}`,
              intervalMs: 1000,
              timeoutMs: 1000,
              weight: peer.checkFile.weight,
              fall: 1,
              rise: 1,
              initFail: false,
              user: undefined,
            },
          },
        ]
      : [],
    trackInterfaces: [],
    trackFiles: [],
    trackProcesses: [],
    garp: {
      masterDelayMs: 0,
      masterRepeat: peer.garpMasterRepeat ?? 5,
      intervalMs: 0,
      refreshMs: (peer.garpMasterRefresh?.seconds ?? 0) * 1000,
      refreshRepeat: peer.garpMasterRefresh?.repeat ?? 1,
      lowerPrioRepeat: peer.garpLowerPrio?.repeat ?? 5,
      lowerPrioDelayMs: (peer.garpLowerPrio?.delaySeconds ?? 0) * 1000,
      extraInterfacesMs: 0,
      extraInterfacesAll: false,
    },
    notify: {
      master: undefined,
      backup: undefined,
      fault: undefined,
      stop: undefined,
      any: peer.notifyLog === undefined ? undefined : `/bin/sh -c 'echo "$*" >> ${peer.notifyLog}' notify`,
      fifo: peer.priorityFifo,
      priorityChanges: peer.priorityFifo !== undefined,
    },
  };
}

export type Implementation = 'lvsd' | 'keepalived';

/** Starts either implementation on `node` with the same description; `kill` stops it without a goodbye advert. */
export async function startPeer(lab: Lab, node: Node, implementation: Implementation, peer: PeerConfig): Promise<{ kill(): Promise<void> }> {
  if (implementation === 'lvsd') {
    const child = await lab.startSpeaker(node, peer.name, [speakerInstance(peer)]);
    return { kill: () => lab.stop(child, 'SIGKILL') };
  }
  lab.startKeepalived(node, peer.name, keepalivedConfig(peer));
  await lab.waitForKeepalivedPids(peer.name);
  return {
    async kill() {
      for (const pid of lab.keepalivedPids(peer.name)) process.kill(pid, 'SIGKILL');
    },
  };
}
