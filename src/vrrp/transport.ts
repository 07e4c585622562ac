import { rawSocket as raw, type RawSocket } from '../util/raw-socket.ts';
import { addressToBytes, type IpFamily } from './ip.ts';
import { AH_HEADER_LENGTH, sealWithAh, type AhKey } from './ah.ts';
import { AH_PROTOCOL, parseIpv4Datagram, VRRP_PROTOCOL, VRRP_TTL, type DropReason } from './packet.ts';

/**
 * Raw protocol-112 sockets, one per interface and family, shared by the instances on it, and for
 * IPv4 instances with auth_type AH a protocol-51 one beside it, as keepalived opens.
 */

const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IPPROTO_IPV6 = 41;
const IPV6_CHECKSUM = 7;
const IPV6_UNICAST_HOPS = 16;
const IPV6_MULTICAST_HOPS = 18;
const IPV6_MULTICAST_LOOP = 19;
const IPV6_ADD_MEMBERSHIP = 20;
const IPV6_PKTINFO = 50;
const VRRP_CHECKSUM_OFFSET = 6;
/** IPTOS_PREC_INTERNETCONTROL, the TOS keepalived puts on adverts. */
const TOS_INTERNET_CONTROL = 0xc0;

export interface ReceivedPacket {
  source: string;
  /** Unknown for IPv6: raw-socket has no recvmsg to read it. */
  destination: string | undefined;
  /** IPv6 hop limits cannot be read without recvmsg either; 255 is assumed there. */
  ttl: number;
  /** The VRRP packet; with AH, the part after the AH header. */
  payload: Buffer;
  /** IPv4 with an AH header: the IPv4 header as received, and the AH header with the VRRP packet. */
  ah?: { ipHeader: Buffer; sealed: Buffer };
}

/** What an AH advert needs besides the VRRP packet. */
export interface AhSeal {
  key: AhKey;
  sequence: number;
}

export interface ChannelEvents {
  packet(packet: ReceivedPacket): void;
  malformed(reason: DropReason): void;
  error(error: Error): void;
}

export class VrrpChannel {
  private readonly socket: RawSocket;
  /** The protocol-51 socket, opened by the first AH instance. */
  private ahSocket: RawSocket | undefined;
  private receiveBuffer: number | undefined;
  private readonly joined = new Set<string>();

  constructor(
    readonly family: IpFamily,
    readonly interfaceName: string,
    private readonly linkIndex: number,
    private readonly events: ChannelEvents,
    /** IPv6: the hop limit of unicast adverts (unicast_ttl); the kernel's default without. */
    unicastHopLimit?: number,
  ) {
    this.socket = this.open(VRRP_PROTOCOL);
    if (family === 4) {
      // Building the IP header ourselves is the only way to pick mcast_src_ip/unicast_src_ip
      // (raw-socket has no bind), and to set the TTL (255, or unicast_ttl).
      this.socket.setOption(IPPROTO_IP, IP_HDRINCL, 1);
      this.socket.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    } else {
      this.socket.setOption(IPPROTO_IPV6, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET);
      if (unicastHopLimit !== undefined) this.socket.setOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, unicastHopLimit);
      this.socket.setOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_TTL);
      this.socket.setOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
    }
  }

  private open(protocol: number): RawSocket {
    const socket = raw.createSocket({
      addressFamily: this.family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
      protocol,
      bufferSize: 2048,
    });
    const name = Buffer.from(`${this.interfaceName}\0`);
    socket.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
    socket.on('error', (error) => this.events.error(error));
    socket.on('message', (buffer, source) => this.receive(Buffer.from(buffer), source));
    return socket;
  }

  private receive(buffer: Buffer, source: string): void {
    if (this.family === 6) {
      this.events.packet({ source, destination: undefined, ttl: VRRP_TTL, payload: buffer });
      return;
    }
    const datagram = parseIpv4Datagram(buffer);
    if (!datagram.ok) return this.events.malformed(datagram.reason);
    const { header, protocol, payload, ...addressed } = datagram.value;
    if (protocol !== AH_PROTOCOL) return this.events.packet({ ...addressed, payload });
    this.events.packet({ ...addressed, payload: payload.subarray(AH_HEADER_LENGTH), ah: { ipHeader: header, sealed: payload } });
  }

  /** Opens the protocol-51 socket, for IPv4 instances with auth_type AH. */
  enableAh(): void {
    if (this.family !== 4 || this.ahSocket) return;
    this.ahSocket = this.open(AH_PROTOCOL);
    for (const group of this.joined) this.join(this.ahSocket, group);
    if (this.receiveBuffer !== undefined) this.ahSocket.setOption(SOL_SOCKET, SO_RCVBUF, this.receiveBuffer);
  }

  joinGroup(group: string): void {
    if (this.joined.has(group)) return;
    for (const socket of [this.socket, this.ahSocket]) if (socket) this.join(socket, group);
    this.joined.add(group);
  }

  private join(socket: RawSocket, group: string): void {
    const request = Buffer.alloc(this.family === 4 ? 12 : 20);
    addressToBytes(group).copy(request, 0);
    if (this.family === 4) {
      request.writeInt32LE(this.linkIndex, 8);
      socket.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, request, request.length);
    } else {
      request.writeInt32LE(this.linkIndex, 16);
      socket.setOption(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, request, request.length);
    }
  }

  /** SO_RCVBUF on its sockets: the kernel holds twice `bytes` for packets not yet read. */
  setReceiveBuffer(bytes: number): void {
    this.receiveBuffer = bytes;
    for (const socket of [this.socket, this.ahSocket]) socket?.setOption(SOL_SOCKET, SO_RCVBUF, bytes);
  }

  /** IPv6 only: the source address of every packet sent (a sticky IPV6_PKTINFO). */
  useIpv6Source(source: string): void {
    const info = Buffer.alloc(20);
    addressToBytes(source).copy(info, 0);
    info.writeInt32LE(this.linkIndex, 16);
    this.socket.setOption(IPPROTO_IPV6, IPV6_PKTINFO, info, info.length);
  }

  /** `ttl` is IPv4's; IPv6 adverts take the socket's hop limits. `ah`: IPv4 only. */
  send(vrrp: Buffer, source: string, destination: string, ttl: number = VRRP_TTL, ah?: AhSeal): Promise<void> {
    const packet = this.family === 4 ? ipv4Datagram(vrrp, source, destination, ttl, ah) : vrrp;
    return new Promise((resolve, reject) => {
      this.socket.send(packet, 0, packet.length, destination, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): void {
    this.socket.close();
    this.ahSocket?.close();
  }
}

function ipv4Datagram(vrrp: Buffer, source: string, destination: string, ttl: number, ah: AhSeal | undefined): Buffer {
  if (!ah) return Buffer.concat([ipv4Header(source, destination, vrrp.length, ttl, VRRP_PROTOCOL), vrrp]);
  const header = ipv4Header(source, destination, AH_HEADER_LENGTH + vrrp.length, ttl, AH_PROTOCOL);
  // The ICV covers the identification, so it must not be left for the kernel to fill in.
  header.writeUInt16BE(ah.sequence & 0xffff || 1, 4);
  return Buffer.concat([header, sealWithAh(header, vrrp, ah.key, ah.sequence)]);
}

function ipv4Header(source: string, destination: string, payloadLength: number, ttl: number, protocol: number): Buffer {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header[1] = TOS_INTERNET_CONTROL;
  header.writeUInt16BE(20 + payloadLength, 2);
  header[8] = ttl;
  header[9] = protocol;
  // Identification (VRRP only) and header checksum are filled in by the kernel when left at zero.
  addressToBytes(source).copy(header, 12);
  addressToBytes(destination).copy(header, 16);
  return header;
}
