import { SysctlHolds } from './sysctls.ts';

/**
 * promote_secondaries, as keepalived 2.2.7 sets it: the interface's
 * net.ipv4.conf.IF.promote_secondaries is 1 from the start of the first instance on it that asks,
 * so that removing a VIP that the kernel holds as primary keeps the others, and goes back after the last.
 */
export class PromotedSecondaries {
  private readonly holds = new SysctlHolds();
  private readonly interfaceOf = new Map<string, string>();

  /** `instance` asks for it on `interfaceName`, or, undefined, no longer anywhere. */
  async want(instance: string, interfaceName: string | undefined): Promise<void> {
    const current = this.interfaceOf.get(instance);
    if (current === interfaceName) return;
    if (current !== undefined) {
      this.interfaceOf.delete(instance);
      await this.holds.release(current, instance);
    }
    if (interfaceName === undefined) return;
    this.interfaceOf.set(instance, interfaceName);
    await this.holds.hold(interfaceName, instance, [{ path: `net/ipv4/conf/${interfaceName}/promote_secondaries`, value: 1 }]);
  }
}
