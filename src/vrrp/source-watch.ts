import { compareAddresses } from './ip.ts';
import type { InterfaceAddress, LinkInfo } from './netlink.ts';
import type { VrrpInstanceSpec } from './types.ts';

type Watched = Pick<VrrpInstanceSpec, 'name' | 'interface' | 'sourceAddress' | 'trackSourceAddress'>;

/**
 * track_src_ip as keepalived documents it: "if the configured src_ip doesn't exist or is removed
 * put the instance into fault state", until it is back. (keepalived 2.2.7 means to, but compares
 * the address with the start of its sockaddr, and never does.)
 */
export class SourceAddressWatch {
  private lost = new Set<string>();

  static watches(spec: Watched): boolean {
    return spec.trackSourceAddress && spec.sourceAddress !== undefined;
  }

  isLost(name: string): boolean {
    return this.lost.has(name);
  }

  /** Looks at the addresses now on the links: the instances that lost their source, or got it back. */
  update(specs: Watched[], links: Map<string, LinkInfo>, addresses: InterfaceAddress[]): { instance: string; lost: boolean }[] {
    const watched = specs.filter(SourceAddressWatch.watches);
    const lost = new Set(
      watched
        .filter((spec) => !addresses.some((a) => a.linkIndex === links.get(spec.interface)?.index && compareAddresses(a.address, spec.sourceAddress ?? '') === 0))
        .map((spec) => spec.name),
    );
    const changes = [
      ...[...lost].filter((name) => !this.lost.has(name)).map((instance) => ({ instance, lost: true })),
      ...[...this.lost].filter((name) => !lost.has(name) && watched.some((spec) => spec.name === name)).map((instance) => ({ instance, lost: false })),
    ];
    this.lost = lost;
    return changes;
  }
}
