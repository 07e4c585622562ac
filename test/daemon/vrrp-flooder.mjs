// Sends the given IPv4 datagrams (IP header included, built by the test) round robin out of one
// interface at a steady rate, for a bounded time, and prints what it sent of each as JSON:
//   node vrrp-flooder.mjs '{"device":"lan1","rate":10000,"seconds":10,"kinds":[{"name":"ttl","destination":"224.0.0.18","datagram":"45c0..."}]}'
import { createRequire } from 'node:module';

const raw = createRequire(import.meta.url)('raw-socket');
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const VRRP_PROTOCOL = 112;
/** Each tick tops the sends up to the rate; a backlog beyond a second's worth is skipped (and reported), not queued. */
const TICK_MS = 5;

const { device, rate, seconds, kinds } = JSON.parse(process.argv[2]);
const packets = kinds.map((kind) => ({ ...kind, datagram: Buffer.from(kind.datagram, 'hex'), sent: 0, failed: 0 }));
const socket = raw.createSocket({ addressFamily: raw.AddressFamily.IPv4, protocol: VRRP_PROTOCOL });
const name = Buffer.from(`${device}\0`);
socket.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
// The header is ours: TTL and source as each kind needs; the kernel fills in ID and checksum.
socket.setOption(IPPROTO_IP, IP_HDRINCL, 1);
socket.on('error', (error) => {
  console.error(error);
  process.exitCode = 1;
});

const total = Math.round(rate * seconds);
let queued = 0;
let skipped = 0;
let next = 0;
const start = performance.now();
let lastSentAt = start;
const timer = setInterval(() => {
  const elapsed = performance.now() - start;
  const due = Math.min(total, Math.floor((rate * elapsed) / 1000));
  while (next < due) {
    const packet = packets[next++ % packets.length];
    if (queued >= rate) {
      skipped++;
      continue;
    }
    queued++;
    socket.send(packet.datagram, 0, packet.datagram.length, packet.destination, (error) => {
      queued--;
      if (error) packet.failed++;
      else packet.sent++;
      lastSentAt = performance.now();
      if (next >= total && queued === 0) finish();
    });
  }
  if (next >= total && queued === 0) finish();
}, TICK_MS);

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  clearInterval(timer);
  socket.close();
  const seconds = (lastSentAt - start) / 1000;
  const sent = Object.fromEntries(packets.map((p) => [p.name, p.sent]));
  const failed = packets.reduce((sum, p) => sum + p.failed, 0);
  const count = packets.reduce((sum, p) => sum + p.sent, 0);
  process.stdout.write(`${JSON.stringify({ sent, failed, skipped, seconds, rate: count / seconds })}\n`);
}
