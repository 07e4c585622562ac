import { parseConfigText, type KeepalivedConfig } from '../../src/config/index.ts';
import type { IpvsPort } from '../../src/daemon/director.ts';
import { applyOps } from '../../src/ipvs/apply-model.ts';
import { formatRules, parseRules } from '../../src/ipvs/ipvsadm.ts';
import type { IpvsOp, IpvsTable, ServiceId } from '../../src/ipvs/model.ts';

// The host kernel has no IPVS, so these tests drive the director against the
// IPVS model of src/ipvs (the same semantics the kernel tests check); the
// differential tests in test/conformance run the real kernel and keepalived.
export class ModelKernel implements IpvsPort {
  table: IpvsTable;
  /** Every batch applied, for tests to inspect; a long-running daemon over the model keeps none. */
  readonly sent: IpvsOp[][] = [];
  constructor(rules = '', private readonly recordSent = true) {
    this.table = parseRules(rules);
  }
  async dump(destsOf: (service: ServiceId) => boolean = () => true): Promise<IpvsTable> {
    return this.table.map((service) => (destsOf(service.id) ? service : { ...service, dests: [] }));
  }
  async apply(ops: readonly IpvsOp[]): Promise<Array<{ readonly op: IpvsOp; readonly error: string }>> {
    if (this.recordSent) this.sent.push([...ops]);
    const result = applyOps(this.table, ops);
    this.table = result.table;
    return result.rejected.map(({ op, code }) => ({ op, error: code }));
  }
  async reconnect(): Promise<void> {}
  rules(): string {
    return formatRules(this.table);
  }
}

export function config(text: string): KeepalivedConfig {
  const result = parseConfigText(text, 'test.conf', () => '', () => [], { hostname: 'test' });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.config;
}

export const WEB = `
virtual_server 10.0.0.1 80 {
  protocol TCP
  lb_kind NAT
  lb_algo rr
  real_server 10.0.1.1 80 { weight 2
    TCP_CHECK { connect_timeout 1 } }
  real_server 10.0.1.2 80 { weight 1
    TCP_CHECK { connect_timeout 1 } }
}`;
