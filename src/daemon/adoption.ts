import type { RealServerVerdict } from '../healthcheck/table.ts';
import { destKey, serviceKey, type IpvsTable } from '../ipvs/model.ts';
import { destInService, realServerKey, type VirtualServerPlan } from './engine.ts';

/** A checked real server of a virtual server that IPVS already held when lvsd started. */
export interface Adopted {
  readonly plan: string;
  readonly realServer: string;
  /** In IPVS: up at the weight it has there. Absent: down until its checks pass (as with alpha). */
  readonly verdict: RealServerVerdict;
}

/**
 * What a restarted lvsd takes over from the kernel. A virtual server whose (first) service is
 * already in IPVS was programmed by an lvsd that stopped without removing it (kill -9, a crash):
 * its checked real servers keep what IPVS holds until their own checks say otherwise, so that a
 * restart moves no traffic. A first start (empty table) is keepalived's: every real server up
 * unless alpha. Real servers without checkers are always up, so there is nothing to wait for.
 */
export function adoptedAtStart(plans: readonly VirtualServerPlan[], kernel: IpvsTable): Adopted[] {
  const services = new Map(kernel.map((service) => [serviceKey(service.id), service]));
  return plans.flatMap((plan) => {
    const first = plan.services[0];
    const service = first && services.get(serviceKey(first.id));
    if (!first || !service) return [];
    const weights = new Map(service.dests.map((dest) => [destKey(dest), dest.weight]));
    return plan.config.realServers
      .filter((rs) => rs.checkers.length > 0)
      .map((rs): Adopted => {
        const realServer = realServerKey(rs);
        const template = plan.destTemplates.get(realServer);
        const weight = template && weights.get(destKey(destInService(first.id, template)));
        return { plan: plan.name, realServer, verdict: weight === undefined ? { up: false, weight: rs.weight } : { up: true, weight } };
      });
  });
}
