// The failover test's client: opens COUNT connections to ADDRESS:PORT, sends a numbered line on
// each every 100 ms and checks each answer. On "end" (stdin) it prints, per connection, the real
// server it started on, the one that answered last, whether it broke, and its longest stall.
// Bounded: COUNT connections, and it exits MAX_SECONDS after start whatever happens.
//
//   node client.mjs ADDRESS PORT COUNT MAX_SECONDS
import net from 'node:net';
import { createInterface } from 'node:readline';

const [address, port, count, maxSeconds] = process.argv.slice(2);
const INTERVAL_MS = 100;
const connections = [];

function open(index) {
  const c = { index, first: null, last: null, broken: null, sent: 0, answered: 0, lastAnswerAt: 0, maxStallMs: 0, pending: new Map() };
  const socket = net.connect({ host: address, port: Number(port) });
  socket.setNoDelay(true);
  socket.on('error', (error) => (c.broken ??= error.code ?? String(error)));
  socket.on('close', () => (c.broken ??= 'closed'));
  const lines = createInterface({ input: socket });
  lines.on('error', (error) => (c.broken ??= error.code ?? String(error)));
  lines.on('line', (line) => {
    const [server, seq] = line.split(' ');
    const sentAt = c.pending.get(Number(seq));
    if (sentAt === undefined) return void (c.broken ??= `unexpected answer ${line}`);
    c.pending.delete(Number(seq));
    c.first ??= server;
    c.last = server;
    c.answered++;
    c.maxStallMs = Math.max(c.maxStallMs, Date.now() - sentAt);
    c.lastAnswerAt = Date.now();
  });
  socket.on('connect', () => {
    c.timer = setInterval(() => {
      if (c.broken) return;
      c.pending.set(++c.sent, Date.now());
      socket.write(`${c.sent}\n`);
    }, INTERVAL_MS);
  });
  c.socket = socket;
  return c;
}

for (let i = 0; i < Number(count); i++) connections.push(open(i));
const report = () => {
  const now = Date.now();
  for (const c of connections) {
    clearInterval(c.timer);
    // A request still unanswered is a stall that has not ended.
    for (const sentAt of c.pending.values()) c.maxStallMs = Math.max(c.maxStallMs, now - sentAt);
    c.socket.destroy();
  }
  const summary = connections.map(({ index, first, last, broken, sent, answered, lastAnswerAt, maxStallMs }) => ({
    index, first, last, broken, sent, answered, quietMs: lastAnswerAt === 0 ? null : now - lastAnswerAt, maxStallMs,
  }));
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
};
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'established') {
    const up = connections.filter((c) => c.answered > 0).length;
    process.stdout.write(`${up}\n`);
  } else if (line === 'end') report();
});
setTimeout(report, Number(maxSeconds) * 1000).unref();
