// virtual_server_group, virtual_server, real_server and sorry_server, with
// keepalived's defaults (wlc, NAT, TCP, weight 1, quorum 1, delay_loop 60 s)
// and its fix-ups (duplicate real servers dropped, DR/TUN ports reset).
import { readAnnounce, resolveAnnounce, type AnnounceDraft } from './bgp.ts';
import { parseIp, parseRange, type IpAddress } from './address.ts';
import { CHECKER_KINDS, defaultDelayLoopMs, INHERITABLE, parseChecker, resolveChecker, type Inheritable, type ParsedChecker } from './checkers.ts';
import type { Diagnostics } from './diagnostics.ts';
import type {
  AddressFamily, Checker, ForwardingMethod, SourceLocation, LbAlgo, LbKind, RealServer, ScriptCommand, SorryServer, TrackFile,
  VirtualServer, VirtualServerGroup, VirtualServerGroupEntry, VirtualServerKey, VsProtocol,
} from './model.ts';
import type { Token } from './source.ts';
import type { Statement } from './tree.ts';
import {
  block, dispatchTo, integer, lift, name, oneOf, port, script, text, trueFalse, warnOfIgnoredArgument, type Handler, type HandlerTable, type Mutable,
} from './values.ts';

const LB_ALGOS: readonly LbAlgo[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];
const LB_KINDS: readonly LbKind[] = ['NAT', 'DR', 'TUN'];
const PROTOCOLS: readonly VsProtocol[] = ['TCP', 'UDP', 'SCTP'];
const DEFAULT_PERSISTENCE_TIMEOUT_SEC = 360;
const MAX_WEIGHT = 2147483647;
/**
 * keepalived 2.2.7 really does default an address or group service to UDP
 * ("no protocol set - defaulting to UDP"); lvsd keeps that so a config
 * behaves as it did under keepalived, and says so in a warning.
 */
const DEFAULT_PROTOCOL: VsProtocol = 'UDP';

export function parseVirtualServerGroup(s: Statement, d: Diagnostics): VirtualServerGroup | undefined {
  const groupName = text(s, 0, d, 'a group name');
  const entries: VirtualServerGroupEntry[] = [];
  for (const entry of block(s, d) ?? []) {
    if (name(entry) === 'fwmark') {
      const fwmark = integer(entry, 0, d, 1, 0xffffffff);
      const familyWord = entry.args[1]?.text;
      if (familyWord !== undefined && familyWord !== 'inet' && familyWord !== 'inet6') {
        d.error(entry.args[1]!.at, `fwmark family must be inet or inet6, got '${familyWord}'`);
        continue;
      }
      if (fwmark !== undefined) entries.push({ at: entry.at, kind: 'fwmark', fwmark, family: familyWord });
      continue;
    }
    const range = parseRange(entry.keyword.text);
    if (!range) {
      d.error(entry.at, `'${entry.keyword.text}' is not an address, address range or prefix`);
      continue;
    }
    const entryPort = entry.args[0] ? port(entry, 0, d) : 0;
    if (entryPort === undefined) continue;
    entries.push({ at: entry.at, kind: 'range', family: range.first.family, first: range.first.text, last: range.last.text, port: entryPort });
  }
  if (groupName === undefined) return undefined;
  if (entries.length === 0) d.warn(s.at, `virtual_server_group ${groupName} has no entries`);
  return { at: s.at, name: groupName, entries };
}

/** `lvs_method TUN type gue port 6080 csum` */
function forwardingMethod(s: Statement, d: Diagnostics): ForwardingMethod | undefined {
  const kind = oneOf(s, 0, d, LB_KINDS, (w) => w.toUpperCase());
  if (kind === undefined) return undefined;
  if (kind !== 'TUN') {
    if (s.args.length > 1) d.warn(s.args[1]!.at, `options after ${kind} ignored`);
    return { kind };
  }
  const method: Mutable<ForwardingMethod> = { kind, tunnelType: 'ipip' };
  for (let i = 1; i < s.args.length; i++) {
    const word = s.args[i]!.text;
    if (word === 'type') {
      method.tunnelType = oneOf(s, ++i, d, ['ipip', 'gue', 'gre'] as const) ?? 'ipip';
    } else if (word === 'port') {
      method.tunnelPort = integer(s, ++i, d, 1, 65535);
    } else if (word === 'nocsum' || word === 'csum' || word === 'remcsum') {
      method.tunnelChecksum = word;
    } else {
      d.error(s.args[i]!.at, `unknown tunnel option '${word}'`);
    }
  }
  if (method.tunnelType === 'gue' && method.tunnelPort === undefined) {
    d.error(s.at, 'GUE tunnels need a port (lvs_method TUN type gue port N)');
  }
  return method;
}

interface RealServerFields {
  weight?: number;
  forwarding?: ForwardingMethod;
  inhibitOnFailure?: boolean;
  notifyUp?: ScriptCommand;
  notifyDown?: ScriptCommand;
  upperThreshold?: number;
  lowerThreshold?: number;
  smtpAlert?: boolean;
  snmpName?: string;
}

interface ParsedRealServer {
  readonly at: Statement['at'];
  /** The virtual server's lb_kind when this real_server was read: keepalived copies it then. */
  readonly inheritedForwarding?: ForwardingMethod | undefined;
  readonly address: IpAddress;
  readonly port: number | undefined;
  readonly settings: Mutable<Inheritable>;
  readonly fields: RealServerFields;
  readonly checkers: ParsedChecker[];
}

type RealServerState = Pick<ParsedRealServer, 'settings' | 'fields' | 'checkers'>;

const REAL_SERVER: HandlerTable<RealServerState> = {
  ...lift(INHERITABLE, (rs: RealServerState) => rs.settings),
  ...Object.fromEntries(
    CHECKER_KINDS.map((kind) => [kind, (s: Statement, rs: RealServerState, d: Diagnostics) => void rs.checkers.push(parseChecker(s, kind, d))]),
  ),
  BFD_CHECK: (s, _rs, d) => d.error(s.at, 'BFD_CHECK is not supported by lvsd'),
  ...lift<RealServerFields, RealServerState>({
    weight: (s, f, d) => { f.weight = integer(s, 0, d, 0, MAX_WEIGHT) ?? f.weight; },
    lvs_method: (s, f, d) => { f.forwarding = forwardingMethod(s, d) ?? f.forwarding; },
    inhibit_on_failure: (s, f, d) => { f.inhibitOnFailure = trueFalse(s, d, (word) => `Invalid inhibit_on_failure parameter ${word}`) ?? f.inhibitOnFailure; },
    notify_up: (s, f, d) => { f.notifyUp = script(s, d) ?? f.notifyUp; },
    notify_down: (s, f, d) => { f.notifyDown = script(s, d) ?? f.notifyDown; },
    uthreshold: (s, f, d) => { f.upperThreshold = integer(s, 0, d, 0, 0x7fffffff); },
    lthreshold: (s, f, d) => { f.lowerThreshold = integer(s, 0, d, 0, 0x7fffffff); },
    smtp_alert: (s, f, d) => { f.smtpAlert = trueFalse(s, d, (word) => `Invalid real_server smtp_alert parameter ${word}`) ?? f.smtpAlert; },
    snmp_name: (s, f, d) => { f.snmpName = text(s, 0, d); },
  }, (rs) => rs.fields),
};

function addressAndPort(s: Statement, d: Diagnostics, what: string): { address: IpAddress; port: number | undefined } | undefined {
  const addressToken = s.args[0];
  const address = addressToken && parseIp(addressToken.text);
  if (!address) {
    d.error(addressToken?.at ?? s.at, `${what} needs an IP address${addressToken ? `, got '${addressToken.text}'` : ''}`);
    return undefined;
  }
  if (!s.args[1]) return { address, port: undefined };
  const p = port(s, 1, d);
  return p === undefined ? undefined : { address, port: p };
}

function parseRealServer(s: Statement, inheritedForwarding: ForwardingMethod | undefined, d: Diagnostics): ParsedRealServer | undefined {
  const target = addressAndPort(s, d, 'real_server');
  const state: RealServerState = { settings: {}, fields: {}, checkers: [] };
  dispatchTo(s.block ?? [], REAL_SERVER, state, d, 'real_server');
  if (!target) return undefined;
  const { settings, fields, checkers } = state;
  return { at: s.at, inheritedForwarding, address: target.address, port: target.port, settings, fields, checkers };
}

type ParsedKey =
  | { readonly kind: 'address'; readonly address: IpAddress; readonly port: number | undefined }
  | Exclude<VirtualServerKey, { kind: 'address' }>;

function parseKey(s: Statement, d: Diagnostics): ParsedKey | undefined {
  const first = s.args[0];
  if (first?.text === 'fwmark') {
    const fwmark = integer(s, 1, d, 1, 0xffffffff);
    return fwmark === undefined ? undefined : { kind: 'fwmark', fwmark };
  }
  if (first?.text === 'group') {
    const group = text(s, 1, d, 'a group name');
    return group === undefined ? undefined : { kind: 'group', group };
  }
  const target = addressAndPort(s, d, 'virtual_server');
  return target && { kind: 'address', address: target.address, port: target.port };
}

export interface LvsContext {
  readonly groups: ReadonlyMap<string, VirtualServerGroup>;
  readonly trackFiles: ReadonlyMap<string, TrackFile>;
}

export function keyText(key: VirtualServerKey, family: AddressFamily): string {
  switch (key.kind) {
    case 'address':
      return `${key.protocol} ${family === 'inet6' ? `[${key.address}]` : key.address}:${key.port}`;
    case 'fwmark':
      return `fwmark ${key.fwmark}`;
    case 'group':
      return `group ${key.group}`;
  }
}

function familyOfGroup(group: VirtualServerGroup): AddressFamily | undefined {
  for (const entry of group.entries) {
    if (entry.kind === 'range') return entry.family;
    if (entry.family) return entry.family;
  }
  return undefined;
}

interface SchedulerFlags {
  flag1: boolean;
  flag2: boolean;
  flag3: boolean;
}

interface VirtualServerState {
  readonly settings: Mutable<Inheritable>;
  readonly v: Mutable<Partial<VirtualServer>>;
  protocolToken?: Token;
  ipFamily?: AddressFamily;
  persistenceGiven: boolean;
  haSuspendAt?: SourceLocation;
  /** `weight` of the virtual_server: the weight of its real servers that set none. */
  realServerWeight?: number;
  readonly flags: SchedulerFlags;
  readonly sorry: { statement?: Statement; forwarding?: ForwardingMethod; inheritedForwarding?: ForwardingMethod | undefined; inhibit: boolean };
  readonly realServers: ParsedRealServer[];
  announce?: AnnounceDraft;
}

/**
 * A flag keepalived 2.2.7 reads no argument for in a virtual_server (a real_server or a checker
 * reads yes/no): there `alpha no` sets alpha. lvsd sets it too, and points at the word.
 */
const bareFlag = (set: (vs: VirtualServerState) => void) => (s: Statement, vs: VirtualServerState, d: Diagnostics) => {
  warnOfIgnoredArgument(s, d, 'a virtual_server');
  set(vs);
};

const setHaSuspend = bareFlag((vs) => { vs.v.haSuspend = true; });

/** keepalived 2.2.7 ignores sorry_server_inhibit and sorry_server_lvs_method written before sorry_server. */
const ofSorryServer = (handler: Handler<VirtualServerState>): Handler<VirtualServerState> => (s, vs, d) => {
  if (vs.sorry.statement) handler(s, vs, d);
  else d.warn(s.at, `'${name(s)}' before sorry_server is ignored, as keepalived 2.2.7 ignores it`);
};

const setFlag = (key: keyof SchedulerFlags) => (_s: Statement, vs: VirtualServerState) => { vs.flags[key] = true; };
/** sh-port and sh-fallback count only once `lb_algo sh` is read (mh-* once mh is): keepalived 2.2.7 ignores them otherwise. */
const schedulerFlag = (scheduler: LbAlgo, key: keyof SchedulerFlags) => (s: Statement, vs: VirtualServerState, d: Diagnostics) => {
  if (vs.v.lbAlgo === scheduler) vs.flags[key] = true;
  else d.warn(s.at, `${name(s)} only applies to the ${scheduler} scheduler, set before it: ignored, as keepalived 2.2.7 ignores it`);
};
const readAlgo = (s: Statement, vs: VirtualServerState, d: Diagnostics) => { vs.v.lbAlgo = oneOf(s, 0, d, LB_ALGOS) ?? vs.v.lbAlgo; };
const readKind = (s: Statement, vs: VirtualServerState, d: Diagnostics) => { vs.v.forwarding = forwardingMethod(s, d) ?? vs.v.forwarding; };

const VIRTUAL_SERVER: HandlerTable<VirtualServerState> = {
  ...lift(INHERITABLE, (vs: VirtualServerState) => vs.settings),
  alpha: bareFlag((vs) => { vs.settings.alpha = true; }),
  lb_algo: readAlgo,
  lvs_sched: readAlgo,
  lb_kind: readKind,
  lvs_method: readKind,
  protocol: (s, vs, d) => {
    vs.protocolToken = s.args[0];
    vs.v.protocol = oneOf(s, 0, d, PROTOCOLS, (w) => w.toUpperCase()) ?? vs.v.protocol;
  },
  persistence_timeout: (s, vs, d) => {
    vs.persistenceGiven = true;
    vs.v.persistenceTimeoutSec = s.args[0] ? integer(s, 0, d, 1, 31 * 86400) : DEFAULT_PERSISTENCE_TIMEOUT_SEC;
  },
  persistence_granularity: (s, vs, d) => {
    const granularity = text(s, 0, d, 'a netmask');
    if (granularity === undefined) return;
    vs.v.persistenceGranularity = granularity;
    // keepalived: a granularity makes the service persistent, at the default timeout unless one is set.
    vs.persistenceGiven = true;
    vs.v.persistenceTimeoutSec ??= DEFAULT_PERSISTENCE_TIMEOUT_SEC;
  },
  persistence_engine: (s, vs, d) => { vs.v.persistenceEngine = text(s, 0, d, 'an engine name'); },
  ha_suspend: (s, vs, d) => {
    vs.haSuspendAt = s.at;
    setHaSuspend(s, vs, d);
  },
  smtp_alert: (s, vs, d) => { vs.v.smtpAlert = trueFalse(s, d, (word) => `Invalid virtual_server smtp_alert parameter ${word}`) ?? vs.v.smtpAlert; },
  snmp_name: (s, vs, d) => { vs.v.snmpName = text(s, 0, d); },
  omega: bareFlag((vs) => { vs.v.omega = true; }),
  weight: (s, vs, d) => { vs.realServerWeight = integer(s, 0, d, 1, MAX_WEIGHT) ?? vs.realServerWeight; },
  quorum: (s, vs, d) => { vs.v.quorum = integer(s, 0, d, 1, 0x7fffffff) ?? vs.v.quorum; },
  hysteresis: (s, vs, d) => { vs.v.hysteresis = integer(s, 0, d, 0, 0x7fffffff) ?? vs.v.hysteresis; },
  announce: (s, vs, d) => { vs.announce = readAnnounce(s, d); },
  quorum_up: (s, vs, d) => { vs.v.quorumUp = script(s, d) ?? vs.v.quorumUp; },
  quorum_down: (s, vs, d) => { vs.v.quorumDown = script(s, d) ?? vs.v.quorumDown; },
  ip_family: (s, vs, d) => { vs.ipFamily = oneOf(s, 0, d, ['inet', 'inet6'] as const) ?? vs.ipFamily; },
  inhibit_on_failure: bareFlag((vs) => { vs.v.inhibitOnFailure = true; }),
  sorry_server: (s, vs) => {
    vs.sorry.statement = s;
    vs.sorry.inheritedForwarding = vs.v.forwarding;
  },
  sorry_server_inhibit: ofSorryServer(bareFlag((vs) => { vs.sorry.inhibit = true; })),
  sorry_server_lvs_method: ofSorryServer((s, vs, d) => { vs.sorry.forwarding = forwardingMethod(s, d) ?? vs.sorry.forwarding; }),
  'flag-1': setFlag('flag1'),
  'sh-fallback': schedulerFlag('sh', 'flag1'),
  'mh-fallback': schedulerFlag('mh', 'flag1'),
  'flag-2': setFlag('flag2'),
  'sh-port': schedulerFlag('sh', 'flag2'),
  'mh-port': schedulerFlag('mh', 'flag2'),
  'flag-3': setFlag('flag3'),
  ops: bareFlag((vs) => { vs.v.ops = true; }),
  nat_mask: (s, _vs, d) => d.warn(s.at, "'nat_mask' is obsolete and ignored"),
  real_server: (s, vs, d) => {
    const rs = parseRealServer(s, vs.v.forwarding, d);
    if (rs) vs.realServers.push(rs);
  },
};

/** Its own lvs_method, else the lb_kind in force when it was read, else the virtual server's. */
function forwardingOf(rs: ParsedRealServer, forwarding: ForwardingMethod): ForwardingMethod {
  return rs.fields.forwarding ?? rs.inheritedForwarding ?? forwarding;
}

/** A virtual_server block read but not yet resolved against groups and track files. */
export interface VirtualServerDraft {
  readonly at: SourceLocation;
  /** `virtual_server 10.0.0.1 80` as written, for messages */
  readonly described: string;
  readonly key: ParsedKey | undefined;
  readonly keyAt: SourceLocation;
  readonly state: VirtualServerState;
}

/** Whether resolving the draft looks up a virtual_server_group or a track_file: either may be defined after it. */
export function refersToDefinitions(draft: VirtualServerDraft): boolean {
  return draft.key?.kind === 'group' || draft.state.realServers.some((rs) => rs.checkers.some((checker) => checker.specific.kind === 'FILE_CHECK'));
}

export function readVirtualServer(s: Statement, d: Diagnostics): VirtualServerDraft {
  const key = parseKey(s, d);
  const state: VirtualServerState = {
    settings: {}, v: {}, persistenceGiven: false, flags: { flag1: false, flag2: false, flag3: false }, sorry: { inhibit: false }, realServers: [],
  };
  dispatchTo(block(s, d) ?? [], VIRTUAL_SERVER, state, d, 'virtual_server');
  return { at: s.at, described: `virtual_server ${s.args.map((a) => a.text).join(' ')}`, key, keyAt: s.args[1]?.at ?? s.at, state };
}

/**
 * The port a DR or TUN destination is programmed with, as keepalived fixes it: the virtual
 * server's port, and none (0) for an fwmark service, whatever the configuration wrote. A group's
 * real servers keep theirs (keepalived only warns there).
 */
function forwardedPort(
  written: number | undefined, configured: number, forwarding: ForwardingMethod, key: VirtualServerKey, vsPort: number, what: string, at: SourceLocation, d: Diagnostics,
): number {
  if (forwarding.kind === 'NAT' || written === undefined || key.kind === 'group') return configured;
  if (key.kind === 'fwmark') {
    if (written !== 0) d.warn(at, `${what} port ${written} is ignored for an fwmark service with ${forwarding.kind} - clearing`);
    return 0;
  }
  if (written !== vsPort) d.warn(at, `${what} port ${written} is ignored for ${forwarding.kind}, using the virtual server port ${vsPort}`);
  return vsPort;
}

/**
 * keepalived 2.2.7 clears ha_suspend on an fwmark service, with an error. On a virtual_server_group
 * of addresses it keeps it, but its address matching returns false for every group (check_api.c,
 * addr_matches), so those checks stay suspended for good: lvsd does the same, and says so.
 */
function resolveHaSuspend(haSuspend: boolean, key: VirtualServerKey, context: LvsContext, described: string, at: SourceLocation, d: Diagnostics): boolean {
  if (!haSuspend) return false;
  const group = key.kind === 'group' ? context.groups.get(key.group) : undefined;
  if (key.kind === 'fwmark' || group?.entries.some((entry) => entry.kind === 'fwmark')) {
    d.warn(at, `${described}: cannot use ha_suspend with fwmarks - clearing ha_suspend`);
    return false;
  }
  if (key.kind === 'group') {
    d.warn(at, `${described}: ha_suspend on a virtual_server_group: keepalived 2.2.7 never finds a group's addresses on the host, so these checks never run (lvsd does the same)`);
  }
  return true;
}

export function resolveVirtualServer(draft: VirtualServerDraft, context: LvsContext, d: Diagnostics): VirtualServer | undefined {
  const { at, described, key: parsedKey } = draft;
  const { settings, v, protocolToken, ipFamily, persistenceGiven, realServerWeight, flags, sorry, realServers, announce } = draft.state;
  if (!parsedKey) return undefined;

  if (!v.lbAlgo) d.warn(at, `${described}: no scheduler set, setting default 'wlc'`);
  if (!v.forwarding) d.warn(at, `${described}: no forwarding method set, setting default NAT`);
  const forwarding = v.forwarding ?? { kind: 'NAT' };
  let protocol: VsProtocol = v.protocol ?? DEFAULT_PROTOCOL;
  if (!protocolToken && parsedKey.kind !== 'fwmark') {
    d.warn(at, `${described}: no protocol set - defaulting to ${DEFAULT_PROTOCOL}`);
  }
  let family: AddressFamily;
  let key: VirtualServerKey;
  if (parsedKey.kind === 'address') {
    family = parsedKey.address.family;
    key = { kind: 'address', protocol, address: parsedKey.address.text, port: parsedKey.port ?? 0 };
    if (parsedKey.port === undefined && !persistenceGiven) {
      d.error(at, 'virtual_server without a port must be persistent (set persistence_timeout)');
    }
  } else {
    if (parsedKey.kind === 'fwmark' && protocolToken) {
      d.warn(protocolToken.at, `${described}: protocol specified for fwmark - protocol will be ignored`);
    }
    key = parsedKey;
    let groupFamily: AddressFamily | undefined;
    if (key.kind === 'group') {
      const group = context.groups.get(key.group);
      if (!group) {
        // keepalived carries on silently and then has nothing to program; say so.
        d.warn(draft.keyAt, `virtual_server_group '${key.group}' is not defined - virtual server ignored`);
        return undefined;
      }
      groupFamily = familyOfGroup(group);
    }
    const nonTunnelled = realServers.find((rs) => forwardingOf(rs, forwarding).kind !== 'TUN');
    family = ipFamily ?? groupFamily ?? nonTunnelled?.address.family ?? realServers[0]?.address.family ?? 'inet';
  }

  const vsPort = key.kind === 'address' ? key.port : 0;
  const delayLoopMs = defaultDelayLoopMs(settings);
  const seen = new Set<string>();
  const resolvedServers: RealServer[] = [];
  for (const rs of realServers) {
    const rsForwarding = forwardingOf(rs, forwarding);
    const configuredPort = rs.port ?? vsPort;
    const id = `${rs.address.text}|${configuredPort}`;
    if (seen.has(id)) {
      d.warn(rs.at, `real server ${rs.address.text} port ${configuredPort} is duplicated - removing second rs`);
      continue;
    }
    seen.add(id);
    if (rsForwarding.kind !== 'TUN' && rs.address.family !== family) {
      d.error(rs.at, `real server ${rs.address.text} is not in the virtual server's address family (${family}); only tunnelled real servers may differ`);
      continue;
    }
    const rsPort = forwardedPort(rs.port, configuredPort, rsForwarding, key, vsPort, `real server ${rs.address.text}`, rs.at, d);
    const checkers: Checker[] = [];
    const checkerContext = { address: rs.address, port: configuredPort, realServer: rs.settings, virtualServer: settings, trackFiles: context.trackFiles };
    for (const checker of rs.checkers) resolveChecker(checker, checkerContext, d, checkers);
    const virtualhost = rs.settings.virtualhost ?? settings.virtualhost;
    const f = rs.fields;
    resolvedServers.push({
      at: rs.at,
      address: rs.address.text,
      port: rsPort,
      family: rs.address.family,
      weight: f.weight ?? realServerWeight ?? 1,
      forwarding: rsForwarding,
      inhibitOnFailure: f.inhibitOnFailure ?? v.inhibitOnFailure ?? false,
      notifyUp: f.notifyUp,
      notifyDown: f.notifyDown,
      upperThreshold: f.upperThreshold,
      lowerThreshold: f.lowerThreshold,
      smtpAlert: f.smtpAlert ?? v.smtpAlert,
      alpha: rs.settings.alpha ?? settings.alpha ?? false,
      delayLoopMs: defaultDelayLoopMs(rs.settings, settings),
      virtualhost,
      checkers,
      snmpName: f.snmpName,
    });
  }

  let sorryServer: SorryServer | undefined;
  if (sorry.statement) {
    const target = addressAndPort(sorry.statement, d, 'sorry_server');
    const sorryForwarding = sorry.forwarding ?? sorry.inheritedForwarding ?? forwarding;
    if (target && sorryForwarding.kind !== 'TUN' && target.address.family !== family) {
      d.error(sorry.statement.at, `sorry_server ${target.address.text} is not in the virtual server's address family (${family})`);
    } else if (target) {
      sorryServer = {
        at: sorry.statement.at,
        address: target.address.text,
        port: forwardedPort(target.port, target.port ?? vsPort, sorryForwarding, key, vsPort, `sorry server ${target.address.text}`, sorry.statement.at, d),
        family: target.address.family,
        forwarding: sorryForwarding,
        inhibit: sorry.inhibit,
      };
    }
  }

  if (resolvedServers.length === 0) {
    d.warn(at, `${described} has no real servers - ignoring`);
    return undefined;
  }
  let quorum = v.quorum ?? 1;
  const totalWeight = resolvedServers.reduce((sum, rs) => sum + rs.weight, 0);
  if (quorum > totalWeight) {
    d.warn(at, `${described}: quorum ${quorum} exceeds total weight of real servers ${totalWeight}, reducing quorum to ${totalWeight}`);
    quorum = totalWeight;
  }
  // keepalived checks the protocol only of a service by address: a group of fwmarks keeps ops.
  const byAddress = key.kind === 'address' || (key.kind === 'group' && (context.groups.get(key.group)?.entries.some((entry) => entry.kind === 'range') ?? false));
  if (key.kind === 'group' && v.persistenceGranularity !== undefined) {
    d.warn(at, `${described}: persistence_granularity is not programmed for a virtual_server_group's services: keepalived 2.2.7 resets it for every group entry, and so does lvsd`);
  }
  let ops = v.ops ?? false;
  if (ops && byAddress && protocol !== 'UDP') {
    d.warn(at, `${described}: one packet scheduling requires UDP - resetting`);
    ops = false;
  }
  let hysteresis = v.hysteresis ?? 0;
  if (hysteresis > 0 && hysteresis >= quorum) {
    d.warn(at, `${described}: hysteresis ${hysteresis} >= quorum ${quorum}; setting hysteresis to 0`);
    hysteresis = 0;
  }

  return {
    at,
    key,
    family,
    protocol,
    lbAlgo: v.lbAlgo ?? 'wlc',
    lbKind: forwarding.kind,
    forwarding,
    schedulerFlags: flags,
    ops,
    persistenceTimeoutSec: v.persistenceTimeoutSec,
    persistenceGranularity: v.persistenceGranularity,
    persistenceEngine: v.persistenceEngine,
    haSuspend: resolveHaSuspend(v.haSuspend ?? false, key, context, described, draft.state.haSuspendAt ?? at, d),
    virtualhost: settings.virtualhost,
    smtpAlert: v.smtpAlert,
    alpha: settings.alpha ?? false,
    omega: v.omega ?? false,
    quorum,
    hysteresis,
    quorumUp: v.quorumUp,
    quorumDown: v.quorumDown,
    delayLoopMs,
    inhibitOnFailure: v.inhibitOnFailure ?? false,
    sorryServer,
    realServers: resolvedServers,
    snmpName: v.snmpName,
    announce: announce && resolveAnnounce(announce, key, family, described, d),
  };
}

