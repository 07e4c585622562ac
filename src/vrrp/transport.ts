import { rawSocket as raw, type RawSocket } from '../util/raw-socket.ts';
import { addressToBytes, type IpFamily } from './ip.ts';
import { parseIpv4Datagram, VRRP_PROTOCOL, VRRP_TTL, type DropReason } from './packet.ts';

/** Raw protocol-112 sockets, one per interface and family, shared by the instances on it. */

const SOL_SOCKET = 1;
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
  payload: Buffer;
}

export interface ChannelEvents {
  packet(packet: ReceivedPacket): void;
  malformed(reason: DropReason): void;
  error(error: Error): void;
}

export class VrrpChannel {
  private readonly socket: RawSocket;
  private readonly joined = new Set<string>();

  constructor(
    readonly family: IpFamily,
    readonly interfaceName: string,
    private readonly linkIndex: number,
    events: ChannelEvents,
  ) {
    this.socket = raw.createSocket({
      addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
      protocol: VRRP_PROTOCOL,
      bufferSize: 2048,
    });
    const name = Buffer.from(`${interfaceName}\0`);
    this.socket.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
    if (family === 4) {
      // Building the IP header ourselves is the only way to pick mcast_src_ip/unicast_src_ip
      // (raw-socket has no bind), and to set the TTL (255, or unicast_ttl).
      this.socket.setOption(IPPROTO_IP, IP_HDRINCL, 1);
      this.socket.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    } else {
      this.socket.setOption(IPPROTO_IPV6, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET);
      this.socket.setOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, VRRP_TTL);
      this.socket.setOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_TTL);
      this.socket.setOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
    }
    this.socket.on('error', (error) => events.error(error));
    this.socket.on('message', (buffer, source) => {
      if (family === 6) {
        events.packet({ source, destination: undefined, ttl: VRRP_TTL, payload: Buffer.from(buffer) });
        return;
      }
      const datagram = parseIpv4Datagram(buffer);
      if (datagram.ok) events.packet({ ...datagram.value, payload: Buffer.from(datagram.value.payload) });
      else events.malformed(datagram.reason);
    });
  }

  joinGroup(group: string): void {
    if (this.joined.has(group)) return;
    const request = Buffer.alloc(this.family === 4 ? 12 : 20);
    addressToBytes(group).copy(request, 0);
    if (this.family === 4) {
      request.writeInt32LE(this.linkIndex, 8);
      this.socket.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, request, request.length);
    } else {
      request.writeInt32LE(this.linkIndex, 16);
      this.socket.setOption(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, request, request.length);
    }
    this.joined.add(group);
  }

  /** IPv6 only: the source address of every packet sent (a sticky IPV6_PKTINFO). */
  useIpv6Source(source: string): void {
    const info = Buffer.alloc(20);
    addressToBytes(source).copy(info, 0);
    info.writeInt32LE(this.linkIndex, 16);
    this.socket.setOption(IPPROTO_IPV6, IPV6_PKTINFO, info, info.length);
  }

  /** `ttl` is IPv4's; IPv6 adverts keep the socket's hop limit of 255. */
  send(vrrp: Buffer, source: string, destination: string, ttl: number = VRRP_TTL): Promise<void> {
    const packet = this.family === 4 ? Buffer.concat([ipv4Header(source, destination, vrrp.length, ttl), vrrp]) : vrrp;
    return new Promise((resolve, reject) => {
      this.socket.send(packet, 0, packet.length, destination, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): void {
    this.socket.close();
  }
}

function ipv4Header(source: string, destination: string, payloadLength: number, ttl: number): Buffer {
  const header = Buffer.alloc(20);
  header[0] = 0x45;
  header[1] = TOS_INTERNET_CONTROL;
  header.writeUInt16BE(20 + payloadLength, 2);
  header[8] = ttl;
  header[9] = VRRP_PROTOCOL;
  // Identification and header checksum are filled in by the kernel when left at zero.
  addressToBytes(source).copy(header, 12);
  addressToBytes(destination).copy(header, 16);
  return header;
}
