import type { IpAddressSpec, KeepalivedConfig, SourceLocation, VrrpInstance } from '../config/model.ts';
import { familyOf, type IpFamily } from './ip.ts';
import { defaultVmacName, virtualRouterMac, vmacNameCandidates, type AddressVmac, type VmacSpec } from './vmac.ts';

/** use_vmac and use_vmac_addr from keepalived.conf: each instance's vmacs, named as keepalived 2.2.7 names them. */

export interface InstanceVmacs {
  vmac: VmacSpec | undefined;
  addressVmacs: AddressVmac[];
  /** The address vmac each VIP that has one goes on. */
  vipVmacs: Map<IpAddressSpec, string>;
}

/**
 * In keepalived's order: configured names first (the parser claims them, an instance's name taken
 * by an earlier one is ignored); then, instance by instance, its main vmac PREFIX.VRID (vmac_prefix,
 * "vrrp" by default), PREFIX1.VRID ... when taken (IPv6 tries PREFIX6.VRID first), then its address
 * vmacs the same way with vmac_addr_prefix.
 */
export function vmacsFromConfig(config: KeepalivedConfig, warnings: string[]): Map<VrrpInstance, InstanceVmacs> {
  const global = (keyword: string) => config.globalDefs.unhandled.find((entry) => entry.keyword === keyword)?.args[0];
  const prefix = global('vmac_prefix') ?? 'vrrp';
  const addressPrefix = global('vmac_addr_prefix') ?? prefix;
  const configured = new Map<string, VrrpInstance>();
  for (const instance of config.vrrpInstances) {
    if (!instance.useVmac || instance.vmacName === undefined) continue;
    const holder = configured.get(instance.vmacName);
    if (holder) warnings.push(`${where(instance.at)}: (${instance.name}) VRRP instance ${holder.name} is already using ${instance.vmacName} - ignoring name`);
    else configured.set(instance.vmacName, instance);
  }
  const taken = new Set(configured.keys());
  const claim = (namePrefix: string, vrid: number, family: IpFamily) => {
    const name = vmacNameCandidates(namePrefix, vrid, family).find((candidate) => !taken.has(candidate)) ?? defaultVmacName(vrid);
    taken.add(name);
    return name;
  };
  const result = new Map<VrrpInstance, InstanceVmacs>();
  for (const instance of config.vrrpInstances) {
    const family = instance.family === 'inet6' ? 6 : 4;
    const vrid = instance.virtualRouterId;
    const ownInterface = instance.interface ?? config.globalDefs.defaultInterface;
    const mac = (of: IpFamily) => configuredMac(instance) ?? virtualRouterMac(vrid, of);
    let vmac: VmacSpec | undefined;
    if (instance.useVmac) {
      const own = instance.vmacName !== undefined && configured.get(instance.vmacName) === instance ? instance.vmacName : undefined;
      vmac = { name: own ?? claim(prefix, vrid, family), mac: mac(family), xmitBase: instance.vmacXmitBase };
    }
    const addressVmacs: AddressVmac[] = [];
    const vipVmacs = new Map<IpAddressSpec, string>();
    for (const vip of [...instance.virtualIpaddresses, ...instance.virtualIpaddressesExcluded]) {
      const parent = vip.device ?? ownInterface;
      const vipFamily = familyOf(vip.address);
      const onMainVmac = instance.useVmac && vipFamily === family && parent === ownInterface;
      const elsewhere = parent !== ownInterface || vipFamily !== family;
      const ownUseVmac = vip.options.includes('use_vmac');
      if (ownUseVmac && onMainVmac) warnings.push(`${where(vip.at)}: (${instance.name}) use_vmac specified for VIP/eVIP ${vip.address} and vrrp instance`);
      else if (ownUseVmac && instance.useVmacAddr && elsewhere) warnings.push(`${where(vip.at)}: (${instance.name}) use_vmac_addr specified and use_vmac specified for VIP/eVIP ${vip.address}`);
      if (onMainVmac || !(ownUseVmac || (instance.useVmacAddr && elsewhere))) continue;
      // keepalived puts every such address of one family on one interface on the same vmac.
      let vmacOf = addressVmacs.find((other) => other.parent === parent && other.family === vipFamily);
      if (!vmacOf) {
        vmacOf = { name: claim(addressPrefix, vrid, vipFamily), mac: mac(vipFamily), parent, family: vipFamily };
        addressVmacs.push(vmacOf);
      }
      vipVmacs.set(vip, vmacOf.name);
    }
    result.set(instance, { vmac, addressVmacs, vipVmacs });
  }
  return result;
}

/** `use_vmac MAC`; five octets take the VRID as the sixth. */
function configuredMac(instance: VrrpInstance): string | undefined {
  if (!instance.vmacMac) return undefined;
  return instance.vmacMacUsesVrid ? `${instance.vmacMac}:${instance.virtualRouterId.toString(16).padStart(2, '0')}` : instance.vmacMac;
}

function where(at: SourceLocation): string {
  return `${at.file}:${at.line}`;
}
