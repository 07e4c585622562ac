import { getString, parseAttributes, putString, putU16, putU16be, putU32, putU8 } from 'netlink';
import { addressToBytes, bytesToAddress, familyOf, type Family } from './address.ts';
import type {
  DestId,
  ForwardingMethod,
  IpvsDest,
  IpvsOp,
  Protocol,
  SchedulerFlag,
  ServiceId,
  ServiceSettings,
  SyncDaemon,
  TunnelChecksum,
  TunnelType,
} from './model.ts';

/** linux/ip_vs.h, generic netlink interface. */
export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

export const enum Cmd {
  NEW_SERVICE = 1,
  SET_SERVICE = 2,
  DEL_SERVICE = 3,
  GET_SERVICE = 4,
  NEW_DEST = 5,
  SET_DEST = 6,
  DEL_DEST = 7,
  GET_DEST = 8,
  NEW_DAEMON = 9,
  DEL_DAEMON = 10,
  GET_DAEMON = 11,
  GET_INFO = 15,
  FLUSH = 17,
}

const enum CmdAttr {
  SERVICE = 1,
  DEST = 2,
  DAEMON = 3,
}

const enum SvcAttr {
  AF = 1,
  PROTOCOL = 2,
  ADDR = 3,
  PORT = 4,
  FWMARK = 5,
  SCHED_NAME = 6,
  FLAGS = 7,
  TIMEOUT = 8,
  NETMASK = 9,
  PE_NAME = 11,
}

const enum DestAttr {
  ADDR = 1,
  PORT = 2,
  FWD_METHOD = 3,
  WEIGHT = 4,
  U_THRESH = 5,
  L_THRESH = 6,
  ACTIVE_CONNS = 7,
  INACT_CONNS = 8,
  PERSIST_CONNS = 9,
  ADDR_FAMILY = 11,
  TUN_TYPE = 13,
  TUN_PORT = 14,
  TUN_FLAGS = 15,
}

const enum DaemonAttr {
  STATE = 1,
  MCAST_IFN = 2,
  SYNC_ID = 3,
  SYNC_MAXLEN = 4,
  MCAST_GROUP = 5,
  MCAST_GROUP6 = 6,
  MCAST_PORT = 7,
  MCAST_TTL = 8,
}

const enum InfoAttr {
  VERSION = 1,
  CONN_TAB_SIZE = 2,
}

const SVC_F_PERSISTENT = 0x1;
const SVC_F_ONEPACKET = 0x4;
const SVC_F_SCHED_SHIFT = 2; // SCHED1 = 0x8 = 1 << (1 + 2)
const SCHEDNAME_MAXLEN = 16;
const IFNAME_MAXLEN = 16;

const AF_NUMBER: Record<Family, number> = { inet: 2, inet6: 10 };
const PROTOCOL_NUMBER: Record<Protocol, number> = { tcp: 6, udp: 17, sctp: 132 };
const FWD_NUMBER: Record<ForwardingMethod, number> = { masq: 0, local: 1, tunnel: 2, droute: 3, bypass: 4 };
const TUNNEL_NUMBER: Record<TunnelType, number> = { ipip: 0, gue: 1, gre: 2 };
const CHECKSUM_FLAGS: Record<TunnelChecksum, number> = { nocsum: 0, csum: 1, remcsum: 2 };
const DAEMON_STATE: Record<SyncDaemon['state'], number> = { master: 1, backup: 2 };

export class IpvsDecodeError extends Error {
  constructor(message: string) {
    super(`malformed IPVS netlink message: ${message}`);
    this.name = 'IpvsDecodeError';
  }
}

// ---- encoding -------------------------------------------------------------------------------

/** One netlink attribute (header, payload, padding to 4 bytes). */
export function attribute(type: number, payload: Uint8Array): Buffer {
  const length = 4 + payload.length;
  const out = Buffer.alloc((length + 3) & ~3);
  out.writeUInt16LE(length, 0);
  out.writeUInt16LE(type, 2);
  out.set(payload, 4);
  return out;
}

function nested(type: number, children: readonly Buffer[]): Buffer {
  return attribute(type, Buffer.concat(children));
}

function serviceIdAttrs(id: ServiceId): Buffer[] {
  const attrs = [attribute(SvcAttr.AF, putU16(AF_NUMBER[id.af]))];
  if (id.kind === 'fwmark') {
    attrs.push(attribute(SvcAttr.FWMARK, putU32(id.fwmark)));
  } else {
    attrs.push(
      attribute(SvcAttr.PROTOCOL, putU16(PROTOCOL_NUMBER[id.protocol])),
      attribute(SvcAttr.ADDR, addressToBytes(id.addr)),
      attribute(SvcAttr.PORT, putU16be(id.port)),
    );
  }
  return attrs;
}

function serviceFlags(service: ServiceSettings): number {
  let flags = service.persistence ? SVC_F_PERSISTENT : 0;
  if (service.onePacket) flags |= SVC_F_ONEPACKET;
  for (const flag of service.schedulerFlags) flags |= 1 << (flag + SVC_F_SCHED_SHIFT);
  return flags;
}

/** IPv4: the mask itself (network order); IPv6: the prefix length as a host-order u32. */
function netmaskPayload(af: Family, prefix: number): Buffer {
  if (af === 'inet6') return putU32(prefix);
  const mask = Buffer.alloc(4);
  mask.writeUInt32BE(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
  return mask;
}

function serviceAttrs(service: ServiceSettings): Buffer {
  const full = service.id.af === 'inet' ? 32 : 128;
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(serviceFlags(service), 0);
  flags.writeUInt32LE(0xffffffff, 4); // mask: every flag is ours to set
  const attrs = [
    ...serviceIdAttrs(service.id),
    attribute(SvcAttr.SCHED_NAME, putString(service.scheduler, { maxLength: SCHEDNAME_MAXLEN })),
    attribute(SvcAttr.FLAGS, flags),
    attribute(SvcAttr.TIMEOUT, putU32(service.persistence?.timeout ?? 0)),
    attribute(SvcAttr.NETMASK, netmaskPayload(service.id.af, service.persistence?.prefix ?? full)),
  ];
  // Always sent when set: SET_SERVICE without it removes the engine.
  if (service.pe) attrs.push(attribute(SvcAttr.PE_NAME, putString(service.pe, { maxLength: SCHEDNAME_MAXLEN })));
  return nested(CmdAttr.SERVICE, attrs);
}

function destIdAttrs(dest: DestId): Buffer[] {
  return [
    attribute(DestAttr.ADDR, addressToBytes(dest.addr)),
    attribute(DestAttr.PORT, putU16be(dest.port)),
    attribute(DestAttr.ADDR_FAMILY, putU16(AF_NUMBER[familyOf(dest.addr)])),
  ];
}

function destAttrs(dest: IpvsDest): Buffer {
  return nested(CmdAttr.DEST, [
    ...destIdAttrs(dest),
    attribute(DestAttr.FWD_METHOD, putU32(FWD_NUMBER[dest.fwd])),
    attribute(DestAttr.WEIGHT, putU32(dest.weight)),
    attribute(DestAttr.U_THRESH, putU32(dest.upperThreshold)),
    attribute(DestAttr.L_THRESH, putU32(dest.lowerThreshold)),
    attribute(DestAttr.TUN_TYPE, putU8(TUNNEL_NUMBER[dest.tunnel?.type ?? 'ipip'])),
    attribute(DestAttr.TUN_PORT, putU16be(dest.tunnel?.port ?? 0)),
    attribute(DestAttr.TUN_FLAGS, putU16(CHECKSUM_FLAGS[dest.tunnel?.checksum ?? 'nocsum'])),
  ]);
}

function daemonAttrs(daemon: SyncDaemon): Buffer {
  const attrs = [
    attribute(DaemonAttr.STATE, putU32(DAEMON_STATE[daemon.state])),
    attribute(DaemonAttr.MCAST_IFN, putString(daemon.interface, { maxLength: IFNAME_MAXLEN })),
    attribute(DaemonAttr.SYNC_ID, putU32(daemon.syncId)),
  ];
  if (daemon.maxLength !== null) attrs.push(attribute(DaemonAttr.SYNC_MAXLEN, putU16(daemon.maxLength)));
  if (daemon.group !== null) {
    const v6 = familyOf(daemon.group) === 'inet6';
    const bytes = addressToBytes(daemon.group);
    attrs.push(attribute(v6 ? DaemonAttr.MCAST_GROUP6 : DaemonAttr.MCAST_GROUP, v6 ? bytes : bytes.subarray(0, 4)));
  }
  if (daemon.port !== null) attrs.push(attribute(DaemonAttr.MCAST_PORT, putU16(daemon.port)));
  if (daemon.ttl !== null) attrs.push(attribute(DaemonAttr.MCAST_TTL, putU8(daemon.ttl)));
  return nested(CmdAttr.DAEMON, attrs);
}

export interface IpvsRequest {
  readonly cmd: Cmd;
  readonly payload: Buffer;
}

export function encodeOp(op: IpvsOp): IpvsRequest {
  switch (op.op) {
    case 'add-service':
      return { cmd: Cmd.NEW_SERVICE, payload: serviceAttrs(op.service) };
    case 'edit-service':
      return { cmd: Cmd.SET_SERVICE, payload: serviceAttrs(op.service) };
    case 'del-service':
      return { cmd: Cmd.DEL_SERVICE, payload: nested(CmdAttr.SERVICE, serviceIdAttrs(op.service)) };
    case 'add-dest':
    case 'edit-dest':
      return {
        cmd: op.op === 'add-dest' ? Cmd.NEW_DEST : Cmd.SET_DEST,
        payload: Buffer.concat([nested(CmdAttr.SERVICE, serviceIdAttrs(op.service)), destAttrs(op.dest)]),
      };
    case 'del-dest':
      return {
        cmd: Cmd.DEL_DEST,
        payload: Buffer.concat([nested(CmdAttr.SERVICE, serviceIdAttrs(op.service)), nested(CmdAttr.DEST, destIdAttrs(op.dest))]),
      };
    case 'flush':
      return { cmd: Cmd.FLUSH, payload: Buffer.alloc(0) };
    case 'start-daemon':
      return { cmd: Cmd.NEW_DAEMON, payload: daemonAttrs(op.daemon) };
    case 'stop-daemon':
      return { cmd: Cmd.DEL_DAEMON, payload: nested(CmdAttr.DAEMON, [attribute(DaemonAttr.STATE, putU32(DAEMON_STATE[op.state]))]) };
  }
}

export function encodeDestDump(service: ServiceId): IpvsRequest {
  return { cmd: Cmd.GET_DEST, payload: nested(CmdAttr.SERVICE, serviceIdAttrs(service)) };
}

// ---- decoding -------------------------------------------------------------------------------

function attributesOf(payload: Buffer): Map<number, Buffer> {
  const attrs = new Map<number, Buffer>();
  try {
    parseAttributes(payload, (attr) => attrs.set(attr.type, attr.data));
  } catch (error) {
    throw new IpvsDecodeError((error as Error).message);
  }
  return attrs;
}

function required(attrs: Map<number, Buffer>, type: number, what: string): Buffer {
  const value = attrs.get(type);
  if (value === undefined) throw new IpvsDecodeError(`${what} missing`);
  return value;
}

function u8(buf: Buffer, what: string): number {
  if (buf.length < 1) throw new IpvsDecodeError(`${what} too short`);
  return buf.readUInt8(0);
}
function u16(buf: Buffer, what: string): number {
  if (buf.length < 2) throw new IpvsDecodeError(`${what} too short`);
  return buf.readUInt16LE(0);
}
function be16(buf: Buffer, what: string): number {
  if (buf.length < 2) throw new IpvsDecodeError(`${what} too short`);
  return buf.readUInt16BE(0);
}
function u32(buf: Buffer, what: string): number {
  if (buf.length < 4) throw new IpvsDecodeError(`${what} too short`);
  return buf.readUInt32LE(0);
}
function str(buf: Buffer, what: string): string {
  try {
    return getString(buf);
  } catch (error) {
    throw new IpvsDecodeError(`${what}: ${(error as Error).message}`);
  }
}
function address(af: Family, buf: Buffer, what: string): string {
  if (buf.length < (af === 'inet' ? 4 : 16)) throw new IpvsDecodeError(`${what} too short`);
  return bytesToAddress(af, buf);
}

function familyFromNumber(n: number, what: string): Family {
  if (n === 2) return 'inet';
  if (n === 10) return 'inet6';
  throw new IpvsDecodeError(`${what}: unknown address family ${n}`);
}

function keyOf<K extends string>(table: Record<K, number>, n: number, what: string): K {
  const found = (Object.keys(table) as K[]).find((k) => table[k] === n);
  if (found === undefined) throw new IpvsDecodeError(`${what}: unknown value ${n}`);
  return found;
}

function prefixOfMask(mask: number): number {
  let prefix = 0;
  while (prefix < 32 && mask & (0x80000000 >>> prefix)) prefix++;
  return prefix;
}

/** The payload of a GET_SERVICE dump message (top-level attributes). */
export function decodeService(payload: Buffer): ServiceSettings {
  const svc = attributesOf(required(attributesOf(payload), CmdAttr.SERVICE, 'service'));
  const af = familyFromNumber(u16(required(svc, SvcAttr.AF, 'service af'), 'service af'), 'service af');
  const fwmark = svc.get(SvcAttr.FWMARK);
  const fwmarkValue = fwmark === undefined ? 0 : u32(fwmark, 'fwmark');
  const id: ServiceId =
    fwmarkValue !== 0
      ? { kind: 'fwmark', af, fwmark: fwmarkValue }
      : {
          kind: 'addr',
          af,
          protocol: keyOf(PROTOCOL_NUMBER, u16(required(svc, SvcAttr.PROTOCOL, 'protocol'), 'protocol'), 'protocol'),
          addr: address(af, required(svc, SvcAttr.ADDR, 'service address'), 'service address'),
          port: be16(required(svc, SvcAttr.PORT, 'service port'), 'service port'),
        };
  const flags = u32(required(svc, SvcAttr.FLAGS, 'service flags'), 'service flags');
  const netmask = required(svc, SvcAttr.NETMASK, 'netmask');
  const schedulerFlags = ([1, 2, 3] as const).filter((f) => flags & (1 << (f + SVC_F_SCHED_SHIFT))) as SchedulerFlag[];
  const pe = svc.get(SvcAttr.PE_NAME);
  return {
    id,
    scheduler: str(required(svc, SvcAttr.SCHED_NAME, 'scheduler'), 'scheduler'),
    persistence:
      flags & SVC_F_PERSISTENT
        ? {
            timeout: u32(required(svc, SvcAttr.TIMEOUT, 'timeout'), 'timeout'),
            prefix: af === 'inet6' ? u32(netmask, 'netmask') : prefixOfMask(netmask.length >= 4 ? netmask.readUInt32BE(0) : 0),
          }
        : null,
    onePacket: (flags & SVC_F_ONEPACKET) !== 0,
    schedulerFlags,
    pe: pe === undefined || str(pe, 'pe name') === '' ? null : str(pe, 'pe name'),
  };
}

/** The payload of a GET_DEST dump message; `serviceAf` is the family when the kernel omits it. */
export function decodeDest(payload: Buffer, serviceAf: Family): IpvsDest {
  const dest = attributesOf(required(attributesOf(payload), CmdAttr.DEST, 'destination'));
  const familyAttr = dest.get(DestAttr.ADDR_FAMILY);
  const af = familyAttr === undefined ? serviceAf : familyFromNumber(u16(familyAttr, 'dest af'), 'dest af');
  const fwd = keyOf(FWD_NUMBER, u32(required(dest, DestAttr.FWD_METHOD, 'forwarding method'), 'fwd') & 0x7, 'forwarding method');
  const tunType = dest.get(DestAttr.TUN_TYPE);
  const tunPort = dest.get(DestAttr.TUN_PORT);
  const tunFlags = dest.get(DestAttr.TUN_FLAGS);
  const checksumBits = tunFlags === undefined ? 0 : u16(tunFlags, 'tunnel flags');
  const counter = (type: DestAttr, what: string): number => {
    const value = dest.get(type);
    return value === undefined ? 0 : u32(value, what);
  };
  return {
    addr: address(af, required(dest, DestAttr.ADDR, 'dest address'), 'dest address'),
    port: be16(required(dest, DestAttr.PORT, 'dest port'), 'dest port'),
    fwd,
    weight: u32(required(dest, DestAttr.WEIGHT, 'weight'), 'weight') | 0,
    upperThreshold: u32(required(dest, DestAttr.U_THRESH, 'upper threshold'), 'upper threshold'),
    lowerThreshold: u32(required(dest, DestAttr.L_THRESH, 'lower threshold'), 'lower threshold'),
    tunnel:
      fwd === 'tunnel'
        ? {
            type: tunType === undefined ? 'ipip' : keyOf(TUNNEL_NUMBER, u8(tunType, 'tunnel type'), 'tunnel type'),
            port: tunPort === undefined ? 0 : be16(tunPort, 'tunnel port'),
            checksum: checksumBits & CHECKSUM_FLAGS.remcsum ? 'remcsum' : checksumBits & CHECKSUM_FLAGS.csum ? 'csum' : 'nocsum',
          }
        : null,
    stats: {
      activeConnections: counter(DestAttr.ACTIVE_CONNS, 'active connections'),
      inactiveConnections: counter(DestAttr.INACT_CONNS, 'inactive connections'),
      persistentConnections: counter(DestAttr.PERSIST_CONNS, 'persistent connections'),
    },
  };
}

export function decodeDaemon(payload: Buffer): SyncDaemon {
  const d = attributesOf(required(attributesOf(payload), CmdAttr.DAEMON, 'daemon'));
  const group4 = d.get(DaemonAttr.MCAST_GROUP);
  const group6 = d.get(DaemonAttr.MCAST_GROUP6);
  const maxLength = d.get(DaemonAttr.SYNC_MAXLEN);
  const port = d.get(DaemonAttr.MCAST_PORT);
  const ttl = d.get(DaemonAttr.MCAST_TTL);
  const group =
    group6 !== undefined && !group6.equals(Buffer.alloc(16))
      ? address('inet6', group6, 'mcast group')
      : group4 !== undefined && group4.readUInt32BE(0) !== 0
        ? address('inet', group4, 'mcast group')
        : null;
  return {
    state: keyOf(DAEMON_STATE, u32(required(d, DaemonAttr.STATE, 'daemon state'), 'daemon state'), 'daemon state'),
    interface: str(required(d, DaemonAttr.MCAST_IFN, 'interface'), 'interface'),
    syncId: u32(required(d, DaemonAttr.SYNC_ID, 'sync id'), 'sync id'),
    maxLength: maxLength === undefined ? null : u16(maxLength, 'sync maxlen'),
    group,
    port: port === undefined ? null : u16(port, 'mcast port'),
    ttl: ttl === undefined ? null : u8(ttl, 'mcast ttl'),
  };
}

export interface IpvsInfo {
  /** e.g. 0x010201 for 1.2.1 */
  readonly version: number;
  readonly connTableSize: number;
}

export function decodeInfo(payload: Buffer): IpvsInfo {
  const attrs = attributesOf(payload);
  return {
    version: u32(required(attrs, InfoAttr.VERSION, 'version'), 'version'),
    connTableSize: u32(required(attrs, InfoAttr.CONN_TAB_SIZE, 'connection table size'), 'connection table size'),
  };
}
