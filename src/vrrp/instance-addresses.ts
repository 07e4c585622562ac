import { gratuitousArpFrame, unsolicitedNeighborAdvertisementFrame } from './frames.ts';
import { familyOf } from './ip.ts';
import { sendLinkLayerFrame } from './link-layer.ts';
import type { LinkInfo, Rtnetlink } from './netlink.ts';
import type { VirtualAddress, VirtualRoute, VirtualRule, VrrpInstanceSpec } from './types.ts';
import { placedOnVmac } from './vmac.ts';

/** The links an instance uses: its interface, its vmacs by name, and the one adverts go through. */
export interface InstanceLinks {
  parent: LinkInfo;
  vmacs: Map<string, LinkInfo>;
  advert: LinkInfo;
}

/** What a removal takes away; a reload's hand-over keeps what the successor still wants. */
export interface Removal {
  address: (vip: VirtualAddress) => boolean;
  route: (route: VirtualRoute) => boolean;
  rule: (rule: VirtualRule) => boolean;
}

const EVERYTHING: Removal = { address: () => true, route: () => true, rule: () => true };

/** A master's VIPs, virtual routes and rules, and its gratuitous ARPs / unsolicited NAs for the VIPs. */
export class InstanceAddresses {
  private readonly garpTimers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly spec: VrrpInstanceSpec,
    private readonly ownLinks: InstanceLinks,
    private readonly netlink: Rtnetlink,
    /** The host's links by name, as last read. */
    private readonly links: () => Map<string, LinkInfo>,
  ) {}

  async add(): Promise<void> {
    for (const vip of this.all()) await this.netlink.addAddress(this.linkOf(vip).index, vip);
    for (const route of this.spec.virtualRoutes) await this.netlink.addRoute(route, this.routeLinkIndex(route));
    for (const rule of this.spec.virtualRules) await this.netlink.addRule(rule);
  }

  async remove(removal: Removal = EVERYTHING): Promise<void> {
    for (const rule of this.spec.virtualRules.filter(removal.rule)) await this.netlink.removeRule(rule);
    for (const route of this.spec.virtualRoutes.filter(removal.route)) await this.netlink.removeRoute(route, this.routeLinkIndex(route));
    for (const vip of this.all().filter(removal.address)) await this.netlink.removeAddress(this.linkOf(vip).index, vip);
  }

  /** `repeat` packets per VIP, vrrp_garp_interval apart, the later ones only while `stillMaster()`. */
  announce(repeat: number, stillMaster: () => boolean): void {
    const frames = this.all().map((vip) => {
      const link = this.linkOf(vip);
      return { linkIndex: link.index, frame: this.frameFor(vip, link) };
    });
    const burst = () => {
      for (const { linkIndex, frame } of frames) sendLinkLayerFrame(linkIndex, frame);
    };
    burst();
    for (let sent = 1; sent < repeat; sent++) {
      if (this.spec.garp.intervalMs <= 0) {
        burst();
        continue;
      }
      const timer = setTimeout(() => {
        this.garpTimers.delete(timer);
        if (stillMaster()) burst();
      }, sent * this.spec.garp.intervalMs);
      this.garpTimers.add(timer);
    }
  }

  /**
   * garp_extra_if: one packet for the first VIP on each interface other than the instance's own
   * (its vmac, if any; with vmac_xmit_base that one too, since adverts do not leave from it): on
   * its vmacs of their own, and with `all` on any other.
   */
  announceOnExtraInterfaces(): void {
    const own = this.spec.vmac ? this.ownLinks.vmacs.get(this.spec.vmac.name) : this.ownLinks.parent;
    const skipOwn = !this.spec.vmac?.xmitBase;
    const announced = new Set<number>();
    for (const vip of this.all()) {
      const link = this.linkOf(vip);
      const isVmac = [...this.ownLinks.vmacs.values()].some((vmac) => vmac.index === link.index);
      if ((skipOwn && link.index === own?.index) || announced.has(link.index) || !(isVmac || this.spec.garp.extraInterfacesAll)) continue;
      announced.add(link.index);
      sendLinkLayerFrame(link.index, this.frameFor(vip, link));
    }
  }

  cancelAnnouncements(): void {
    for (const timer of this.garpTimers) clearTimeout(timer);
    this.garpTimers.clear();
  }

  private frameFor(vip: VirtualAddress, link: LinkInfo): Buffer {
    return familyOf(vip.address) === 4 ? gratuitousArpFrame(link.mac, vip.address) : unsolicitedNeighborAdvertisementFrame(link.mac, vip.address);
  }

  private all(): VirtualAddress[] {
    return this.spec.virtualAddresses.concat(this.spec.excludedAddresses);
  }

  private routeLinkIndex(route: VirtualRoute): number | undefined {
    if (route.dev === undefined) return undefined;
    const link = this.links().get(route.dev);
    if (!link) throw new Error(`interface ${route.dev} not found`);
    return link.index;
  }

  private linkOf(vip: VirtualAddress): LinkInfo {
    const vmac = placedOnVmac(this.spec, vip) ? this.spec.vmac?.name : vip.addressVmac;
    const vmacLink = vmac === undefined ? undefined : this.ownLinks.vmacs.get(vmac);
    if (vmacLink) return vmacLink;
    return vip.dev === undefined ? this.ownLinks.parent : (this.links().get(vip.dev) ?? this.ownLinks.parent);
  }
}
