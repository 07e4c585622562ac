import type { DestinationStream, Logger, LogFn } from 'pino';

/** What the director's parts log through: four of pino's levels. */
export type Log = Pick<Logger, Level | 'isLevelEnabled'>;
type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Readonly<Record<string, number>> = { debug: 20, info: 30, warn: 40, error: 50 };

interface Held {
  readonly level: Level;
  readonly args: unknown[];
  readonly time: number;
}

/**
 * The daemon's log. Until `pino()` is first called, records are held in order with the time they
 * were made; then pino is loaded and writes them, and every record after them. The daemon loads
 * pino once its first table is programmed: pino and the modules under it (stream, assert,
 * worker_threads) took ~150 ms of a ~1.3 s start to a full table in the kernel VM, ~20 ms natively.
 */
export class DeferredLog implements Log {
  readonly debug = this.writer('debug');
  readonly info = this.writer('info');
  readonly warn = this.writer('warn');
  readonly error = this.writer('error');
  private loaded: Logger | undefined;
  private loading: Promise<Logger> | undefined;
  private held: Held[] = [];
  /** The time of the held record being written; pino stamps the others itself. */
  private heldTime: number | undefined;

  constructor(
    private readonly level: 'debug' | 'info',
    private readonly destination?: DestinationStream,
  ) {}

  isLevelEnabled(level: string): boolean {
    return this.loaded ? this.loaded.isLevelEnabled(level) : (RANK[level] ?? 0) >= RANK[this.level]!;
  }

  /** pino, loaded on the first call, with every held record written. */
  pino(): Promise<Logger> {
    this.loading ??= import('pino').then(({ default: pino }) => {
      const options = { level: this.level, base: { pid: process.pid }, timestamp: () => `,"time":${this.heldTime ?? Date.now()}` };
      const logger = this.destination ? pino(options, this.destination) : pino(options);
      for (const record of this.held) {
        this.heldTime = record.time;
        write(logger, record.level, record.args);
      }
      this.heldTime = undefined;
      this.held = [];
      this.loaded = logger;
      return logger;
    });
    return this.loading;
  }

  private writer(level: Level): LogFn {
    return ((...args: unknown[]) => {
      if (this.loaded) write(this.loaded, level, args);
      else this.held.push({ level, args, time: Date.now() });
    }) as LogFn;
  }
}

function write(logger: Logger, level: Level, args: unknown[]): void {
  (logger[level] as (...args: unknown[]) => void).apply(logger, args);
}
