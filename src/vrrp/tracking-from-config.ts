import type { KeepalivedConfig, TrackedScript as ConfigTracked, VrrpInstance, VrrpSyncGroup } from '../config/model.ts';
import { ADDRESS_OWNER_PRIORITY } from './machine.ts';
import type { TrackWeight } from './tracking.ts';
import type { TrackedFile, TrackedInterface, TrackedProcess, TrackedScript, VrrpScriptSpec } from './types.ts';

/** An instance's tracked things, its own and its sync group's, weighted as keepalived 2.2.7 weighs them. */
export interface TrackingSpecs {
  trackScripts: TrackedScript[];
  trackInterfaces: TrackedInterface[];
  trackFiles: TrackedFile[];
  trackProcesses: TrackedProcess[];
}

/**
 * keepalived 2.2.7 (vrrp.c) takes the weights from an instance's own tracking when it is an address
 * owner, or a sync group member without sync_group_tracking_weight: a weighted script goes, an
 * interface keeps only its FAULT (an owner's goes), a file with the default weight 1 gets weight 0
 * and one with another weight goes. A group with an owner among its members tracks with weight 0.
 */
type WeightsTaken = 'address owner' | 'SYNC group' | undefined;

export function trackingSpecs(
  config: KeepalivedConfig,
  instance: VrrpInstance,
  group: VrrpSyncGroup | undefined,
  scriptSpec: (name: string) => VrrpScriptSpec | undefined,
  warn: (message: string) => void,
): TrackingSpecs {
  const taken: WeightsTaken = instance.priority === ADDRESS_OWNER_PRIORITY ? 'address owner' : group && !group.trackingWeight ? 'SYNC group' : undefined;
  const groupHasOwner = group !== undefined && config.vrrpInstances.some((member) => member.syncGroup === group.name && member.priority === ADDRESS_OWNER_PRIORITY);
  const groupWeight = <T extends TrackWeight & { name: string }>(what: string, tracked: T): T => {
    if (!groupHasOwner || tracked.weight === 0) return tracked;
    warn(`sync group ${group?.name ?? ''}: a member has priority ${ADDRESS_OWNER_PRIORITY}, so track ${what} ${tracked.name} gets weight 0 (keepalived's rule)`);
    return { ...tracked, weight: 0 };
  };

  const scripts = (list: readonly ConfigTracked[]) =>
    list.flatMap((tracked): TrackedScript[] => {
      const script = scriptSpec(tracked.name);
      const block = config.vrrpScripts.find((candidate) => candidate.name === tracked.name);
      if (!script || !block) {
        warn(`track_script ${tracked.name} names no vrrp_script; ignored`);
        return [];
      }
      // An entry without its own weight takes the vrrp_script's weight and reverse together.
      const weighting = tracked.weight === undefined ? { weight: block.weight, reverse: block.weightReverse } : { weight: tracked.weight, reverse: tracked.reverse };
      return [{ script, ...weighting }];
    });
  const files = (list: readonly ConfigTracked[]) =>
    list.flatMap((tracked): TrackedFile[] => {
      const file = config.trackFiles.find((candidate) => candidate.name === tracked.name);
      if (!file) return [];
      const weighting = tracked.weight === undefined ? { weight: file.weight, reverse: file.reverse } : { weight: tracked.weight, reverse: tracked.reverse };
      return [{ name: file.name, path: file.file, ...weighting, initFile: file.initFile && { ...file.initFile } }];
    });
  const processes = (list: readonly ConfigTracked[]) =>
    list.flatMap((tracked): TrackedProcess[] => {
      const block = config.vrrpTrackProcesses.find((candidate) => candidate.name === tracked.name);
      if (!block) return [];
      const { at: _at, params, weight, reverse, ...rule } = block;
      const weighting = tracked.weight === undefined ? { weight, reverse } : { weight: tracked.weight, reverse: tracked.reverse };
      return [{ ...rule, params: [...params], ...weighting }];
    });
  const interfaces = (list: readonly ConfigTracked[]) => list.map((tracked): TrackedInterface => ({ name: tracked.name, weight: tracked.weight ?? 0, reverse: tracked.reverse }));

  const because = `due to ${taken === 'address owner' ? 'address owner (priority 255)' : 'SYNC group without sync_group_tracking_weight'}`;
  const ownScripts = scripts(instance.trackScripts).filter((tracked) => {
    if (!taken || tracked.weight === 0) return true;
    warn(`ignoring tracked script ${tracked.script.name} with weight ${tracked.weight} ${because}`);
    return false;
  });
  const ownInterfaces = interfaces(instance.trackInterfaces).flatMap((tracked): TrackedInterface[] => {
    if (!taken || tracked.weight === 0) return [tracked];
    warn(`ignoring ${taken === 'SYNC group' ? 'the weight of ' : ''}tracked interface ${tracked.name} ${because}`);
    return taken === 'SYNC group' ? [{ ...tracked, weight: 0 }] : [];
  });
  const ownFiles = files(instance.trackFiles).flatMap((tracked): TrackedFile[] => {
    if (!taken || tracked.weight === 0) return [tracked];
    if (tracked.weight !== 1) {
      warn(`ignoring tracked file ${tracked.name} with weight ${tracked.weight} ${because}`);
      return [];
    }
    warn(`ignoring the weight of tracked file ${tracked.name} ${because}; specify weight 0`);
    return [{ ...tracked, weight: 0 }];
  });
  return {
    trackScripts: [...ownScripts, ...scripts(group?.trackScripts ?? []).map((tracked) => groupWeight('script', { ...tracked, name: tracked.script.name }))].map(
      ({ script, weight, reverse }) => ({ script, weight, reverse }),
    ),
    trackInterfaces: [...ownInterfaces, ...interfaces(group?.trackInterfaces ?? [])],
    trackFiles: [...ownFiles, ...files(group?.trackFiles ?? []).map((tracked) => groupWeight('file', tracked))],
    trackProcesses: [...processes(instance.trackProcesses), ...processes(group?.trackProcesses ?? []).map((tracked) => groupWeight('process', tracked))],
  };
}
