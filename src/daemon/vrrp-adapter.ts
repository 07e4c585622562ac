import type { Logger } from 'pino';
import type { KeepalivedConfig } from '../config/model.ts';
import type { VrrpInstanceStatus } from './status.ts';

/** The VRRP speaker as the daemon drives it. */
export interface VrrpPart {
  status(): VrrpInstanceStatus[];
  update(config: KeepalivedConfig): Promise<void>;
  stop(): Promise<void>;
}

/** Loaded on demand: `lvsd -C` and configurations without vrrp_instance never load the speaker. */
export async function startVrrpFor(config: KeepalivedConfig, log: Logger): Promise<VrrpPart> {
  const [{ vrrpSpecsFromConfig }, { startVrrp }] = await Promise.all([import('../vrrp/from-config.ts'), import('../vrrp/speaker.ts')]);
  const specsOf = (next: KeepalivedConfig) => {
    const specs = vrrpSpecsFromConfig(next);
    for (const warning of specs.warnings) log.warn(warning);
    return specs;
  };
  const initial = specsOf(config);
  const handle = await startVrrp(initial.instances, { logger: log, syncGroups: initial.syncGroups });
  return {
    status: () =>
      handle.status().map((instance) => ({
        name: instance.name,
        interface: instance.interface,
        vrid: instance.vrid,
        state: instance.state,
        priority: { effective: instance.effectivePriority, configured: instance.configuredPriority },
        ...(instance.masterAddress !== undefined && { masterAddress: instance.masterAddress }),
        ...(instance.lastAdvertAgeMs !== undefined && { lastAdvertAgeMs: instance.lastAdvertAgeMs }),
        virtualAddresses: initial.instances.find((spec) => spec.name === instance.name)?.virtualAddresses.map((vip) => `${vip.address}/${vip.prefixLength}`) ?? [],
        warnings: instance.splitBrain ? [`another master for VRID ${instance.vrid}: ${JSON.stringify(instance.splitBrain)}`] : [],
      })),
    async update(next: KeepalivedConfig) {
      const specs = specsOf(next);
      await handle.update(specs.instances, specs.syncGroups);
    },
    stop: () => handle.stop(),
  };
}
