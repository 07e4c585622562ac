import type { Logger } from 'pino';
import type { IpFamily } from './ip.ts';
import type { LinkInfo } from './netlink.ts';
import { readSysctl } from './sysctls.ts';
import type { DropReason } from './packet.ts';
import { VrrpChannel, type ReceivedPacket } from './transport.ts';
import type { VrrpInstanceSpec } from './types.ts';

/** Version/type, VRID, priority, address count, and the rest of the fixed header: the least that names a VRID. */
const VRRP_HEADER_BYTES = 8;

/** An instance as its socket sees it: its VRID's packets, and the count of those for no instance here. */
export interface PacketReceiver {
  readonly spec: Pick<VrrpInstanceSpec, 'vrid' | 'kernelRxBufSize'>;
  receive(packet: ReceivedPacket): void;
  receiveForeign(reason: DropReason): void;
}

export function channelKeyOf(family: IpFamily, interfaceName: string, unicastHopLimit?: number): string {
  return `${family}/${interfaceName}${unicastHopLimit === undefined ? '' : `/hop-limit ${unicastHopLimit}`}`;
}

/**
 * The hop limit of an IPv6 unicast instance's adverts, its unicast_ttl: a socket's own, so such an
 * instance gets a socket of its own for each limit (raw-socket has no sendmsg to give it per packet).
 */
export function unicastHopLimitOf(spec: Pick<VrrpInstanceSpec, 'family' | 'unicastPeers' | 'unicastTtl'>): number | undefined {
  return spec.family === 6 && spec.unicastPeers.length > 0 ? spec.unicastTtl : undefined;
}

/**
 * The speaker's VRRP sockets: one per family and interface that adverts use (the instance's own,
 * or its vmac), shared by the instances there, each packet handed to the instance of its VRID.
 */
export class VrrpChannels {
  private readonly channels = new Map<string, VrrpChannel>();
  /** The receive buffer each channel was given, by key; absent: the kernel's default. */
  private readonly receiveBuffers = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    /** The instances whose adverts use the channel of that key. */
    private readonly receiversOf: (channelKey: string) => PacketReceiver[],
  ) {}

  get empty(): boolean {
    return this.channels.size === 0;
  }

  /** The channel `spec` sends on through `link`, opened (with AH's socket if `spec` needs it) and joined to its group. */
  open(spec: VrrpInstanceSpec, link: LinkInfo, ownAddress: string): VrrpChannel {
    const hopLimit = unicastHopLimitOf(spec);
    const key = channelKeyOf(spec.family, link.name, hopLimit);
    let channel = this.channels.get(key);
    if (!channel) {
      const events = {
        packet: (packet: ReceivedPacket) => this.dispatch(key, packet),
        malformed: (reason: DropReason) => this.logger.debug({ interface: link.name, reason }, 'dropped malformed VRRP packet'),
        error: (error: Error) => this.logger.error({ err: error, interface: link.name }, 'VRRP socket error'),
      };
      channel = new VrrpChannel(spec.family, link.name, link.index, events, hopLimit);
      if (spec.family === 6) channel.useIpv6Source(ownAddress);
      this.channels.set(key, channel);
    }
    if (spec.authentication.type === 'ah') channel.enableAh();
    if (spec.unicastPeers.length === 0) channel.joinGroup(spec.multicastGroup);
    return channel;
  }

  /** Closes the channel on `interfaceName`, whose link is going away: one made again later needs a socket bound to the new link. */
  close(family: IpFamily, interfaceName: string): void {
    const key = channelKeyOf(family, interfaceName);
    this.channels.get(key)?.close();
    this.channels.delete(key);
    this.receiveBuffers.delete(key);
  }

  /**
   * kernel_rx_buf_size: each socket's receive buffer is the sum of its instances' shares, as
   * keepalived 2.2.7 sizes a socket it opens; one whose instances no longer ask for any gets the
   * kernel's default back (SO_RCVBUF doubles what it is given).
   */
  async sizeReceiveBuffers(): Promise<void> {
    for (const [key, channel] of this.channels) {
      const wanted = this.receiversOf(key).reduce((sum, receiver) => sum + receiver.spec.kernelRxBufSize, 0);
      if (wanted === (this.receiveBuffers.get(key) ?? 0)) continue;
      channel.setReceiveBuffer(wanted > 0 ? wanted : (await readSysctl('net/core/rmem_default')) / 2);
      if (wanted > 0) this.receiveBuffers.set(key, wanted);
      else this.receiveBuffers.delete(key);
    }
  }

  closeAll(): void {
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
    this.receiveBuffers.clear();
  }

  private dispatch(channelKey: string, packet: ReceivedPacket): void {
    try {
      this.route(channelKey, packet);
    } catch (error) {
      // A packet must never take the speaker down; the failure is a bug worth a loud log.
      this.logger.error({ err: error, source: packet.source }, 'failed to handle a VRRP packet');
    }
  }

  private route(channelKey: string, packet: ReceivedPacket): void {
    const candidates = this.receiversOf(channelKey);
    const vrid = packet.payload[1];
    const receiver = candidates.find((candidate) => candidate.spec.vrid === vrid);
    if (!receiver) {
      this.logger.debug({ source: packet.source, vrid }, 'VRRP advert for a VRID we do not run');
      const reason: DropReason = packet.payload.length < VRRP_HEADER_BYTES ? 'truncated' : 'unknown-vrid';
      for (const candidate of candidates) candidate.receiveForeign(reason);
      return;
    }
    receiver.receive(packet);
  }
}
