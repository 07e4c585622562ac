import { readdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { HostLinks } from './host-links.ts';
import type { LinkInfo, Rtnetlink } from './netlink.ts';
import type { VrrpInstanceSpec } from './types.ts';
import { readSysctl, SysctlHolds, writeSysctl } from './sysctls.ts';
import { classifyExisting, macBytes, parentSysctls, rpFilterChanges, vmacLinksOf, vmacSysctls, type SysctlChange, type VmacLink } from './vmac.ts';

/** The speaker's hands for use_vmac: creates and removes the macvlans and sets the sysctls they need. */

export class VmacLinks {
  /** Per parent interface: the IPv4 vmacs on it, and its settings from before the first. */
  private readonly parents = new SysctlHolds();
  /** The rp_filter changes made for the first IPv4 vmac, undone after the last. */
  private rpFilter: SysctlChange[] = [];

  constructor(
    private readonly netlink: Rtnetlink,
    private readonly links: HostLinks,
    private readonly logger: Logger,
  ) {}

  /** Makes `spec`'s vmacs and returns them by name. `ownAddress`: the instance's, which an IPv6 vmac sending adverts gets. */
  async ensureAll(spec: VrrpInstanceSpec, ownAddress: string, firstStart: boolean): Promise<Map<string, LinkInfo>> {
    const made = new Map<string, LinkInfo>();
    for (const vmac of vmacLinksOf(spec)) {
      const parent = this.links.get(vmac.parent);
      if (!parent) throw new Error(`vrrp_instance ${spec.name}: interface ${vmac.parent} not found`);
      const linkLocal = vmac.linkLocal === 'source' ? ownAddress : vmac.linkLocal === 'parent' ? await this.linkLocalOf(parent) : undefined;
      await this.ensure(spec.name, vmac, parent, linkLocal, firstStart);
      await this.links.refresh();
      const link = this.links.get(vmac.name);
      if (!link) throw new Error(`vrrp_instance ${spec.name}: VMAC interface ${vmac.name} did not appear`);
      made.set(vmac.name, link);
    }
    return made;
  }

  /** Removes all of `spec`'s vmacs; one that cannot be removed is logged, and the others still go. */
  async removeAll(spec: VrrpInstanceSpec): Promise<void> {
    for (const vmac of vmacLinksOf(spec)) {
      try {
        await this.links.refresh();
        await this.remove(spec.name, vmac);
      } catch (error) {
        this.logger.error({ err: error, instance: spec.name, interface: vmac.name }, 'cannot remove VMAC interface');
      }
    }
  }

  private async linkLocalOf(link: LinkInfo): Promise<string | undefined> {
    return (await this.netlink.addresses()).find((a) => a.linkIndex === link.index && a.address.startsWith('fe80:'))?.address;
  }

  /**
   * Makes `vmac` exist for instance `owner`. On the first start, a vmac that an earlier run left
   * behind (a private macvlan on the same parent with the same MAC) is removed and made afresh, so
   * none of its old addresses survives; on a reload the one we made is kept. Any other interface of
   * that name is left alone and the instance refused. `linkLocal`: the IPv6 address it gets.
   */
  private async ensure(owner: string, vmac: VmacLink, parent: LinkInfo, linkLocal: string | undefined, firstStart: boolean): Promise<void> {
    const existing = this.links.get(vmac.name);
    const verdict = classifyExisting(existing, vmac, parent);
    if (verdict === 'foreign') {
      throw new Error(`vrrp_instance ${owner}: interface ${vmac.name} exists and is not a private macvlan on ${parent.name} with MAC ${vmac.mac}; lvsd leaves it alone`);
    }
    if (verdict === 'ours' && existing) {
      if (!firstStart) return;
      await this.netlink.deleteLink(existing.index);
      this.logger.warn({ instance: owner, interface: vmac.name }, 'removed VMAC interface left behind by an earlier run');
    }
    if (vmac.family === 4 && this.parents.empty) await this.clearRpFilter();
    await this.netlink.addPrivateMacvlan(parent.index, vmac.name, macBytes(vmac.mac));
    this.logger.info({ instance: owner, interface: vmac.name, mac: vmac.mac }, 'created VMAC interface');
    for (const setting of vmacSysctls(vmac)) await writeSysctl(setting);
    if (vmac.family === 4) await this.parents.hold(parent.name, vmac.name, parentSysctls(parent.name));
    // It makes no link-local address itself (addrgenmode none).
    if (linkLocal !== undefined) {
      const created = await this.netlink.link(vmac.name);
      await this.netlink.addDeprecatedLinkLocal(created.index, linkLocal);
    }
  }

  /** Removes `vmac` (with the VIPs on it) and, after the last IPv4 vmac on its parent, restores the parent's settings. */
  private async remove(owner: string, vmac: VmacLink): Promise<void> {
    const parent = this.links.get(vmac.parent);
    const existing = this.links.get(vmac.name);
    if (parent && classifyExisting(existing, vmac, parent) === 'ours' && existing) {
      if (await this.netlink.deleteLink(existing.index)) this.logger.info({ instance: owner, interface: vmac.name }, 'removed VMAC interface');
    }
    if ((await this.parents.release(vmac.parent, vmac.name)) && this.parents.empty) await this.restoreRpFilter();
  }

  private async clearRpFilter(): Promise<void> {
    const devices = await readdir('/proc/sys/net/ipv4/conf');
    const current = new Map(await Promise.all(devices.map(async (device) => [device, await readSysctl(`net/ipv4/conf/${device}/rp_filter`)] as const)));
    this.rpFilter = rpFilterChanges(current);
    for (const change of this.rpFilter) await writeSysctl(change);
    if (this.rpFilter.length > 0) this.logger.info({ from: current.get('all') }, 'set net.ipv4.conf.all.rp_filter to 0 for the VMAC interfaces, keeping the others filtering');
  }

  /** Puts back, all first, the values that still hold what lvsd set. */
  private async restoreRpFilter(): Promise<void> {
    const changes = this.rpFilter.reverse();
    this.rpFilter = [];
    for (const change of changes) {
      if ((await readSysctl(change.path).catch(() => undefined)) === change.value) await writeSysctl({ path: change.path, value: change.before });
    }
  }
}
