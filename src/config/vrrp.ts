// vrrp_instance, vrrp_script, vrrp_sync_group, track_file and the static
// address/route/rule blocks, with keepalived's defaults and fix-ups.
import { isLinkLocalMulticast, isMulticast, parseIp, parsePrefix, type IpAddress } from './address.ts';
import type { Diagnostics } from './diagnostics.ts';
import type {
  AddressFamily, GlobalDefs, IpAddressSpec, IpRouteSpec, TrackFile, TrackedInterface, TrackedScript, UnhandledKeyword,
  UnicastPeer, VrrpAuthentication, VrrpInstance, VrrpNotify, VrrpScript, VrrpSyncGroup, VrrpTrackProcess,
} from './model.ts';
import type { Statement } from './tree.ts';
import {
  block, dispatch, garpExtraIf, INT_MAX, integer, UINT_MAX, ip, listWords, name, oneOf, refreshRepeat, script, text, timerMs, trueFalse, unhandled, warnOfIgnoredArgument, wholeSecondsMs,
  type Handlers, type Mutable,
} from './values.ts';

const MAX_AUTH_PASS = 8;

const ACCEPTED_UNHANDLED_INSTANCE = [
  'track_bfd',
  'use_ipvlan', 'vrf',
];

/** `ADDR[/LEN] [brd B] [dev IF] [scope S] [label L] [peer P] [options...]` */
export function parseIpAddressSpec(s: Statement, d: Diagnostics): IpAddressSpec | undefined {
  const words = [s.keyword, ...s.args];
  const prefix = parsePrefix(words[0]!.text);
  if (!prefix) {
    d.error(s.at, `'${words[0]!.text}' is not an IP address or prefix`);
    return undefined;
  }
  const spec: Mutable<IpAddressSpec> = {
    at: s.at, address: prefix.address.text, family: prefix.address.family, prefixLength: prefix.prefixLength, options: [],
  };
  const options: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!.text;
    const value = words[i + 1]?.text;
    const takesValue = ['brd', 'broadcast', 'dev', 'scope', 'label', 'peer'].includes(word);
    if (takesValue && value === undefined) {
      d.error(words[i]!.at, `'${word}' needs a value`);
      return undefined;
    }
    if (word === 'brd' || word === 'broadcast') spec.broadcast = value;
    else if (word === 'dev') spec.device = value;
    else if (word === 'scope') spec.scope = value;
    else if (word === 'label') spec.label = value;
    else if (word === 'peer') spec.peer = value;
    else {
      options.push(word);
      continue;
    }
    i++;
  }
  spec.options = options;
  return spec;
}

function addressList(s: Statement, d: Diagnostics): IpAddressSpec[] {
  return (block(s, d) ?? []).flatMap((entry) => parseIpAddressSpec(entry, d) ?? []);
}

export function routeList(s: Statement, d: Diagnostics): IpRouteSpec[] {
  return (block(s, d) ?? []).map((entry) => ({ at: entry.at, words: [entry.keyword, ...entry.args].map((t) => t.text) }));
}

/** What keepalived 2.2.7 allows after `NAME weight N` of each tracked kind, and how it reads the weight. */
interface TrackGrammar {
  kind: string;
  /** track_interface and track_script turn +/-254 into +/-253 with a warning; track_file keeps it. */
  clampsTo253: boolean;
  /** track_interface knows only `reverse`. */
  noreverse: boolean;
}

const TRACK_GRAMMARS = {
  interface: { kind: 'track_interface', clampsTo253: true, noreverse: false },
  script: { kind: 'track_script', clampsTo253: true, noreverse: true },
  file: { kind: 'track_file', clampsTo253: false, noreverse: true },
  process: { kind: 'track_process', clampsTo253: false, noreverse: true },
} satisfies Record<string, TrackGrammar>;

/** `NAME [weight N [reverse|noreverse]]` lines; keepalived ignores an entry with any other word. */
function trackList(s: Statement, d: Diagnostics, grammar: TrackGrammar): TrackedInterface[] {
  return (block(s, d) ?? []).flatMap((entry) => {
    const [keyword, value, option, ...rest] = entry.args;
    const ignore = (at: Statement['at'], why: string): TrackedInterface[] => {
      d.warn(at, `${grammar.kind} ${name(entry)}: ${why} - ignoring`);
      return [];
    };
    if (keyword === undefined) return [{ at: entry.at, name: name(entry), reverse: false }];
    if (keyword.text !== 'weight') return ignore(keyword.at, `unknown option '${keyword.text}'`);
    if (value === undefined) return ignore(keyword.at, 'weight without value');
    let weight = integer(entry, 1, d, -254, 254);
    if (weight === undefined) return [];
    if (grammar.clampsTo253 && Math.abs(weight) === 254) {
      d.warn(value.at, `${grammar.kind} ${name(entry)}: weight cannot be +/-254, using ${Math.sign(weight) * 253}`);
      weight = Math.sign(weight) * 253;
    }
    let reverse = false;
    if (option !== undefined) {
      if (option.text === 'reverse') reverse = true;
      else if (!(grammar.noreverse && option.text === 'noreverse')) return ignore(option.at, `unknown weight option '${option.text}'`);
    }
    if (rest[0]) d.warn(rest[0].at, `${grammar.kind} ${name(entry)}: '${rest[0].text}' and what follows are ignored`);
    return [{ at: entry.at, name: name(entry), reverse, weight }];
  });
}

function notifyHandlers(notify: Mutable<VrrpNotify>, d: Diagnostics): Handlers {
  const set = (key: keyof VrrpNotify) => (s: Statement) => { notify[key] = script(s, d) ?? notify[key]; };
  return {
    notify_master: set('master'),
    notify_backup: set('backup'),
    notify_fault: set('fault'),
    notify_stop: set('stop'),
    notify_deleted: set('deleted'),
    notify: set('any'),
    notify_master_rx_lower_pri: set('masterRxLowerPri'),
  };
}

export function parseVrrpScript(s: Statement, d: Diagnostics): VrrpScript | undefined {
  const scriptName = text(s, 0, d, 'a name');
  const v: Mutable<Partial<VrrpScript>> = {};
  let user: { user: string; group?: string } | undefined;
  dispatch(block(s, d) ?? [], {
    script: (t) => { v.script = script(t, d) ?? v.script; },
    interval: (t) => { v.intervalMs = timerMs(t, 0, d) ?? v.intervalMs; },
    timeout: (t) => { v.timeoutMs = timerMs(t, 0, d) ?? v.timeoutMs; },
    weight: (t) => {
      v.weight = integer(t, 0, d, -253, 253) ?? v.weight;
      v.weightReverse = t.args[1]?.text === 'reverse';
    },
    rise: (t) => { v.rise = integer(t, 0, d, 1, 0x7fffffff) ?? v.rise; },
    fall: (t) => { v.fall = integer(t, 0, d, 1, 0x7fffffff) ?? v.fall; },
    user: (t) => {
      const u = text(t, 0, d, 'a user name');
      if (u !== undefined) user = t.args[1] ? { user: u, group: t.args[1].text } : { user: u };
    },
    init_fail: (t) => {
      warnOfIgnoredArgument(t, d, 'a vrrp_script');
      v.initFail = true;
    },
  }, d, 'vrrp_script');
  if (scriptName === undefined) return undefined;
  if (!v.script) {
    d.warn(s.at, `no script set for vrrp_script ${scriptName} - removing`);
    return undefined;
  }
  const intervalMs = v.intervalMs ?? 1000;
  return {
    at: s.at,
    name: scriptName,
    script: { ...v.script, ...user },
    intervalMs,
    timeoutMs: v.timeoutMs ?? intervalMs,
    weight: v.weight ?? 0,
    weightReverse: v.weightReverse ?? false,
    rise: v.rise ?? 1,
    fall: v.fall ?? 1,
    initFail: v.initFail ?? false,
  };
}

export function parseTrackFile(s: Statement, d: Diagnostics): TrackFile | undefined {
  const fileName = text(s, 0, d, 'a name');
  const t: Mutable<Partial<TrackFile>> = {};
  dispatch(block(s, d) ?? [], {
    file: (x) => { t.file = text(x, 0, d, 'a file path') ?? t.file; },
    weight: (x) => {
      t.weight = integer(x, 0, d, -254, 254) ?? t.weight;
      t.reverse = x.args[1]?.text === 'reverse';
    },
    init_file: (x) => {
      const value = x.args[0] && x.args[0].text !== 'overwrite' ? integer(x, 0, d, -2147483648, 2147483647) : 0;
      t.initFile = { value: value ?? 0, overwrite: x.args.some((a) => a.text === 'overwrite') };
    },
  }, d, 'track_file');
  if (fileName === undefined) return undefined;
  if (t.file === undefined) {
    d.warn(s.at, `no file set for track_file ${fileName} - removing`);
    return undefined;
  }
  return { at: s.at, name: fileName, file: t.file, weight: t.weight ?? 1, reverse: t.reverse ?? false, ...(t.initFile && { initFile: t.initFile }) };
}

const QUORUM_LIMIT = 65535;
const NO_QUORUM_MAX = 0xffffffff;
const PROCESS_DELAY_MAX_SECONDS = 3600;

/** `vrrp_track_process NAME { process PATH [ARGS]; param_match; quorum; quorum_max; delay; weight W [reverse]; ... }` */
export function parseVrrpTrackProcess(s: Statement, d: Diagnostics): VrrpTrackProcess | undefined {
  const processName = text(s, 0, d, 'a name');
  const p: Mutable<Omit<VrrpTrackProcess, 'at' | 'name' | 'process'>> & { process?: string } = {
    params: [], paramMatch: 'none', fullCommand: false, weight: 0, reverse: false, quorum: 1, quorumMax: NO_QUORUM_MAX, terminateDelayMs: 0, forkDelayMs: 0,
  };
  const delay = (which: 'both' | 'terminate' | 'fork') => (t: Statement) => {
    const ms = timerMs(t, 0, d, PROCESS_DELAY_MAX_SECONDS, false);
    if (ms === undefined) return;
    if (which !== 'fork') p.terminateDelayMs = ms;
    if (which !== 'terminate') p.forkDelayMs = ms;
  };
  dispatch(block(s, d) ?? [], {
    process: (t) => {
      if (p.process !== undefined) return d.warn(t.at, `process already set for track process ${processName} - ignoring`);
      p.process = text(t, 0, d, 'a process name');
      if (t.args.length > 1) {
        p.params = t.args.slice(1).map((a) => a.text);
        if (p.paramMatch === 'none') p.paramMatch = 'exact';
        p.fullCommand = true;
      }
    },
    param_match: (t) => {
      const how = t.args[0]?.text ?? 'exact';
      if (how !== 'exact' && how !== 'initial' && how !== 'partial') return d.warn(t.args[0]!.at, `invalid param_match type ${how} - ignoring`);
      p.paramMatch = how;
      p.fullCommand = true;
    },
    full_command: () => { p.fullCommand = true; },
    weight: (t) => {
      const weight = integer(t, 0, d, -254, 254);
      if (weight === undefined) return;
      p.weight = weight;
      const option = t.args[1];
      if (option?.text === 'reverse') p.reverse = true;
      else if (option) d.warn(option.at, `vrrp_track_process ${processName} unknown weight option ${option.text}`);
    },
    quorum: (t) => {
      const quorum = integer(t, 0, d, 1, QUORUM_LIMIT);
      if (quorum === undefined) return;
      if (quorum > p.quorumMax) return d.warn(t.at, 'quorum is greater than quorum_max - ignoring');
      p.quorum = quorum;
    },
    quorum_max: (t) => {
      const max = integer(t, 0, d, 0, QUORUM_LIMIT);
      if (max === undefined) return;
      if ((max !== 0 || p.quorum > 1) && max < p.quorum) return d.warn(t.at, 'quorum_max is less than quorum - ignoring');
      p.quorumMax = max;
      // quorum_max 0: the quorum is "none running".
      p.quorum = max === 0 ? 0 : Math.max(1, p.quorum);
    },
    delay: delay('both'),
    terminate_delay: delay('terminate'),
    fork_delay: delay('fork'),
  }, d, 'vrrp_track_process');
  if (processName === undefined) return undefined;
  if (p.process === undefined) {
    d.warn(s.at, `track process '${processName}' process name not specified - removing`);
    return undefined;
  }
  return { at: s.at, name: processName, ...p, process: p.process };
}

function unicastPeers(s: Statement, d: Diagnostics): UnicastPeer[] {
  return (block(s, d) ?? []).flatMap((entry) => {
    const address = parseIp(entry.keyword.text);
    if (!address) {
      d.error(entry.at, `unicast_peer '${entry.keyword.text}' is not an IP address`);
      return [];
    }
    const peer: Mutable<UnicastPeer> = { at: entry.at, address: address.text };
    for (let i = 0; i < entry.args.length; i++) {
      const word = entry.args[i]!.text;
      if (word === 'min_ttl') peer.minTtl = integer(entry, ++i, d, 0, 255);
      else if (word === 'max_ttl') peer.maxTtl = integer(entry, ++i, d, 0, 255);
      else d.error(entry.args[i]!.at, `unknown unicast_peer option '${word}'`);
    }
    return [peer];
  });
}

const RFC_VRRP_MAC_PREFIX = '00:00:5e:00:0';

/** `use_vmac [NAME] [MAC]`, in either order, checked as keepalived 2.2.7 checks them. */
function useVmacArguments(t: Statement, v: Mutable<Partial<VrrpInstance>>, d: Diagnostics): void {
  for (const arg of t.args.slice(0, 2)) {
    const word = arg.text;
    if (!word.includes(':')) {
      if (v.vmacName !== undefined) d.warn(arg.at, 'VMAC interface name already specified');
      else if (word.length >= 16 || word === '.' || word === '..' || /[/\s]/.test(word)) d.warn(arg.at, `VMAC interface name '${word}' too long or invalid characters - ignoring`);
      else v.vmacName = word;
      continue;
    }
    if (v.vmacMac !== undefined) {
      d.warn(arg.at, 'VMAC interface address already specified');
      continue;
    }
    const octets = word.replace(/:$/, '').split(':');
    if (!octets.every((octet) => /^[0-9a-f]{1,2}$/i.test(octet)) || (octets.length !== 6 && octets.length !== 5)) {
      d.warn(arg.at, `VMAC invalid MAC address ${word} - ignored`);
      continue;
    }
    const mac = octets.map((octet) => octet.toLowerCase().padStart(2, '0')).join(':');
    if (Number.parseInt(octets[0]!, 16) & 1) d.warn(arg.at, `VMAC MAC address is multicast ${word} - ignoring`);
    else if (mac.startsWith(RFC_VRRP_MAC_PREFIX) && (mac[13] === '1' || mac[13] === '2')) d.warn(arg.at, `VMAC MAC address not allowed to be RFC5798 address (${word}) - ignoring`);
    else {
      v.vmacMac = mac;
      v.vmacMacUsesVrid = octets.length === 5;
    }
  }
}

export function parseVrrpInstance(s: Statement, globals: GlobalDefs, d: Diagnostics): VrrpInstance | undefined {
  const instanceName = text(s, 0, d, 'a name');
  const v: Mutable<Partial<VrrpInstance>> = {};
  const notify: Mutable<VrrpNotify> = {};
  const extra: UnhandledKeyword[] = [];
  let stateToken: Statement | undefined;
  let unicastTtlAt: Statement['at'] | undefined;
  let mcastDst: { at: Statement['at']; address: IpAddress } | undefined;
  let promoteSecondariesAt: Statement['at'] | undefined;
  let trackSrcIpAt: Statement['at'] | undefined;
  /** keepalived 2.2.7's "unicast configured": unicast_src_ip, unicast_peer (even empty), check_unicast_src, unicast_fault_no_peer or old_unicast_checksum. */
  let unicastKeywordSeen = false;
  let authentication: Partial<Mutable<VrrpAuthentication>> & { at?: Statement["at"] } = {};
  const lists = {
    vips: [] as IpAddressSpec[], excluded: [] as IpAddressSpec[], routes: [] as IpRouteSpec[], rules: [] as IpRouteSpec[],
    interfaces: [] as TrackedInterface[], scripts: [] as TrackedScript[], files: [] as TrackedScript[], processes: [] as TrackedScript[],
    peers: [] as UnicastPeer[],
  };
  const setBare = (key: 'nopreempt' | 'vmacXmitBase' | 'useVmacAddr' | 'dontTrackPrimary' | 'accept' | 'nativeIpv6') => (t: Statement) => {
    warnOfIgnoredArgument(t, d, 'a vrrp_instance');
    v[key] = true;
  };
  const setTrueFalse = (key: 'strictMode' | 'lowerPrioNoAdvert' | 'higherPrioSendAdvert') => (t: Statement) => {
    v[key] = trueFalse(t, d, (word) => `(${instanceName}) invalid ${name(t)} ${word} specified`) ?? v[key];
  };
  const handlers: Handlers = {
    ...Object.fromEntries(ACCEPTED_UNHANDLED_INSTANCE.map((k) => [k, (t: Statement) => void extra.push(unhandled(t))])),
    ...notifyHandlers(notify, d),
    state: (t) => {
      stateToken = t;
      v.state = oneOf(t, 0, d, ['MASTER', 'BACKUP'] as const, (w) => w.toUpperCase()) ?? v.state;
    },
    interface: (t) => { v.interface = text(t, 0, d, 'an interface') ?? v.interface; },
    virtual_router_id: (t) => { v.virtualRouterId = integer(t, 0, d, 1, 255) ?? v.virtualRouterId; },
    priority: (t) => { v.priority = integer(t, 0, d, 1, 255) ?? v.priority; },
    advert_int: (t) => { v.advertIntMs = timerMs(t, 0, d, 255) ?? v.advertIntMs; },
    version: (t) => {
      const version = integer(t, 0, d, 2, 3);
      if (version === 2 || version === 3) v.version = version;
    },
    nopreempt: setBare('nopreempt'),
    preempt: (t) => d.warn(t.at, "'preempt' is the default and is ignored"),
    preempt_delay: (t) => { v.preemptDelayMs = timerMs(t, 0, d, 1000) ?? v.preemptDelayMs; },
    authentication: (t) => {
      authentication = { at: t.at };
      dispatch(block(t, d) ?? [], {
        auth_type: (x) => { authentication.type = oneOf(x, 0, d, ['PASS', 'AH'] as const, (w) => w.toUpperCase()); },
        auth_pass: (x) => { authentication.password = text(x, 0, d, 'a password'); },
      }, d, 'authentication');
    },
    virtual_ipaddress: (t) => { lists.vips.push(...addressList(t, d)); },
    virtual_ipaddress_excluded: (t) => { lists.excluded.push(...addressList(t, d)); },
    virtual_routes: (t) => { lists.routes.push(...routeList(t, d)); },
    virtual_rules: (t) => { lists.rules.push(...routeList(t, d)); },
    track_interface: (t) => { lists.interfaces.push(...trackList(t, d, TRACK_GRAMMARS.interface)); },
    track_script: (t) => { lists.scripts.push(...trackList(t, d, TRACK_GRAMMARS.script)); },
    track_file: (t) => { lists.files.push(...trackList(t, d, TRACK_GRAMMARS.file)); },
    track_process: (t) => { lists.processes.push(...trackList(t, d, TRACK_GRAMMARS.process)); },
    unicast_src_ip: (t) => { v.unicastSrcIp = ip(t, 0, d)?.text ?? v.unicastSrcIp; },
    unicast_peer: (t) => {
      unicastKeywordSeen = true;
      lists.peers.push(...unicastPeers(t, d));
    },
    check_unicast_src: () => {
      unicastKeywordSeen = true;
      v.checkUnicastSrc = true;
    },
    old_unicast_checksum: (t) => {
      unicastKeywordSeen = true;
      const mode = t.args[0]?.text;
      if (mode === undefined) v.oldUnicastChecksum = 'always';
      else if (mode === 'never') v.oldUnicastChecksum = 'never';
      else d.error(t.args[0]!.at, `(${instanceName}) Unknown old_unicast_chksum mode ${mode}`);
    },
    unicast_fault_no_peer: () => {
      unicastKeywordSeen = true;
      v.unicastFaultNoPeer = true;
    },
    mcast_src_ip: (t) => { v.mcastSrcIp = ip(t, 0, d)?.text ?? v.mcastSrcIp; },
    // keepalived 2.2.7 reads no argument here.
    track_src_ip: (t) => { trackSrcIpAt = t.at; },
    mcast_dst_ip: (t) => {
      const address = ip(t, 0, d);
      if (!address) return;
      if (address.family === 'inet' ? !isMulticast(address) : !isLinkLocalMulticast(address)) {
        return d.error(t.args[0]!.at, `(${instanceName}) mcast_dst_ip ${address.text} not${address.family === 'inet6' ? ' link-local' : ''} multicast`);
      }
      mcastDst = { at: t.at, address };
    },
    use_vmac: (t) => {
      v.useVmac = true;
      useVmacArguments(t, v, d);
    },
    vmac_xmit_base: setBare('vmacXmitBase'),
    use_vmac_addr: setBare('useVmacAddr'),
    dont_track_primary: setBare('dontTrackPrimary'),
    // keepalived 2.2.7 reads no argument here.
    promote_secondaries: (t) => {
      v.promoteSecondaries = true;
      promoteSecondariesAt = t.at;
    },
    garp_master_delay: (t) => { v.garpMasterDelayMs = timerMs(t, 0, d) ?? v.garpMasterDelayMs; },
    garp_master_repeat: (t) => { v.garpMasterRepeat = integer(t, 0, d, 1, 255) ?? v.garpMasterRepeat; },
    garp_master_refresh: (t) => { v.garpMasterRefreshMs = wholeSecondsMs(t, d) ?? v.garpMasterRefreshMs; },
    garp_master_refresh_repeat: (t) => { v.garpMasterRefreshRepeat = refreshRepeat(t, d) ?? v.garpMasterRefreshRepeat; },
    garp_lower_prio_delay: (t) => { v.garpLowerPrioDelayMs = wholeSecondsMs(t, d) ?? v.garpLowerPrioDelayMs; },
    garp_lower_prio_repeat: (t) => { v.garpLowerPrioRepeat = integer(t, 0, d, 0, INT_MAX) ?? v.garpLowerPrioRepeat; },
    garp_extra_if: (t) => { v.garpExtraIf = garpExtraIf(t, d, 0) ?? v.garpExtraIf; },
    vmac_garp_intvl: (t) => { v.garpExtraIf = garpExtraIf(t, d, 0, 'garp_extra_if') ?? v.garpExtraIf; },
    down_timer_adverts: (t) => { v.downTimerAdverts = integer(t, 0, d, 1, 100) ?? v.downTimerAdverts; },
    unicast_ttl: (t) => {
      v.unicastTtl = integer(t, 0, d, 0, 255) ?? v.unicastTtl;
      unicastTtlAt = t.at;
    },
    notify_priority_changes: (t) => {
      const value = trueFalse(t, d, (word) => `(${instanceName}) Invalid value '${word}' for notify_priority_changes specified`);
      v.notifyPriorityChanges = value ?? v.notifyPriorityChanges;
    },
    // keepalived 2.2.7 only shows the level in its configuration dump.
    debug: (t) => void integer(t, 0, d, 0, 4),
    linkbeat_use_polling: (t) => {
      d.warn(t.at, `(${instanceName}) 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block; lvsd reads every interface's state once a second anyway (over netlink, where keepalived's polling asks the NIC by MII or ethtool)`);
    },
    kernel_rx_buf_size: (t) => {
      if (t.args.length !== 1) return d.error(t.at, `(${instanceName}) invalid kernel_rx_buf_size specified`);
      v.kernelRxBufSize = integer(t, 0, d, 0, UINT_MAX) ?? v.kernelRxBufSize;
    },
    lvs_sync_daemon_interface: (t) => {
      d.warn(t.at, `(${instanceName}) specifying lvs_sync_daemon_interface against a vrrp is deprecated, use global lvs_sync_daemon`);
      v.lvsSyncDaemonInterface = text(t, 0, d, 'an interface');
    },
    smtp_alert: (t) => { v.smtpAlert = trueFalse(t, d, (word) => `Invalid vrrp_instance smtp_alert parameter ${word}`) ?? v.smtpAlert; },
    accept: setBare('accept'),
    no_accept: (t) => {
      warnOfIgnoredArgument(t, d, 'a vrrp_instance');
      v.accept = false;
    },
    skip_check_adv_addr: (t) => {
      const value = trueFalse(t, d, (word) => `(${instanceName}) invalid skip_check_adv_addr ${word} specified`);
      if (value === undefined) return;
      // keepalived 2.2.7 (and later) sets it for 'false' too.
      if (!value) d.warn(t.args[0]!.at, `(${instanceName}) skip_check_adv_addr ${t.args[0]!.text}: keepalived 2.2.7 sets it all the same, and so does lvsd`);
      v.skipCheckAdvAddr = true;
    },
    strict_mode: setTrueFalse('strictMode'),
    lower_prio_no_advert: setTrueFalse('lowerPrioNoAdvert'),
    higher_prio_send_advert: setTrueFalse('higherPrioSendAdvert'),
    native_ipv6: setBare('nativeIpv6'),
  };
  dispatch(block(s, d) ?? [], handlers, d, 'vrrp_instance');
  if (instanceName === undefined) return undefined;
  if (v.virtualRouterId === undefined) {
    d.error(s.at, `(${instanceName}) virtual_router_id is not set`);
    return undefined;
  }

  const family: AddressFamily = v.nativeIpv6 ? 'inet6' : (lists.vips[0]?.family ?? 'inet');
  const vips = lists.vips.filter((vip) => {
    if (vip.family === family) return true;
    d.warn(vip.at, `(${instanceName}): address family must match VRRP instance [${vip.address}] - ignoring`);
    return false;
  });
  if (vips.length === 0) {
    d.error(s.at, `(${instanceName}) No VIP specified; at least one is required`);
  }
  let unicastSrcIp = v.unicastSrcIp;
  if (unicastSrcIp !== undefined && parseIp(unicastSrcIp)?.family !== family) {
    d.warn(s.at, `(${instanceName}): address family must match VRRP instance [${unicastSrcIp}] - ignoring`);
    unicastSrcIp = undefined;
  }
  const unicastFaultNoPeer = v.unicastFaultNoPeer ?? false;
  if ((unicastSrcIp !== undefined || unicastKeywordSeen) && lists.peers.length === 0) {
    if (unicastFaultNoPeer) d.warn(s.at, `(${instanceName}) Cannot use unicast without any peers - going to fault state`);
    else d.warn(s.at, `(${instanceName}) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration.`);
  }
  let mcastDstIp = mcastDst?.address.text;
  if (mcastDst && mcastDst.address.family !== family) {
    d.warn(mcastDst.at, `(${instanceName}) mcast dest address ${mcastDst.address.text} MUST match VRRP instance family. Skipping...`);
    mcastDstIp = undefined;
  } else if (mcastDst && lists.peers.length > 0) {
    d.warn(mcastDst.at, `(${instanceName}) multicast destination specified with unicast - ignoring`);
    mcastDstIp = undefined;
  }
  const trackSrcIp = trackSrcIpAt !== undefined && (unicastSrcIp ?? v.mcastSrcIp) !== undefined;
  if (trackSrcIpAt && trackSrcIp) {
    d.warn(trackSrcIpAt, `(${instanceName}) track_src_ip: lvsd keeps the instance in FAULT while its configured source address is not on its interface, as keepalived's manual says; keepalived 2.2.7 never does (it compares the address with the start of its sockaddr)`);
  } else if (trackSrcIpAt) {
    d.warn(trackSrcIpAt, `(${instanceName}) track_src_ip without mcast_src_ip or unicast_src_ip is ignored, as keepalived ignores it`);
  }
  let promoteSecondaries = v.promoteSecondaries ?? false;
  if (promoteSecondaries && v.useVmac) {
    d.warn(promoteSecondariesAt ?? s.at, `(${instanceName}) promote_secondaries is automatically set for vmacs - ignoring`);
    promoteSecondaries = false;
  }
  let vmacXmitBase = v.vmacXmitBase ?? false;
  if (vmacXmitBase && !v.useVmac) {
    d.warn(s.at, `(${instanceName}) vmac_xmit_base is only valid with a vmac`);
    vmacXmitBase = false;
  } else if (v.useVmac && (v.unicastSrcIp !== undefined || unicastKeywordSeen) && !vmacXmitBase) {
    // keepalived 2.2.7 asks for a unicast keyword here, peers or none.
    d.warn(s.at, `(${instanceName}) unicast with use_vmac requires vmac_xmit_base - setting`);
    vmacXmitBase = true;
  }
  for (const route of lists.routes) {
    if (!route.words.some((word) => word === 'dev' || word === 'oif' || word === 'no_track')) {
      d.warn(route.at, `(${instanceName}) cannot track route '${route.words.join(' ')}' with no interface specified, not tracking`);
    }
  }
  let unicastTtl = v.unicastTtl;
  if (unicastTtl !== undefined && lists.peers.length === 0) {
    // keepalived 2.2.7 resets it to 0, and its multicast adverts then never leave the host: every
    // router of the VRID becomes master. A deliberate difference: lvsd keeps multicast's TTL 255.
    d.warn(unicastTtlAt ?? s.at, `(${instanceName}): Cannot use unicast_ttl without unicast peers - ignoring it: multicast adverts keep TTL 255 (keepalived 2.2.7 sets 0, and then sends no advert off the host)`);
    unicastTtl = undefined;
  }
  const strictMode = v.strictMode ?? globals.vrrp.strict;
  const strictReset = <T>(value: T | undefined, fallback: T, relaxed: T, what: string): T => {
    if (value === undefined) return strictMode ? relaxed : fallback;
    if (strictMode && value !== relaxed) {
      d.warn(s.at, `(${instanceName}) ${what} - resetting`);
      return relaxed;
    }
    return value;
  };
  const garpLowerPrioRepeat = strictReset(v.garpLowerPrioRepeat, globals.vrrp.garpLowerPrioRepeat ?? globals.vrrp.garpMasterRepeat, 0, 'Strict mode requires no repeat garps.');
  const garpLowerPrioDelayMs = strictReset(v.garpLowerPrioDelayMs, globals.vrrp.garpLowerPrioDelayMs ?? globals.vrrp.garpMasterDelayMs, 0, 'Strict mode requires no repeat garp delay.');
  let vmacMac = v.vmacMac;
  if (strictMode && vmacMac !== undefined) {
    d.warn(s.at, `(${instanceName}): cannot specify MAC address with strict mode - clearing`);
    vmacMac = undefined;
  }
  if (strictMode && vmacXmitBase) {
    d.warn(s.at, `(${instanceName}) xmit_base is incompatible with strict mode - resetting`);
    vmacXmitBase = false;
  }
  let downTimerAdverts = v.downTimerAdverts ?? globals.vrrp.downTimerAdverts;
  if (strictMode && downTimerAdverts !== 3) {
    d.warn(s.at, `(${instanceName}) down_timer_adverts is incompatible with strict mode - resetting`);
    downTimerAdverts = 3;
  }
  let lowerPrioNoAdvert = v.lowerPrioNoAdvert ?? (strictMode || globals.vrrp.lowerPrioNoAdvert);
  if (strictMode && !lowerPrioNoAdvert) {
    d.warn(s.at, `(${instanceName}) Strict mode requires no lower priority advert. resetting`);
    lowerPrioNoAdvert = true;
  }
  let higherPrioSendAdvert = v.higherPrioSendAdvert ?? (!strictMode && globals.vrrp.higherPrioSendAdvert);
  if (strictMode && higherPrioSendAdvert) {
    d.warn(s.at, `(${instanceName}) strict mode requires higher_prio_send_advert to be clear. resetting`);
    higherPrioSendAdvert = false;
  }
  let version = v.version ?? globals.vrrp.version;
  if (family === 'inet6' && version === 2) {
    if (v.version === 2) d.warn(s.at, `(${instanceName}) VRRP version 2 cannot carry IPv6, using version 3`);
    version = 3;
  }
  let advertIntMs = v.advertIntMs ?? 1000;
  if (version === 2 && advertIntMs % 1000 !== 0) {
    const rounded = Math.max(1000, Math.round(advertIntMs / 1000) * 1000);
    d.warn(s.at, `(${instanceName}) VRRPv2 advert_int must be whole seconds, using ${rounded / 1000}`);
    advertIntMs = rounded;
  } else if (version === 3 && advertIntMs % 10 !== 0) {
    advertIntMs = Math.max(10, Math.round(advertIntMs / 10) * 10);
    d.warn(s.at, `(${instanceName}) VRRPv3 advert_int has centisecond resolution, using ${advertIntMs / 1000}`);
  }
  if (advertIntMs === 0) {
    d.error(s.at, `(${instanceName}) advert_int must be greater than 0`);
  }

  let state = v.state ?? 'BACKUP';
  let auth: VrrpAuthentication | undefined;
  if (authentication.at) {
    if (!authentication.type || authentication.password === undefined) {
      d.error(authentication.at, `(${instanceName}) authentication needs auth_type and auth_pass`);
    } else if (version === 3) {
      d.warn(authentication.at, `(${instanceName}) VRRP version 3 does not support authentication. Ignoring.`);
    } else if (strictMode) {
      d.warn(authentication.at, `(${instanceName}) Strict mode does not support authentication. Ignoring.`);
    } else {
      let password = authentication.password;
      if (password.length > MAX_AUTH_PASS) {
        d.warn(authentication.at, `(${instanceName}) auth_pass is longer than ${MAX_AUTH_PASS} characters, truncated`);
        password = password.slice(0, MAX_AUTH_PASS);
      }
      auth = { type: authentication.type, password };
      if (auth.type === 'AH' && state === 'MASTER') {
        d.warn(stateToken?.at ?? s.at, `(${instanceName}) initial state master is incompatible with AH authentication - clearing`);
        state = 'BACKUP';
      }
    }
  }
  // keepalived makes an initial MASTER without a priority the address owner.
  const priority = v.priority ?? (state === 'MASTER' ? 255 : 100);
  // keepalived's wanted state: an address owner wants MASTER unless its state says BACKUP.
  if (stateToken === undefined && priority === 255) state = 'MASTER';
  let nopreempt = v.nopreempt ?? false;
  if (nopreempt && priority === 255) {
    d.warn(s.at, `(${instanceName}) nopreempt is incompatible with priority 255. resetting nopreempt`);
    nopreempt = false;
  } else if (nopreempt && state === 'MASTER') {
    d.warn(stateToken?.at ?? s.at, `(${instanceName}) Warning - nopreempt will not work with initial state MASTER - clearing`);
    nopreempt = false;
  }
  let preemptDelayMs = v.preemptDelayMs ?? 0;
  if (preemptDelayMs > 0 && state === 'MASTER') {
    d.warn(stateToken?.at ?? s.at, `(${instanceName}) Warning - preempt delay will not work with initial state MASTER - clearing`);
    preemptDelayMs = 0;
  }

  return {
    at: s.at,
    name: instanceName,
    state,
    ...(v.interface !== undefined && { interface: v.interface }),
    virtualRouterId: v.virtualRouterId,
    priority,
    advertIntMs,
    version,
    family,
    nopreempt,
    preemptDelayMs,
    ...(auth && { authentication: auth }),
    virtualIpaddresses: vips,
    virtualIpaddressesExcluded: lists.excluded,
    virtualRoutes: lists.routes,
    virtualRules: lists.rules,
    trackInterfaces: lists.interfaces,
    trackScripts: lists.scripts,
    trackFiles: lists.files,
    trackProcesses: lists.processes,
    unicastSrcIp,
    unicastPeers: lists.peers,
    checkUnicastSrc: v.checkUnicastSrc ?? false,
    unicastFaultNoPeer,
    oldUnicastChecksum: v.oldUnicastChecksum ?? 'detect',
    ...(v.mcastSrcIp !== undefined && { mcastSrcIp: v.mcastSrcIp }),
    trackSrcIp,
    ...(mcastDstIp !== undefined && { mcastDstIp }),
    useVmac: v.useVmac ?? false,
    ...(v.vmacName !== undefined && { vmacName: v.vmacName }),
    ...(vmacMac !== undefined && { vmacMac, vmacMacUsesVrid: v.vmacMacUsesVrid ?? false }),
    vmacXmitBase,
    useVmacAddr: v.useVmacAddr ?? false,
    dontTrackPrimary: v.dontTrackPrimary ?? false,
    promoteSecondaries,
    garpMasterDelayMs: v.garpMasterDelayMs ?? globals.vrrp.garpMasterDelayMs,
    garpMasterRepeat: v.garpMasterRepeat ?? globals.vrrp.garpMasterRepeat,
    garpMasterRefreshMs: v.garpMasterRefreshMs ?? globals.vrrp.garpMasterRefreshMs,
    garpMasterRefreshRepeat: v.garpMasterRefreshRepeat ?? globals.vrrp.garpMasterRefreshRepeat,
    garpLowerPrioDelayMs,
    garpLowerPrioRepeat,
    downTimerAdverts,
    ...((v.garpExtraIf ?? globals.vrrp.garpExtraIf) && { garpExtraIf: v.garpExtraIf ?? globals.vrrp.garpExtraIf }),
    ...(unicastTtl !== undefined && { unicastTtl }),
    ...(v.notifyPriorityChanges !== undefined && { notifyPriorityChanges: v.notifyPriorityChanges }),
    kernelRxBufSize: v.kernelRxBufSize ?? 0,
    ...(v.lvsSyncDaemonInterface !== undefined && { lvsSyncDaemonInterface: v.lvsSyncDaemonInterface }),
    notify,
    ...((v.smtpAlert ?? globals.smtpAlertVrrp ?? globals.smtpAlert) !== undefined && { smtpAlert: v.smtpAlert ?? globals.smtpAlertVrrp ?? globals.smtpAlert }),
    accept: v.accept ?? !globals.vrrp.strict,
    skipCheckAdvAddr: v.skipCheckAdvAddr ?? globals.vrrp.skipCheckAdvAddr,
    strictMode,
    lowerPrioNoAdvert,
    higherPrioSendAdvert,
    nativeIpv6: v.nativeIpv6 ?? false,
    unhandled: extra,
  };
}

export function parseVrrpSyncGroup(s: Statement, d: Diagnostics): VrrpSyncGroup | undefined {
  const groupName = text(s, 0, d, 'a name');
  const notify: Mutable<VrrpNotify> = {};
  const g: Mutable<Partial<VrrpSyncGroup>> = {};
  const instances: string[] = [];
  const lists = { interfaces: [] as TrackedInterface[], scripts: [] as TrackedScript[], files: [] as TrackedScript[], processes: [] as TrackedScript[] };
  dispatch(block(s, d) ?? [], {
    ...notifyHandlers(notify, d),
    group: (t) => { instances.push(...listWords(block(t, d) ?? []).map((w) => w.text)); },
    smtp_alert: (t) => { g.smtpAlert = trueFalse(t, d, (word) => `Invalid vrrp_group smtp_alert parameter ${word}`) ?? g.smtpAlert; },
    notify_priority_changes: (t) => {
      const value = trueFalse(t, d, (word) => `(${groupName}) Invalid value '${word}' for sync group notify_priority_changes specified`);
      g.notifyPriorityChanges = value ?? g.notifyPriorityChanges;
    },
    global_tracking: (t) => {
      d.warn(t.at, "'global_tracking' is deprecated, use track_interface/track_script/track_file on the group");
      warnOfIgnoredArgument(t, d, 'a vrrp_sync_group');
      g.globalTracking = true;
    },
    sync_group_tracking_weight: (t) => {
      warnOfIgnoredArgument(t, d, 'a vrrp_sync_group');
      g.trackingWeight = true;
    },
    track_interface: (t) => { lists.interfaces.push(...trackList(t, d, TRACK_GRAMMARS.interface)); },
    track_script: (t) => { lists.scripts.push(...trackList(t, d, TRACK_GRAMMARS.script)); },
    track_file: (t) => { lists.files.push(...trackList(t, d, TRACK_GRAMMARS.file)); },
    track_process: (t) => { lists.processes.push(...trackList(t, d, TRACK_GRAMMARS.process)); },
  }, d, 'vrrp_sync_group');
  if (groupName === undefined) return undefined;
  return {
    at: s.at,
    name: groupName,
    instances,
    notify,
    ...(g.smtpAlert !== undefined && { smtpAlert: g.smtpAlert }),
    ...(g.notifyPriorityChanges !== undefined && { notifyPriorityChanges: g.notifyPriorityChanges }),
    globalTracking: g.globalTracking ?? false,
    trackingWeight: (g.trackingWeight ?? false) || (g.globalTracking ?? false),
    trackInterfaces: lists.interfaces,
    trackScripts: lists.scripts,
    trackFiles: lists.files,
    trackProcesses: lists.processes,
  };
}

export function parseStaticAddresses(s: Statement, d: Diagnostics): IpAddressSpec[] {
  return addressList(s, d);
}
