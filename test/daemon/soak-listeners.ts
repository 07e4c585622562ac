// The soak's real servers (test/daemon/soak.ts): one process holding every listener, each a TCP
// listener (accepts and closes) or an HTTP server (200 "ok"), all up at first. While flapping,
// listeners picked at random (a seeded generator, so that a run can be repeated) go down or come
// back, `togglesPerSecond` of them a second. A TCP listener goes down by closing: its port refuses
// connections. An HTTP one, at random, either closes or hangs: it goes on accepting but answers
// nothing, so that checks of it time out.
//
// stdin, one JSON or word a line:
//   {"listeners":[{"address":A,"port":P,"http":B},...],"seed":N,"togglesPerSecond":R,"maxSeconds":S}
//       answered "ready" once every listener listens
//   flap    starts the flapping
//   stats   answered {"toggles":N,"listening":N,"failedListens":N}
//   freeze  stops the flapping, waits for the listens under way, and answers
//           {"toggles":N,"failedListens":N,"states":["up","hanging",...]}: each listener's final
//           state (up, refusing or hanging), in plan order
// It exits at stdin's end, and after maxSeconds whatever happens.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { seeded, type Random } from '../seeded.ts';

export interface ListenerSpec {
  readonly address: string;
  readonly port: number;
  readonly http: boolean;
}

export interface ListenersPlan {
  readonly listeners: readonly ListenerSpec[];
  readonly seed: number;
  readonly togglesPerSecond: number;
  readonly maxSeconds: number;
}

export type ListenerState = 'up' | 'refusing' | 'hanging';

export interface Frozen {
  readonly toggles: number;
  readonly failedListens: number;
  readonly states: readonly ListenerState[];
}

const MAX_LISTENERS = 20_000;
const MAX_TOGGLES_PER_SECOND = 1000;
const MAX_SECONDS = 7200;
const TICK_MS = 100;

class Listener {
  private server: Server | HttpServer | undefined;
  /** Listening, and answering unless hanging; a listen under way is not. */
  private listening = false;
  private hanging = false;
  starting: Promise<void> | undefined;
  private started: (() => void) | undefined;

  constructor(
    private readonly spec: ListenerSpec,
    private readonly onFailedListen: () => void,
  ) {}

  get state(): ListenerState {
    return !this.listening ? 'refusing' : this.hanging ? 'hanging' : 'up';
  }

  /** Where it is heading: a listen under way counts as up. */
  get goingUp(): boolean {
    return this.server !== undefined && !this.hanging;
  }

  up(): void {
    this.hanging = false;
    if (this.server === undefined) this.listen();
  }

  down(random: Random): void {
    if (this.spec.http && random() < 0.5) {
      this.hanging = true;
      return;
    }
    const server = this.server;
    this.server = undefined;
    this.listening = false;
    this.hanging = false;
    server?.close();
    if (server && 'closeAllConnections' in server) server.closeAllConnections();
    // A server closed before it listens (its address is looked up first, even a literal one) gets
    // neither 'listening' nor 'error'.
    this.started?.();
  }

  private listen(): void {
    const server = this.spec.http
      ? createHttpServer((_request, response) => {
        if (!this.hanging) response.end('ok\n');
      })
      : createTcpServer((socket) => socket.on('error', () => {}).destroy());
    this.server = server;
    const starting = new Promise<void>((resolve) => {
      this.started = resolve;
      server.once('listening', () => {
        if (this.server === server) this.listening = true;
        resolve();
      });
      server.on('error', () => {
        if (this.server === server) {
          this.server = undefined;
          this.listening = false;
          this.onFailedListen();
        }
        resolve();
      });
    }).finally(() => {
      if (this.starting === starting) this.starting = this.started = undefined;
    });
    this.starting = starting;
    server.listen({ port: this.spec.port, host: this.spec.address, backlog: 1024 });
  }
}

let plan: ListenersPlan;
let listeners: Listener[] = [];
let toggles = 0;
let failedListens = 0;
let flapping: NodeJS.Timeout | undefined;
const write = (value: unknown) => process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
const settled = () => Promise.all(listeners.map((l) => l.starting));

async function begin(): Promise<void> {
  if (!(plan.listeners.length <= MAX_LISTENERS && plan.togglesPerSecond <= MAX_TOGGLES_PER_SECOND && plan.maxSeconds <= MAX_SECONDS)) {
    throw new Error(`at most ${MAX_LISTENERS} listeners, ${MAX_TOGGLES_PER_SECOND} toggles a second and ${MAX_SECONDS} s`);
  }
  setTimeout(() => process.exit(0), plan.maxSeconds * 1000).unref();
  listeners = plan.listeners.map((spec) => new Listener(spec, () => failedListens++));
  for (const listener of listeners) listener.up();
  await settled();
  write('ready');
}

function flap(): void {
  const random = seeded(plan.seed);
  let owed = 0;
  flapping = setInterval(() => {
    for (owed += (plan.togglesPerSecond * TICK_MS) / 1000; owed >= 1; owed--) {
      const listener = listeners[Math.floor(random() * listeners.length)]!;
      if (listener.goingUp) listener.down(random);
      else listener.up();
      toggles++;
    }
  }, TICK_MS);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  if (line.startsWith('{')) {
    plan = JSON.parse(line) as ListenersPlan;
    return begin();
  }
  if (line === 'flap') return flap();
  if (line === 'stats') return write({ toggles, listening: listeners.filter((l) => l.state === 'up').length, failedListens });
  if (line === 'freeze') {
    clearInterval(flapping);
    await settled();
    const frozen: Frozen = { toggles, failedListens, states: listeners.map((l) => l.state) };
    return write(frozen);
  }
  write(`unknown command ${line}`);
});
lines.on('close', () => process.exit(0));
