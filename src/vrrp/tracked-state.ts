import type { Logger } from 'pino';
import type { LinkInfo } from './netlink.ts';
import { ProcessQuorums } from './process-watch.ts';
import { ScriptWatcher } from './script-watcher.ts';
import { SourceAddressWatch } from './source-watch.ts';
import { TrackedFileValues } from './tracked-files.ts';
import { withRoutingInterfaces } from './tracked-routing.ts';
import { effectivePriority, type PriorityOutcome, type Tracked, type TrackWeight } from './tracking.ts';
import type { VrrpInstanceSpec, VrrpScriptSpec } from './types.ts';

/** What the instances track (scripts, files, processes, interfaces, those of their routes and rules too), watched once for all of them. */
export class TrackedState {
  private readonly scripts = new Map<string, ScriptWatcher>();
  private readonly files: TrackedFileValues;
  private readonly processes: ProcessQuorums;
  readonly sources = new SourceAddressWatch();

  constructor(
    private readonly logger: Logger,
    now: () => number,
    /** Something tracked changed: the priorities are to be worked out again. */
    private readonly onChange: () => void,
  ) {
    this.files = new TrackedFileValues(logger, onChange);
    this.processes = new ProcessQuorums(logger, now, onChange);
  }

  /** The files and processes `specs` track, read before their first priorities, as keepalived reads them. */
  async watchFilesAndProcesses(specs: VrrpInstanceSpec[]): Promise<void> {
    await this.files.reconcile(specs.flatMap((spec) => spec.trackFiles));
    await this.processes.reconcile(specs.flatMap((spec) => spec.trackProcesses));
  }

  /** Runs exactly the vrrp_scripts `specs` track; one whose settings changed starts over. */
  watchScripts(specs: VrrpInstanceSpec[]): void {
    const wanted = new Map<string, VrrpScriptSpec>();
    for (const spec of specs) for (const tracked of spec.trackScripts) wanted.set(tracked.script.name, tracked.script);
    for (const [name, watcher] of this.scripts) {
      if (JSON.stringify(wanted.get(name)) === JSON.stringify(watcher.spec)) continue;
      watcher.stop();
      this.scripts.delete(name);
    }
    for (const [name, spec] of wanted) {
      if (this.scripts.has(name)) continue;
      const watcher = new ScriptWatcher(spec, this.logger.child({ script: name }), this.onChange);
      this.scripts.set(name, watcher);
      watcher.start();
    }
    this.onChange();
  }

  /** `spec`'s effective priority and fault, with the host's links as `links` says. */
  healthOf(spec: VrrpInstanceSpec, links: Map<string, LinkInfo>): PriorityOutcome {
    const condition = (weight: TrackWeight, up: boolean): Tracked => ({ kind: 'condition', ...weight, up });
    const scripts = spec.trackScripts.map(({ weight, reverse, script }) =>
      condition({ weight, reverse }, this.scripts.get(script.name)?.health.healthy ?? !script.initFail),
    );
    const interfaces = withRoutingInterfaces(spec).map(({ weight, reverse, name }) => condition({ weight, reverse }, links.get(name)?.up ?? false));
    const files = spec.trackFiles.map(({ weight, reverse, path }): Tracked => ({ kind: 'value', weight, reverse, value: this.files.value(path) }));
    const processes = spec.trackProcesses.map((tracked) => condition({ weight: tracked.weight, reverse: tracked.reverse }, this.processes.held(tracked)));
    const own = condition({ weight: 0, reverse: false }, links.get(spec.interface)?.up ?? false);
    // keepalived 2.2.7 counts a config fault as a tracked thing down for good.
    const configFaults = spec.configFaults.map(() => condition({ weight: 0, reverse: false }, false));
    const source = condition({ weight: 0, reverse: false }, !this.sources.isLost(spec.name));
    return effectivePriority(spec.priority, [own, source, ...configFaults, ...scripts, ...interfaces, ...files, ...processes]);
  }

  close(): void {
    for (const watcher of this.scripts.values()) watcher.stop();
    this.files.close();
    this.processes.close();
  }
}
