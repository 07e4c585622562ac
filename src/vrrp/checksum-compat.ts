import type { Logger } from 'pino';
import { decodeAdvertisement, type Advertisement, type ChecksumContext, type Decoded } from './packet.ts';

/**
 * old_unicast_checksum: keepalived up to 1.3.6 summed VRRPv3 adverts over IPv4 as if they went to
 * the multicast group (vrrp_mcast_group4), unicast ones too. keepalived 2.2.7 does so with
 * `old_unicast_checksum`, never with `never`, and otherwise from the first unicast advert whose
 * checksum only adds up that way.
 */
export type OldChecksumMode = 'detect' | 'never' | 'always';

export class ChecksumDestination {
  private old: boolean;

  constructor(
    private readonly mode: OldChecksumMode,
    /** vrrp_mcast_group4. */
    private readonly group: string,
    private readonly unicast: boolean,
    private readonly logger: Logger,
    private readonly instance: string,
  ) {
    this.old = mode === 'always';
  }

  /** What an advert to `destination` is summed with. */
  of(destination: string): string {
    return this.old ? this.group : destination;
  }

  decode(packet: Buffer, context: ChecksumContext): Decoded<Advertisement> {
    const decoded = decodeAdvertisement(packet, { ...context, destination: this.of(context.destination) });
    if (decoded.ok || decoded.reason !== 'checksum' || this.mode !== 'detect' || this.old || !this.unicast || context.destination === this.group) return decoded;
    const asOld = decodeAdvertisement(packet, { ...context, destination: this.group });
    if (!asOld.ok) return decoded;
    this.old = true;
    this.logger.info(`(${this.instance}) Setting unicast VRRPv3 checksum to old version`);
    return asOld;
  }
}
