import { getString, parseAttributes } from '../util/netlink.ts';
import { bytesToAddress, familyOf, writeAddress, type Family } from './address.ts';
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
const ARENA_BYTES = 64 * 1024;
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

/**
 * Writes netlink attributes straight into a shared arena with a DataView; finish() hands out a
 * view of the bytes written, without copying. At 11,000 requests per table, a Buffer per
 * attribute and Buffer's checked write methods cost more than the kernel's own work.
 */
export class AttrWriter {
  private bytes = new Uint8Array(ARENA_BYTES);
  private view = new DataView(this.bytes.buffer);
  /** Where the message being written starts; offsets below are relative to it. */
  private start = 0;
  private length = 0;

  /** Reserves `bytes` plus padding to 4; returns the relative offset. */
  private reserve(bytes: number): number {
    const at = this.length;
    const end = (at + bytes + 3) & ~3;
    if (this.start + end > this.bytes.length) this.moveToNewArena(end);
    for (let i = at + bytes; i < end; i++) this.bytes[this.start + i] = 0;
    this.length = end;
    return at;
  }

  /** Earlier messages keep the old arena; the one being written moves over. */
  private moveToNewArena(needed: number): void {
    const bytes = new Uint8Array(Math.max(ARENA_BYTES, needed * 2));
    bytes.set(this.bytes.subarray(this.start, this.start + this.length));
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
    this.start = 0;
  }

  private header(type: number, payloadLength: number): number {
    const relative = this.reserve(4 + payloadLength); // may move this.start to a new arena
    const at = this.start + relative;
    this.view.setUint16(at, 4 + payloadLength, true);
    this.view.setUint16(at + 2, type, true);
    return at + 4;
  }

  // header() first, then this.view: header() may have moved to a new arena.
  u8(type: number, value: number): this {
    const at = this.header(type, 1);
    this.view.setUint8(at, value);
    return this;
  }
  u16(type: number, value: number): this {
    const at = this.header(type, 2);
    this.view.setUint16(at, value, true);
    return this;
  }
  be16(type: number, value: number): this {
    const at = this.header(type, 2);
    this.view.setUint16(at, value, false);
    return this;
  }
  u32(type: number, value: number): this {
    const at = this.header(type, 4);
    this.view.setUint32(at, value >>> 0, true);
    return this;
  }
  be32(type: number, value: number): this {
    const at = this.header(type, 4);
    this.view.setUint32(at, value >>> 0, false);
    return this;
  }
  /** Two u32, e.g. struct ip_vs_flags { flags, mask }. */
  u32pair(type: number, first: number, second: number): this {
    const at = this.header(type, 8);
    this.view.setUint32(at, first >>> 0, true);
    this.view.setUint32(at + 4, second >>> 0, true);
    return this;
  }
  /** NUL-terminated; `maxLength` counts the NUL like the kernel's buffers do. */
  string(type: number, value: string, maxLength: number): this {
    const encoded = Buffer.from(value, 'utf8');
    if (encoded.length + 1 > maxLength) throw new RangeError(`${JSON.stringify(value)} is longer than ${maxLength - 1} bytes`);
    const at = this.header(type, encoded.length + 1);
    this.bytes.set(encoded, at);
    this.bytes[at + encoded.length] = 0;
    return this;
  }
  /** union nf_inet_addr: 16 bytes, IPv4 in the first 4. */
  address(type: number, address: string): this {
    const at = this.header(type, 16);
    this.bytes.fill(0, at, at + 16);
    writeAddress(this.bytes, at, address);
    return this;
  }
  ipv4(type: number, address: string): this {
    const at = this.header(type, 4);
    writeAddress(this.bytes, at, address);
    return this;
  }
  /** Already-encoded attributes. */
  raw(encoded: Uint8Array): this {
    const relative = this.reserve(encoded.length); // may move this.start to a new arena
    this.bytes.set(encoded, this.start + relative);
    return this;
  }
  nested(type: number, body: (w: this) => void): this {
    const at = this.reserve(4);
    body(this);
    this.view.setUint16(this.start + at, this.length - at, true);
    this.view.setUint16(this.start + at + 2, type, true);
    return this;
  }

  /** Starts over, e.g. after an encoding error left half a message. */
  reset(): this {
    this.length = 0;
    return this;
  }

  /** The message written since the last finish (a view: the arena is never written twice). */
  finish(): Buffer {
    const out = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.start, this.length);
    this.start += this.length;
    this.length = 0;
    return out;
  }
}

/** Reused (reset per message): encoding is synchronous and finish() copies out. */
const scratch = new AttrWriter();

function serviceId(w: AttrWriter, id: ServiceId): void {
  w.u16(SvcAttr.AF, AF_NUMBER[id.af]);
  if (id.kind === 'fwmark') {
    w.u32(SvcAttr.FWMARK, id.fwmark);
  } else {
    w.u16(SvcAttr.PROTOCOL, PROTOCOL_NUMBER[id.protocol]).address(SvcAttr.ADDR, id.addr).be16(SvcAttr.PORT, id.port);
  }
}

function serviceFlags(service: ServiceSettings): number {
  let flags = service.persistence ? SVC_F_PERSISTENT : 0;
  if (service.onePacket) flags |= SVC_F_ONEPACKET;
  for (const flag of service.schedulerFlags) flags |= 1 << (flag + SVC_F_SCHED_SHIFT);
  return flags;
}

function fullService(w: AttrWriter, service: ServiceSettings): void {
  const prefix = service.persistence?.prefix ?? (service.id.af === 'inet' ? 32 : 128);
  w.nested(CmdAttr.SERVICE, () => {
    serviceId(w, service.id);
    w.string(SvcAttr.SCHED_NAME, service.scheduler, SCHEDNAME_MAXLEN)
      .u32pair(SvcAttr.FLAGS, serviceFlags(service), 0xffffffff) // mask: every flag is ours to set
      .u32(SvcAttr.TIMEOUT, service.persistence?.timeout ?? 0);
    // IPv4: the mask itself (network order); IPv6: the prefix length as a host-order u32.
    if (service.id.af === 'inet6') w.u32(SvcAttr.NETMASK, prefix);
    else w.be32(SvcAttr.NETMASK, prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
    // Always sent when set: SET_SERVICE without it removes the engine.
    if (service.pe) w.string(SvcAttr.PE_NAME, service.pe, SCHEDNAME_MAXLEN);
  });
}

/** A service's identifying nest, encoded once: each of its destinations' requests repeats it. */
const serviceNests = new WeakMap<ServiceId, Uint8Array>();
const nestWriter = new AttrWriter();

function serviceOnly(w: AttrWriter, id: ServiceId): void {
  let nest = serviceNests.get(id);
  if (nest === undefined) {
    nestWriter.reset().nested(CmdAttr.SERVICE, () => serviceId(nestWriter, id));
    nest = nestWriter.finish();
    serviceNests.set(id, nest);
  }
  w.raw(nest);
}

function destId(w: AttrWriter, dest: DestId): void {
  w.address(DestAttr.ADDR, dest.addr).be16(DestAttr.PORT, dest.port).u16(DestAttr.ADDR_FAMILY, AF_NUMBER[familyOf(dest.addr)]);
}

function fullDest(w: AttrWriter, dest: IpvsDest): void {
  w.nested(CmdAttr.DEST, () => {
    destId(w, dest);
    w.u32(DestAttr.FWD_METHOD, FWD_NUMBER[dest.fwd])
      .u32(DestAttr.WEIGHT, dest.weight)
      .u32(DestAttr.U_THRESH, dest.upperThreshold)
      .u32(DestAttr.L_THRESH, dest.lowerThreshold)
      .u8(DestAttr.TUN_TYPE, TUNNEL_NUMBER[dest.tunnel?.type ?? 'ipip'])
      .be16(DestAttr.TUN_PORT, dest.tunnel?.port ?? 0)
      .u16(DestAttr.TUN_FLAGS, CHECKSUM_FLAGS[dest.tunnel?.checksum ?? 'nocsum']);
  });
}

function daemon(w: AttrWriter, daemon: SyncDaemon): void {
  w.nested(CmdAttr.DAEMON, () => {
    w.u32(DaemonAttr.STATE, DAEMON_STATE[daemon.state])
      .string(DaemonAttr.MCAST_IFN, daemon.interface, IFNAME_MAXLEN)
      .u32(DaemonAttr.SYNC_ID, daemon.syncId);
    if (daemon.maxLength !== null) w.u16(DaemonAttr.SYNC_MAXLEN, daemon.maxLength);
    if (daemon.group !== null) {
      if (familyOf(daemon.group) === 'inet6') w.address(DaemonAttr.MCAST_GROUP6, daemon.group);
      else w.ipv4(DaemonAttr.MCAST_GROUP, daemon.group);
    }
    if (daemon.port !== null) w.u16(DaemonAttr.MCAST_PORT, daemon.port);
    if (daemon.ttl !== null) w.u8(DaemonAttr.MCAST_TTL, daemon.ttl);
  });
}

export interface IpvsRequest {
  readonly cmd: Cmd;
  readonly payload: Buffer;
}

const COMMAND: Record<IpvsOp['op'], Cmd> = {
  'add-service': Cmd.NEW_SERVICE,
  'edit-service': Cmd.SET_SERVICE,
  'del-service': Cmd.DEL_SERVICE,
  'add-dest': Cmd.NEW_DEST,
  'edit-dest': Cmd.SET_DEST,
  'del-dest': Cmd.DEL_DEST,
  flush: Cmd.FLUSH,
  'start-daemon': Cmd.NEW_DAEMON,
  'stop-daemon': Cmd.DEL_DAEMON,
};

export function encodeOp(op: IpvsOp): IpvsRequest {
  const w = scratch.reset();
  switch (op.op) {
    case 'add-service':
    case 'edit-service':
      fullService(w, op.service);
      break;
    case 'del-service':
      serviceOnly(w, op.service);
      break;
    case 'add-dest':
    case 'edit-dest':
      serviceOnly(w, op.service);
      fullDest(w, op.dest);
      break;
    case 'del-dest':
      serviceOnly(w, op.service);
      w.nested(CmdAttr.DEST, () => destId(w, op.dest));
      break;
    case 'flush':
      break;
    case 'start-daemon':
      daemon(w, op.daemon);
      break;
    case 'stop-daemon':
      w.nested(CmdAttr.DAEMON, () => w.u32(DaemonAttr.STATE, DAEMON_STATE[op.state]));
      break;
  }
  return { cmd: COMMAND[op.op], payload: w.finish() };
}

export function encodeDestDump(service: ServiceId): IpvsRequest {
  serviceOnly(scratch.reset(), service);
  return { cmd: Cmd.GET_DEST, payload: scratch.finish() };
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
