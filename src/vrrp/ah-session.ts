import { openAh, type AhKey } from './ah.ts';
import type { Authentication, DropReason } from './packet.ts';
import type { AhSeal, ReceivedPacket } from './transport.ts';

/**
 * auth_type AH on one instance: its key, and the highest sequence number sent or accepted, one
 * counter for both as keepalived keeps it (its anti-replay).
 */
export class AhSession {
  private sequence = 0;
  private readonly key: AhKey | undefined;

  constructor(authentication: Authentication, unicast: boolean) {
    this.key = authentication.type === 'ah' ? { password: authentication.password, unicast } : undefined;
  }

  /**
   * With AH, the packet must come with an AH header whose ICV our key reproduces and whose
   * sequence number is above the counter; without AH, it must come without one. The reason to
   * drop it, if any.
   */
  check(packet: ReceivedPacket): DropReason | undefined {
    if ((this.key !== undefined) !== (packet.ah !== undefined)) return 'auth';
    if (!this.key || !packet.ah) return undefined;
    const opened = openAh(packet.ah.ipHeader, packet.ah.sealed, this.key);
    if (!opened.ok) return opened.reason;
    if (opened.value.sequence <= this.sequence) return 'auth';
    this.sequence = opened.value.sequence;
    return undefined;
  }

  /** What the next advert is sealed with; undefined without AH. */
  nextSeal(): AhSeal | undefined {
    return this.key && { key: this.key, sequence: ++this.sequence };
  }
}
