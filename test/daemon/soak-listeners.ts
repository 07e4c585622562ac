// The soak's real servers (test/daemon/soak.ts): one process holding every listener, each a TCP
// listener (accepts and closes) or an HTTP server (200 "ok"), all up at first. While flapping,
// listeners picked at random (a seeded generator, so that a run can be repeated) are stopped or
// started again, `togglesPerSecond` of them a second; a stopped listener's port refuses connections.
// Plain JavaScript run by node: it starts fast and costs little beside the daemon.
//
// stdin, one JSON or word a line:
//   {"listeners":[{"address":A,"port":P,"http":B},...],"seed":N,"togglesPerSecond":R,"maxSeconds":S}
//       answered "ready" once every listener listens
//   flap    starts the flapping
//   stats   answered {"toggles":N,"listening":N,"failedListens":N}
//   freeze  stops the flapping, waits for the listens under way, and answers
//           {"toggles":N,"failedListens":N,"up":"1101..."}: each listener's final state, in plan order
// It exits at stdin's end, and after maxSeconds whatever happens.
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { createInterface } from 'node:readline';

const MAX_LISTENERS = 20_000;
const MAX_TOGGLES_PER_SECOND = 1000;
const MAX_SECONDS = 7200;
const TICK_MS = 100;

/** mulberry32: small, seeded, and good enough to pick listeners. */
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Listener {
  constructor({ address, port, http }) {
    this.address = address;
    this.port = port;
    this.http = http;
    this.server = undefined;
    /** Listening now; a listen under way is not. */
    this.up = false;
    this.starting = undefined;
  }

  start(onFailure) {
    const server = this.http
      ? createHttpServer((_request, response) => response.end('ok\n'))
      : createTcpServer((socket) => socket.on('error', () => {}).destroy());
    this.server = server;
    this.starting = new Promise((resolve) => {
      server.once('listening', () => {
        if (this.server === server) this.up = true;
        resolve();
      });
      server.on('error', () => {
        if (this.server !== server) return;
        this.server = undefined;
        this.up = false;
        onFailure();
        resolve();
      });
    }).finally(() => (this.starting = undefined));
    server.listen({ port: this.port, host: this.address, backlog: 1024 });
  }

  stop() {
    const server = this.server;
    this.server = undefined;
    this.up = false;
    if (server === undefined) return;
    server.close();
    server.closeAllConnections?.();
  }

  /** Started or stopped: what this listener is heading for. */
  get wanted() {
    return this.server !== undefined;
  }
}

let plan;
let listeners = [];
let toggles = 0;
let failedListens = 0;
let flapping;
const failed = () => failedListens++;
const write = (value) => process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
const settled = () => Promise.all(listeners.map((l) => l.starting));

async function begin() {
  if (!(plan.listeners.length <= MAX_LISTENERS && plan.togglesPerSecond <= MAX_TOGGLES_PER_SECOND && plan.maxSeconds <= MAX_SECONDS)) {
    throw new Error(`at most ${MAX_LISTENERS} listeners, ${MAX_TOGGLES_PER_SECOND} toggles a second and ${MAX_SECONDS} s`);
  }
  setTimeout(() => process.exit(0), plan.maxSeconds * 1000).unref();
  listeners = plan.listeners.map((spec) => new Listener(spec));
  for (const listener of listeners) listener.start(failed);
  await settled();
  write('ready');
}

function flap() {
  const random = generator(plan.seed);
  let owed = 0;
  flapping = setInterval(() => {
    for (owed += (plan.togglesPerSecond * TICK_MS) / 1000; owed >= 1; owed--) {
      const listener = listeners[Math.floor(random() * listeners.length)];
      if (listener.wanted) listener.stop();
      else listener.start(failed);
      toggles++;
    }
  }, TICK_MS);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  if (line.startsWith('{')) {
    plan = JSON.parse(line);
    return begin();
  }
  if (line === 'flap') return flap();
  if (line === 'stats') return write({ toggles, listening: listeners.filter((l) => l.up).length, failedListens });
  if (line === 'freeze') {
    clearInterval(flapping);
    await settled();
    return write({ toggles, failedListens, up: listeners.map((l) => (l.up ? '1' : '0')).join('') });
  }
  write(`unknown command ${line}`);
});
lines.on('close', () => process.exit(0));
