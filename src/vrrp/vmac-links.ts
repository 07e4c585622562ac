import { readdir, readFile, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { LinkInfo, Rtnetlink } from './netlink.ts';
import type { VrrpInstanceSpec } from './types.ts';
import { classifyExisting, macBytes, parentSysctls, rpFilterChanges, vmacSysctls, type Sysctl, type SysctlChange, type VmacSpec } from './vmac.ts';

/** The speaker's hands for use_vmac: creates and removes the macvlans and sets the sysctls they need. */

type VmacInstance = Pick<VrrpInstanceSpec, 'name' | 'interface' | 'family' | 'excludedAddresses'> & { vmac: VmacSpec };

export class VmacLinks {
  /** Per parent interface: the instances whose IPv4 vmac is on it, and its settings from before the first. */
  private readonly parents = new Map<string, { users: Set<string>; before: Sysctl[] }>();
  /** The rp_filter changes made for the first IPv4 vmac, undone after the last. */
  private rpFilter: SysctlChange[] = [];

  constructor(
    private readonly netlink: Rtnetlink,
    private readonly logger: Logger,
  ) {}

  /**
   * Makes `spec`'s vmac exist. On the first start, a vmac that an earlier run left behind (a private
   * macvlan on the same parent with the same MAC) is removed and made afresh, so none of its old
   * addresses survives; on a reload the one we made is kept. Any other interface of that name is
   * left alone and the instance refused.
   */
  async ensure(spec: VmacInstance, parent: LinkInfo, links: Map<string, LinkInfo>, ownAddress: string, firstStart: boolean): Promise<void> {
    const { vmac } = spec;
    const existing = links.get(vmac.name);
    const verdict = classifyExisting(existing, vmac, parent);
    if (verdict === 'foreign') {
      throw new Error(`vrrp_instance ${spec.name}: interface ${vmac.name} exists and is not a private macvlan on ${parent.name} with MAC ${vmac.mac}; lvsd leaves it alone`);
    }
    if (verdict === 'ours' && existing) {
      if (!firstStart) return;
      await this.netlink.deleteLink(existing.index);
      this.logger.warn({ instance: spec.name, interface: vmac.name }, 'removed VMAC interface left behind by an earlier run');
    }
    if (spec.family === 4 && this.parents.size === 0) await this.clearRpFilter();
    await this.netlink.addPrivateMacvlan(parent.index, vmac.name, macBytes(vmac.mac));
    this.logger.info({ instance: spec.name, interface: vmac.name, mac: vmac.mac }, 'created VMAC interface');
    for (const setting of vmacSysctls(spec, vmac)) await writeSysctl(setting);
    if (spec.family === 4) await this.holdParent(spec.name, parent.name);
    // IPv6 adverts leave the vmac from a link-local address, which it does not make itself (addrgenmode none).
    if (spec.family === 6 && !vmac.xmitBase) {
      const created = await this.netlink.link(vmac.name);
      await this.netlink.addDeprecatedLinkLocal(created.index, ownAddress);
    }
  }

  /** Removes `spec`'s vmac (with the VIPs on it) and, after the last IPv4 vmac on its parent, restores the parent's settings. */
  async remove(spec: VmacInstance, links: Map<string, LinkInfo>): Promise<void> {
    const parent = links.get(spec.interface);
    const existing = links.get(spec.vmac.name);
    if (parent && classifyExisting(existing, spec.vmac, parent) === 'ours' && existing) {
      if (await this.netlink.deleteLink(existing.index)) this.logger.info({ instance: spec.name, interface: spec.vmac.name }, 'removed VMAC interface');
    }
    const held = this.parents.get(spec.interface);
    if (!held?.users.delete(spec.name) || held.users.size > 0) return;
    this.parents.delete(spec.interface);
    for (const setting of held.before) await writeSysctl(setting).catch(() => undefined);
    if (this.parents.size === 0) await this.restoreRpFilter();
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

  private async holdParent(instance: string, parent: string): Promise<void> {
    const held = this.parents.get(parent);
    if (held) {
      held.users.add(instance);
      return;
    }
    const wanted = parentSysctls(parent);
    const before = await Promise.all(wanted.map(async (setting) => ({ path: setting.path, value: await readSysctl(setting.path) })));
    this.parents.set(parent, { users: new Set([instance]), before });
    for (const setting of wanted) await writeSysctl(setting);
  }
}

async function readSysctl(path: string): Promise<number> {
  return Number((await readFile(`/proc/sys/${path}`, 'utf8')).trim());
}

async function writeSysctl(setting: Sysctl): Promise<void> {
  await writeFile(`/proc/sys/${setting.path}`, `${setting.value}\n`);
}
