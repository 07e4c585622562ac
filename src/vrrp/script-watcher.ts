import type { Logger } from 'pino';
import { runCommand, splitCommandLine } from '../util/command.ts';
import { initialScriptHealth, recordScriptResult, type ScriptHealth } from './tracking.ts';
import type { VrrpScriptSpec } from './types.ts';

/** Runs one vrrp_script at its interval and keeps its rise/fall health. */
export class ScriptWatcher {
  health: ScriptHealth;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    readonly spec: VrrpScriptSpec,
    private readonly logger: Logger,
    private readonly onChange: () => void,
  ) {
    this.health = initialScriptHealth(spec.initFail);
  }

  start(): void {
    void this.runOnce();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async runOnce(): Promise<void> {
    const outcome = await runCommand(splitCommandLine(this.spec.command), { timeoutMs: this.spec.timeoutMs, user: this.spec.user });
    if (this.stopped) return;
    const before = this.health.healthy;
    this.health = recordScriptResult(this.health, outcome.succeeded, this.spec.rise, this.spec.fall);
    if (this.health.healthy !== before) {
      this.logger.info({ healthy: this.health.healthy, ...(outcome.succeeded ? {} : { why: outcome.why }) }, `VRRP_Script(${this.spec.name}) ${this.health.healthy ? 'succeeded' : 'failed'}`);
      this.onChange();
    }
    this.timer = setTimeout(() => void this.runOnce(), this.spec.intervalMs);
  }
}
