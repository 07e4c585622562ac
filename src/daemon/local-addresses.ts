// rtnetlink is evaluated only where a virtual server sets ha_suspend (see health-adapter.ts).
import { createRtNetlink, type RtNetlinkSocket } from 'netlink/dist/rt/rt.js';
import { bytesToAddress } from '../vrrp/ip.ts';

export interface LocalAddressListener {
  changed(added: readonly string[], removed: readonly string[]): void;
  /** A read failed (ENOBUFS: the kernel had more to say than the socket holds); the addresses are read again. */
  lost(error: Error): void;
}

/**
 * The addresses on this host's interfaces, kept current from the kernel's address notifications,
 * as keepalived's checker process follows them for ha_suspend. Each notification is followed by a
 * fresh dump, so that one lost in a burst cannot leave the set wrong.
 */
export class LocalAddresses {
  private readonly socket: RtNetlinkSocket = createRtNetlink();
  private addresses = new Set<string>();
  private dumping: Promise<void> | undefined;
  private again = false;

  private constructor(private readonly listener: LocalAddressListener) {}

  static async watch(listener: LocalAddressListener): Promise<LocalAddresses> {
    const local = new LocalAddresses(listener);
    local.socket.addMembership('IPV4_IFADDR');
    local.socket.addMembership('IPV6_IFADDR');
    local.socket.on('message', () => local.refresh());
    // Unheard, the socket's error event would end the process; after an overrun only a fresh dump knows what changed.
    local.socket.socket.on('error', (error: Error) => {
      listener.lost(error);
      local.refresh();
    });
    local.addresses = await local.dump();
    return local;
  }

  /** `address` in canonical form (canonicalAddress), the form ha_suspend addresses are recorded in. */
  has(address: string): boolean {
    return this.addresses.has(address);
  }

  close(): void {
    this.socket.socket.close();
  }

  private refresh(): void {
    if (this.dumping) {
      this.again = true;
      return;
    }
    this.dumping = this.dump()
      .then((now) => {
        const added = [...now].filter((address) => !this.addresses.has(address));
        const removed = [...this.addresses].filter((address) => !now.has(address));
        this.addresses = now;
        if (added.length > 0 || removed.length > 0) this.listener.changed(added, removed);
      })
      // The set stays as it was; the next notification dumps again.
      .catch(() => undefined)
      .finally(() => {
        this.dumping = undefined;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  private async dump(): Promise<Set<string>> {
    const messages = await this.socket.getAddresses();
    return new Set(messages.flatMap((message) => {
      const bytes = message.attrs.local ?? message.attrs.address;
      return bytes ? [bytesToAddress(bytes)] : [];
    }));
  }
}
