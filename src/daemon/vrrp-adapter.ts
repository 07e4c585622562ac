import type { Logger } from 'pino';
import type { KeepalivedConfig } from '../config/model.ts';
import type { SplitBrainStatus, VrrpInstanceStatus } from './status.ts';
import { duration } from './status-view.ts';
import type { SplitBrain } from '../vrrp/machine.ts';
import type { VrrpInstanceStatus as SpeakerInstanceStatus } from '../vrrp/instance-runner.ts';

/** The VRRP speaker as the daemon drives it. */
export interface VrrpPart {
  status(): VrrpInstanceStatus[];
  update(config: KeepalivedConfig): Promise<void>;
  stop(): Promise<void>;
}

/** Loaded on demand: `lvsd -C` and configurations without vrrp_instance never load the speaker. */
export async function startVrrpFor(config: KeepalivedConfig, log: Logger, onTransition?: (instance: string) => void): Promise<VrrpPart> {
  const [{ vrrpSpecsFromConfig }, { startVrrp }] = await Promise.all([import('../vrrp/from-config.ts'), import('../vrrp/speaker.ts')]);
  const specsOf = (next: KeepalivedConfig) => {
    const specs = vrrpSpecsFromConfig(next);
    for (const warning of specs.warnings) log.warn(warning);
    return specs;
  };
  let current = specsOf(config);
  const handle = await startVrrp(current.instances, { logger: log, syncGroups: current.syncGroups, ...(onTransition && { onTransition }) });
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
        virtualAddresses: current.instances.find((spec) => spec.name === instance.name)?.virtualAddresses.map((vip) => `${vip.address}/${vip.prefixLength}`) ?? [],
        warnings: instance.splitBrain ? [`split brain: another master for VRID ${instance.vrid}, ${describeSplitBrain(instance.splitBrain)}`] : [],
        adverts: { received: instance.advertsReceived, dropped: instance.droppedPackets },
        transitions: instance.transitions,
        splitBrains: instance.splitBrains,
        ...splitBrainOf(instance),
      })),
    async update(next: KeepalivedConfig) {
      current = specsOf(next);
      await handle.update(current.instances, current.syncGroups);
    },
    stop: () => handle.stop(),
  };
}

function describeSplitBrain(seen: SplitBrain & { ageMs: number }): string {
  return `${seen.peer} (priority ${seen.peerPriority}) master too for ${duration(seen.lastSeenAt - seen.firstSeenAt + seen.ageMs)}, advertised ${duration(seen.ageMs)} ago`;
}

function splitBrainOf(instance: SpeakerInstanceStatus): { splitBrain?: SplitBrainStatus } {
  const { splitBrain: now, lastSplitBrain: last } = instance;
  if (now) return { splitBrain: { peer: now.peer, peerPriority: now.peerPriority, ongoing: true, durationMs: Math.round(now.lastSeenAt - now.firstSeenAt + now.ageMs) } };
  if (last) {
    return {
      splitBrain: { peer: last.peer, peerPriority: last.peerPriority, ongoing: false, durationMs: Math.round(last.durationMs), endedAgoMs: last.endedAgoMs, outcome: last.outcome },
    };
  }
  return {};
}
