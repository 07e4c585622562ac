// virtual_server_group, virtual_server, real_server and sorry_server, with
// keepalived's defaults (wlc, NAT, TCP, weight 1, quorum 1, delay_loop 60 s)
// and its fix-ups (duplicate real servers dropped, DR/TUN ports reset).
import { parseIp, parseRange, type IpAddress } from './address.ts';
import { CHECKER_KINDS, defaultDelayLoopMs, inheritableHandlers, parseChecker, resolveChecker, type Inheritable, type ParsedChecker } from './checkers.ts';
import type { Diagnostics } from './diagnostics.ts';
import type {
  AddressFamily, CheckerKind, ForwardingMethod, LbAlgo, LbKind, RealServer, ScriptCommand, SorryServer, TrackFile,
  VirtualServer, VirtualServerGroup, VirtualServerGroupEntry, VirtualServerKey, VsProtocol,
} from './model.ts';
import type { Token } from './source.ts';
import type { Statement } from './tree.ts';
import {
  block, dispatch, flag, integer, name, oneOf, port, script, text, type Handlers, type Mutable,
} from './values.ts';

const LB_ALGOS: readonly LbAlgo[] = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos'];
const LB_KINDS: readonly LbKind[] = ['NAT', 'DR', 'TUN'];
const PROTOCOLS: readonly VsProtocol[] = ['TCP', 'UDP', 'SCTP'];
const DEFAULT_PERSISTENCE_TIMEOUT_SEC = 360;
const MAX_WEIGHT = 65535;

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
      if (fwmark !== undefined) entries.push({ at: entry.at, kind: 'fwmark', fwmark, ...(familyWord && { family: familyWord }) });
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

interface ParsedRealServer {
  readonly at: Statement['at'];
  readonly address: IpAddress;
  readonly port: number | undefined;
  readonly settings: Mutable<Inheritable>;
  readonly fields: Mutable<{
    weight?: number;
    forwarding?: ForwardingMethod;
    inhibitOnFailure?: boolean;
    notifyUp?: ScriptCommand;
    notifyDown?: ScriptCommand;
    upperThreshold?: number;
    lowerThreshold?: number;
    smtpAlert?: boolean;
    snmpName?: string;
  }>;
  readonly checkers: ParsedChecker[];
}

function checkerHandlers(into: ParsedChecker[], d: Diagnostics): Handlers {
  const handlers: Record<string, (s: Statement) => void> = {};
  for (const kind of CHECKER_KINDS) handlers[kind] = (s) => void into.push(parseChecker(s, kind as CheckerKind, d));
  handlers.BFD_CHECK = (s) => d.error(s.at, 'BFD_CHECK is not supported by lvsd');
  return handlers;
}

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

function parseRealServer(s: Statement, d: Diagnostics): ParsedRealServer | undefined {
  const target = addressAndPort(s, d, 'real_server');
  const settings: Mutable<Inheritable> = {};
  const fields: ParsedRealServer['fields'] = {};
  const checkers: ParsedChecker[] = [];
  const handlers: Handlers = {
    ...inheritableHandlers(settings, d),
    ...checkerHandlers(checkers, d),
    weight: (t) => { fields.weight = integer(t, 0, d, 0, MAX_WEIGHT) ?? fields.weight; },
    lvs_method: (t) => { fields.forwarding = forwardingMethod(t, d) ?? fields.forwarding; },
    inhibit_on_failure: (t) => { fields.inhibitOnFailure = flag(t, 0, d) ?? fields.inhibitOnFailure; },
    notify_up: (t) => { fields.notifyUp = script(t, d) ?? fields.notifyUp; },
    notify_down: (t) => { fields.notifyDown = script(t, d) ?? fields.notifyDown; },
    uthreshold: (t) => { fields.upperThreshold = integer(t, 0, d, 0, 0x7fffffff); },
    lthreshold: (t) => { fields.lowerThreshold = integer(t, 0, d, 0, 0x7fffffff); },
    smtp_alert: (t) => { fields.smtpAlert = flag(t, 0, d) ?? fields.smtpAlert; },
    snmp_name: (t) => { fields.snmpName = text(t, 0, d); },
  };
  dispatch(s.block ?? [], handlers, d, 'real_server');
  return target && { at: s.at, address: target.address, port: target.port, settings, fields, checkers };
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
  return target && { kind: 'address', ...target };
}

export interface LvsContext {
  readonly groups: ReadonlyMap<string, VirtualServerGroup>;
  readonly trackFiles: ReadonlyMap<string, TrackFile>;
  readonly heloName: string;
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

export function parseVirtualServer(s: Statement, context: LvsContext, d: Diagnostics): VirtualServer | undefined {
  const parsedKey = parseKey(s, d);
  const settings: Mutable<Inheritable> = {};
  const v: Mutable<Partial<VirtualServer>> = {};
  let protocolToken: Token | undefined;
  let ipFamily: AddressFamily | undefined;
  let persistenceGiven = false;
  const flags = { flag1: false, flag2: false, flag3: false };
  const sorry: { statement?: Statement; forwarding?: ForwardingMethod; inhibit: boolean } = { inhibit: false };
  const realServers: ParsedRealServer[] = [];
  const setFlag = (key: keyof typeof flags) => () => { flags[key] = true; };
  const handlers: Handlers = {
    ...inheritableHandlers(settings, d),
    lb_algo: (t) => { v.lbAlgo = oneOf(t, 0, d, LB_ALGOS) ?? v.lbAlgo; },
    lvs_sched: (t) => { v.lbAlgo = oneOf(t, 0, d, LB_ALGOS) ?? v.lbAlgo; },
    lb_kind: (t) => { v.forwarding = forwardingMethod(t, d) ?? v.forwarding; },
    lvs_method: (t) => { v.forwarding = forwardingMethod(t, d) ?? v.forwarding; },
    protocol: (t) => {
      protocolToken = t.args[0];
      v.protocol = oneOf(t, 0, d, PROTOCOLS, (w) => w.toUpperCase()) ?? v.protocol;
    },
    persistence_timeout: (t) => {
      persistenceGiven = true;
      v.persistenceTimeoutSec = t.args[0] ? integer(t, 0, d, 1, 31 * 86400) : DEFAULT_PERSISTENCE_TIMEOUT_SEC;
    },
    persistence_granularity: (t) => { v.persistenceGranularity = text(t, 0, d, 'a netmask'); },
    persistence_engine: (t) => { v.persistenceEngine = text(t, 0, d, 'an engine name'); },
    ha_suspend: (t) => { v.haSuspend = flag(t, 0, d) ?? v.haSuspend; },
    smtp_alert: (t) => { v.smtpAlert = flag(t, 0, d) ?? v.smtpAlert; },
    snmp_name: (t) => { v.snmpName = text(t, 0, d); },
    omega: (t) => { v.omega = flag(t, 0, d) ?? v.omega; },
    quorum: (t) => { v.quorum = integer(t, 0, d, 1, 0x7fffffff) ?? v.quorum; },
    hysteresis: (t) => { v.hysteresis = integer(t, 0, d, 0, 0x7fffffff) ?? v.hysteresis; },
    quorum_up: (t) => { v.quorumUp = script(t, d) ?? v.quorumUp; },
    quorum_down: (t) => { v.quorumDown = script(t, d) ?? v.quorumDown; },
    ip_family: (t) => { ipFamily = oneOf(t, 0, d, ['inet', 'inet6'] as const) ?? ipFamily; },
    inhibit_on_failure: (t) => { v.inhibitOnFailure = flag(t, 0, d) ?? v.inhibitOnFailure; },
    sorry_server: (t) => { sorry.statement = t; },
    sorry_server_inhibit: (t) => { sorry.inhibit = flag(t, 0, d) ?? sorry.inhibit; },
    sorry_server_lvs_method: (t) => { sorry.forwarding = forwardingMethod(t, d) ?? sorry.forwarding; },
    'flag-1': setFlag('flag1'),
    'sh-fallback': setFlag('flag1'),
    'mh-fallback': setFlag('flag1'),
    'flag-2': setFlag('flag2'),
    'sh-port': setFlag('flag2'),
    'mh-port': setFlag('flag2'),
    'flag-3': setFlag('flag3'),
    ops: (t) => { v.ops = flag(t, 0, d) ?? v.ops; },
    nat_mask: (t) => d.warn(t.at, "'nat_mask' is obsolete and ignored"),
    real_server: (t) => {
      const rs = parseRealServer(t, d);
      if (rs) realServers.push(rs);
    },
  };
  dispatch(block(s, d) ?? [], handlers, d, 'virtual_server');
  if (!parsedKey) return undefined;

  const forwarding = v.forwarding ?? { kind: 'NAT' };
  let protocol: VsProtocol = v.protocol ?? 'TCP';
  let family: AddressFamily;
  let key: VirtualServerKey;
  if (parsedKey.kind === 'address') {
    family = parsedKey.address.family;
    key = { kind: 'address', protocol, address: parsedKey.address.text, port: parsedKey.port ?? 0 };
    if (parsedKey.port === undefined && !persistenceGiven) {
      d.error(s.at, 'virtual_server without a port must be persistent (set persistence_timeout)');
    }
  } else {
    if (parsedKey.kind === 'fwmark' && protocolToken) {
      d.warn(protocolToken.at, `virtual_server fwmark ${parsedKey.fwmark}: protocol specified for fwmark - protocol will be ignored`);
      protocol = 'TCP';
    }
    key = parsedKey;
    let groupFamily: AddressFamily | undefined;
    if (key.kind === 'group') {
      const group = context.groups.get(key.group);
      if (!group) d.error(s.args[1]?.at ?? s.at, `virtual_server_group '${key.group}' is not defined`);
      else groupFamily = familyOfGroup(group);
    }
    const nonTunnelled = realServers.find((rs) => (rs.fields.forwarding ?? forwarding).kind !== 'TUN');
    family = ipFamily ?? groupFamily ?? nonTunnelled?.address.family ?? realServers[0]?.address.family ?? 'inet';
  }

  const vsPort = key.kind === 'address' ? key.port : 0;
  const delayLoopMs = defaultDelayLoopMs(settings);
  const seen = new Set<string>();
  const resolvedServers: RealServer[] = [];
  for (const rs of realServers) {
    const rsForwarding = rs.fields.forwarding ?? forwarding;
    const configuredPort = rs.port ?? vsPort;
    const id = `${rs.address.text}|${configuredPort}`;
    if (seen.has(id)) {
      d.warn(rs.at, `duplicate real server ${rs.address.text} port ${configuredPort} dropped`);
      continue;
    }
    seen.add(id);
    if (rsForwarding.kind !== 'TUN' && rs.address.family !== family) {
      d.error(rs.at, `real server ${rs.address.text} is not in the virtual server's address family (${family}); only tunnelled real servers may differ`);
      continue;
    }
    let rsPort = configuredPort;
    if (rsForwarding.kind !== 'NAT' && key.kind === 'address' && rs.port !== undefined && rs.port !== vsPort) {
      d.warn(rs.at, `real server ${rs.address.text} port ${rs.port} is ignored for ${rsForwarding.kind}, using the virtual server port ${vsPort}`);
      rsPort = vsPort;
    }
    const levels = { realServer: rs.settings, virtualServer: settings };
    const checkers = rs.checkers.flatMap((c) =>
      resolveChecker(c, { address: rs.address, port: configuredPort, ...levels, trackFiles: context.trackFiles, heloName: context.heloName }, d),
    );
    const virtualhost = rs.settings.virtualhost ?? settings.virtualhost;
    const f = rs.fields;
    resolvedServers.push({
      at: rs.at,
      address: rs.address.text,
      port: rsPort,
      family: rs.address.family,
      weight: f.weight ?? 1,
      forwarding: rsForwarding,
      inhibitOnFailure: f.inhibitOnFailure ?? v.inhibitOnFailure ?? false,
      ...(f.notifyUp && { notifyUp: f.notifyUp }),
      ...(f.notifyDown && { notifyDown: f.notifyDown }),
      ...(f.upperThreshold !== undefined && { upperThreshold: f.upperThreshold }),
      ...(f.lowerThreshold !== undefined && { lowerThreshold: f.lowerThreshold }),
      ...((f.smtpAlert ?? v.smtpAlert) !== undefined && { smtpAlert: f.smtpAlert ?? v.smtpAlert }),
      alpha: rs.settings.alpha ?? settings.alpha ?? false,
      delayLoopMs: defaultDelayLoopMs(rs.settings, settings),
      ...(virtualhost !== undefined && { virtualhost }),
      checkers,
      ...(f.snmpName !== undefined && { snmpName: f.snmpName }),
    });
  }

  let sorryServer: SorryServer | undefined;
  if (sorry.statement) {
    const target = addressAndPort(sorry.statement, d, 'sorry_server');
    const sorryForwarding = sorry.forwarding ?? forwarding;
    if (target && sorryForwarding.kind !== 'TUN' && target.address.family !== family) {
      d.error(sorry.statement.at, `sorry_server ${target.address.text} is not in the virtual server's address family (${family})`);
    } else if (target) {
      sorryServer = {
        at: sorry.statement.at,
        address: target.address.text,
        port: target.port ?? vsPort,
        family: target.address.family,
        forwarding: sorryForwarding,
        inhibit: sorry.inhibit,
      };
    }
  }

  return {
    at: s.at,
    key,
    family,
    protocol,
    lbAlgo: v.lbAlgo ?? 'wlc',
    lbKind: forwarding.kind,
    forwarding,
    schedulerFlags: flags,
    ops: v.ops ?? false,
    ...(v.persistenceTimeoutSec !== undefined && { persistenceTimeoutSec: v.persistenceTimeoutSec }),
    ...(v.persistenceGranularity !== undefined && { persistenceGranularity: v.persistenceGranularity }),
    ...(v.persistenceEngine !== undefined && { persistenceEngine: v.persistenceEngine }),
    haSuspend: v.haSuspend ?? false,
    ...(settings.virtualhost !== undefined && { virtualhost: settings.virtualhost }),
    ...(v.smtpAlert !== undefined && { smtpAlert: v.smtpAlert }),
    alpha: settings.alpha ?? false,
    omega: v.omega ?? false,
    quorum: v.quorum ?? 1,
    hysteresis: v.hysteresis ?? 0,
    ...(v.quorumUp && { quorumUp: v.quorumUp }),
    ...(v.quorumDown && { quorumDown: v.quorumDown }),
    delayLoopMs,
    inhibitOnFailure: v.inhibitOnFailure ?? false,
    ...(sorryServer && { sorryServer }),
    realServers: resolvedServers,
    ...(v.snmpName !== undefined && { snmpName: v.snmpName }),
  };
}

