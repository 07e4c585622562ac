// What any Node.js director must do before IPVS holds a table, and nothing more: open generic
// netlink, resolve IPVS and add SERVICES x DESTS entries through lvsd's own netlink client. No
// configuration is read. start-floor.bench.ts bundles this file and times it in the kernel VM.
import { IpvsClient } from '../src/ipvs/client.ts';
import type { IpvsOp } from '../src/ipvs/model.ts';

async function main(): Promise<void> {
  const [services, destsPer] = process.argv.slice(2).map(Number) as [number, number];
  const client = await IpvsClient.open();
  const ops: IpvsOp[] = [];
  for (let s = 0; s < services; s++) {
    const id = { kind: 'addr', af: 'inet', protocol: 'tcp', addr: `10.200.${s >> 8}.${s & 255}`, port: 80 } as const;
    ops.push({ op: 'add-service', service: { id, scheduler: 'wlc', persistence: null, onePacket: false, schedulerFlags: [], pe: null } });
    for (let d = 0; d < destsPer; d++) {
      ops.push({ op: 'add-dest', service: id, dest: { addr: `10.201.${d}.${s & 255}`, port: 80, fwd: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnel: null } });
    }
  }
  const refused = (await client.apply(ops)).filter((result) => !result.ok);
  if (refused.length > 0) throw new Error(`IPVS refused ${refused.length} operations`);
  // Held open until the benchmark, having seen the table, sends SIGTERM.
  setInterval(() => {}, 60_000);
}

void main();
