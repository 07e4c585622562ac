import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Director, type HealthPort } from '../../src/daemon/director.ts';
import { serviceName, type IpvsOp } from '../../src/ipvs/model.ts';
import { config, ModelKernel, WEB } from './fixtures.ts';

// The host kernel has no IPVS: the director runs against the IPVS model of src/ipvs, behind a port
// whose answers the test releases one at a time, so every interleaving of a stop with a verdict,
// a reload or a lost socket is reproduced on purpose rather than by luck.

class Gate {
  private waiting: Array<() => void> = [];
  closed = false;
  pass(): Promise<void> {
    if (!this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  open(): void {
    this.closed = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
  get held(): number {
    return this.waiting.length;
  }
}

/** The IPVS model behind a gate on `apply`, with a netlink socket that can break. */
class GatedKernel extends ModelKernel {
  readonly applyGate = new Gate();
  /** Calls of `apply` that fail as a closed netlink socket does, before any reaches the kernel. */
  brokenApplies = 0;
  reconnects = 0;
  /** Whether a reconnect mends the socket. */
  reconnectMends = true;

  override async apply(ops: readonly IpvsOp[]) {
    await this.applyGate.pass();
    if (this.brokenApplies > 0) {
      this.brokenApplies--;
      throw new Error('Netlink socket is closed');
    }
    return super.apply(ops);
  }
  override async reconnect(): Promise<void> {
    this.reconnects++;
    if (!this.reconnectMends) this.brokenApplies = Number.POSITIVE_INFINITY;
  }
}

/** Health whose stop the test finishes, and which counts the updates it was asked for. */
class HeldHealth implements HealthPort {
  readonly stopGate = new Gate();
  updates = 0;
  async update(): Promise<void> {
    this.updates++;
  }
  details() {
    return new Map();
  }
  async stop(): Promise<void> {
    await this.stopGate.pass();
  }
  readTrackedFile(): undefined {
    return undefined;
  }
}

const TWO_SERVICES = `${WEB}
virtual_server 10.0.0.2 443 {
  protocol TCP
  lb_kind NAT
  lb_algo wlc
  real_server 10.0.1.3 443 { TCP_CHECK { connect_timeout 1 } }
}`;

const FOREIGN = '-A -u 10.9.9.9:53 -s rr\n';

/** Lets every pending immediate, timer of 0 ms and microtask run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

async function started(rules = FOREIGN) {
  const kernel = new GatedKernel(rules);
  const health = new HeldHealth();
  const director = new Director(config(TWO_SERVICES), kernel, health, () => {}, pino({ level: 'silent' }));
  await director.start();
  await settle();
  return { director, kernel, health };
}

const flap = (director: Director) => {
  director.onVerdict('TCP 10.0.0.1:80', '10.0.1.1:80', { up: false, weight: 2 });
  director.onVerdict('TCP 10.0.0.2:443', '10.0.1.3:443', { up: true, weight: 1 });
};

describe('director stop', () => {
  it('leaves an empty table when a verdict arrives after stop began and before its diff', async () => {
    const { director, kernel, health } = await started();
    health.stopGate.closed = true;
    const stopping = director.stop();
    flap(director);
    health.stopGate.open();
    expect(await stopping).toEqual({ ok: true });
    await settle();
    expect(kernel.rules()).toBe(FOREIGN);
  });

  it('leaves an empty table when a verdict arrives while the stop is being applied', async () => {
    const { director, kernel } = await started();
    kernel.applyGate.closed = true;
    const stopping = director.stop();
    await settle();
    expect(kernel.applyGate.held).toBe(1);
    flap(director);
    await settle();
    kernel.applyGate.open();
    expect(await stopping).toEqual({ ok: true });
    await settle();
    expect(kernel.rules()).toBe(FOREIGN);
  });

  it('sends nothing to the kernel for a verdict that arrives after the stop', async () => {
    const { director, kernel } = await started();
    await director.stop();
    const sent = kernel.sent.length;
    flap(director);
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.1:80', { up: true, weight: 2 });
    await settle();
    expect(kernel.sent.length).toBe(sent);
    expect(kernel.rules()).toBe(FOREIGN);
  });

  it('drops reconciles queued before the stop instead of running them after it', async () => {
    const { director, kernel } = await started();
    kernel.applyGate.closed = true;
    flap(director);
    await settle();
    expect(kernel.applyGate.held).toBe(1);
    director.onVerdict('TCP 10.0.0.1:80', '10.0.1.1:80', { up: true, weight: 2 });
    await settle();
    const stopping = director.stop();
    kernel.applyGate.open();
    expect(await stopping).toEqual({ ok: true });
    expect(kernel.rules()).toBe(FOREIGN);
    // The reconcile in flight completed; the one queued behind it never ran.
    expect(kernel.sent.at(-1)?.every((op) => op.op === 'del-service')).toBe(true);
  });

  it('refuses a reload once the stop began, and changes nothing for it', async () => {
    const { director, kernel, health } = await started();
    health.stopGate.closed = true;
    const stopping = director.stop();
    const reloaded = await director.reload(config(TWO_SERVICES.replace('weight 2', 'weight 5')));
    expect(reloaded.ok).toBe(false);
    expect(reloaded.message).toMatch(/stopping/);
    health.stopGate.open();
    await stopping;
    expect(kernel.rules()).toBe(FOREIGN);
    expect(health.updates).toBe(1);
  });

  it('empties what the kernel holds now, not what it last saw: a service deleted behind its back is not deleted again', async () => {
    const { director, kernel } = await started();
    kernel.table = kernel.table.filter((service) => service.id.kind !== 'addr' || service.id.port !== 443);
    expect(await director.stop()).toEqual({ ok: true });
    expect(kernel.sent.at(-1)).toEqual([expect.objectContaining({ op: 'del-service', service: expect.objectContaining({ port: 80 }) })]);
    expect(kernel.rules()).toBe(FOREIGN);
  });

  it('retries once on a new socket when the stop cannot reach the kernel', async () => {
    const { director, kernel } = await started();
    kernel.brokenApplies = 1;
    expect(await director.stop()).toEqual({ ok: true });
    expect(kernel.reconnects).toBe(1);
    expect(kernel.rules()).toBe(FOREIGN);
  });

  it('names every entry it could not remove when the retry fails too', async () => {
    const { director, kernel } = await started();
    kernel.brokenApplies = 1;
    kernel.reconnectMends = false;
    const outcome = await director.stop();
    expect(outcome).toEqual({ ok: false, left: ['TCP 10.0.0.1:80', 'TCP 10.0.0.2:443'] });
    expect(kernel.reconnects).toBe(1);
  });

  it('deletes each configured service in one request, without reading its real servers first', async () => {
    const { director, kernel } = await started();
    const read: string[] = [];
    const dump = kernel.dump.bind(kernel);
    kernel.dump = (destsOf = () => true) => dump((service) => destsOf(service) && read.push(serviceName(service)) > 0);
    expect(await director.stop()).toEqual({ ok: true });
    expect(kernel.sent.at(-1)?.map((op) => op.op)).toEqual(['del-service', 'del-service']);
    expect(read).toEqual(['UDP 10.9.9.9:53', 'UDP 10.9.9.9:53']);
    expect(kernel.rules()).toBe(FOREIGN);
  });

  it('with lvs_flush_onstop, flushes the whole table, foreign services too', async () => {
    const kernel = new GatedKernel(FOREIGN);
    const director = new Director(config(`global_defs { lvs_flush_onstop }\n${TWO_SERVICES}`), kernel, new HeldHealth(), () => {}, pino({ level: 'silent' }));
    await director.start();
    expect(await director.stop()).toEqual({ ok: true });
    expect(kernel.rules()).toBe('');
  });
});
