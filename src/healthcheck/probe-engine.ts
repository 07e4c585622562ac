// TCP_CHECK, HTTP_GET and SSL_GET through the native probe engine (native/probe): the sockets,
// their deadlines, TLS and the HTTP response parsing live in C++, and JavaScript sees one batch of
// results per event-loop turn. A JavaScript socket alone costs more than half of keepalived's whole
// check, and a JavaScript TLS handshake several times what keepalived's costs.
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import type { HttpProbeOptions, HttpUrlExpectation } from './probes/http.ts';
import { requestText } from './probes/http-request.ts';
import type { HttpWireResult } from './probes/http-wire.ts';
import type { TcpProbeOptions } from './probes/tcp.ts';
import type { ProbeResult } from './state.ts';

interface NativeEngine {
  target(host: string, port: number, bindTo: string | undefined, bindPort: number): Buffer;
  /** 0 once started, else phase << 16 | errno. */
  tcp(id: number, target: Buffer, timeoutMs: number, flags: number): number;
  http(id: number, target: Buffer, timeoutMs: number, flags: number, request: Buffer): number;
  /** As http(), over TLS; '' sends no server name, an empty session resumes none. */
  https(id: number, target: Buffer, timeoutMs: number, flags: number, request: Buffer, serverName: string, session: Buffer): number;
  close(): void;
}

export interface ParsedHttpResponse {
  readonly code: number;
  readonly status: number;
  readonly md5: Buffer | null;
  readonly body: Buffer | null;
}

export interface ProbeEngineAddon {
  /** Each of bodies, sessions and reasons is [id, value, id, value, ...]. */
  readonly Engine: new (onBatch: (records: ArrayBuffer, bodies: unknown[], sessions: unknown[], reasons: unknown[]) => void) => NativeEngine;
  /** The engine's response reader on these chunks followed by the end of the stream (for fuzzing). */
  parseHttpResponse(chunks: readonly Buffer[], flags: number): ParsedHttpResponse;
}

export const HASH_BODY = 1;
export const KEEP_BODY = 2;
const CLOSE_WITH_FIN = 4;
const HALF_OPEN = 8;

/** Result codes below zero; above zero a code is an errno. */
export const TIMEOUT = -1;
export const NOT_HTTP = -2;
export const HEADER_TOO_LARGE = -3;
export const CLOSED_BEFORE_HEADER = -4;
export const TLS_FAILED = -5;

const PHASES = ['', 'socket', 'bind', 'connect', 'handshake', 'write', 'read', 'raw socket'] as const;
/** A half-open probe found no raw socket or no source ports to hold: the engine connects instead. */
const RAW_PHASE = 7;
/** Record layout of engine.cc: id, code, status, phase (int32), elapsedMs (float64), md5 (16 bytes). */
const RECORD_BYTES = 40;

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, number]) => [number, name]));

// Same relative path from src/healthcheck and from the dist/cli bundles.
const ADDON_PATH = '../../native/probe/build/Release/probe_engine.node';

export function loadProbeEngineAddon(): ProbeEngineAddon {
  return createRequire(import.meta.url)(ADDON_PATH) as ProbeEngineAddon;
}

/** `md5Of(records, md5At)` reads the digest: a TCP check, the common case, makes no closure for it. */
type Waiter = (
  code: number, status: number, phase: number, elapsedMs: number, records: Buffer, md5At: number, body: Buffer | null, reason: string, session: Buffer | undefined,
) => void;

const md5Of = (records: Buffer, md5At: number): string => records.toString('hex', md5At, md5At + 16);
const NO_RECORDS = Buffer.alloc(0);

const NO_SESSION = Buffer.alloc(0);

export class ProbeEngine {
  private readonly engine: NativeEngine;
  private readonly waiting = new Map<number, Waiter>();
  private readonly targets = new WeakMap<object, Buffer>();
  private readonly requests = new WeakMap<HttpUrlExpectation, Buffer>();
  /**
   * SSL_GET: each checker's last session under each server name ('' for none), offered on its next
   * probe under that name (see TlsReuse in probes/http-wire.ts).
   */
  private readonly sessions = new WeakMap<HttpProbeOptions, Map<string, Buffer>>();
  private nextId = 0;
  private halfOpenFailed = false;

  constructor(
    addon: ProbeEngineAddon,
    private readonly onWarning: (message: string) => void = () => {},
  ) {
    this.engine = new addon.Engine((records, bodies, sessions, reasons) => this.onBatch(records, bodies, sessions, reasons));
  }

  /** TCP_CHECK: up once the handshake completes within the timeout. */
  tcp(options: TcpProbeOptions): Promise<ProbeResult> {
    return new Promise((resolve) => this.tcpThen(options, resolve));
  }

  /** tcp() with a callback: the checker pool's path, without a promise per check. */
  tcpThen(options: TcpProbeOptions, done: (result: ProbeResult) => void): void {
    const target = this.targetOf(options, options);
    if (typeof target === 'string') return done({ ok: false, latencyMs: 0, reason: target });
    const id = this.newId();
    const flags = options.closeWithFin === true ? CLOSE_WITH_FIN : 0;
    const started = this.startTcp(id, target, timeoutOf(options.timeoutMs), flags, options.halfOpen === true);
    const waiter: Waiter = (code, _status, phase, elapsedMs) => {
      done(code === 0 ? { ok: true, latencyMs: elapsedMs } : { ok: false, latencyMs: elapsedMs, reason: failure(code, phase, options, 'connect timeout') });
    };
    this.started(id, started, waiter);
  }

  /** One HTTP_GET or SSL_GET url on a fresh connection, read like keepalived and genhash read it. */
  readonly httpGet = (url: HttpUrlExpectation, options: HttpProbeOptions): Promise<HttpWireResult> => {
    return new Promise((resolve) => {
      const target = this.targetOf(options, options);
      if (typeof target === 'string') return resolve({ ok: false, error: target });
      const request = this.requestOf(url, options);
      const keepBody = url.regex !== undefined;
      const hashBody = url.digest !== undefined;
      const flags = (hashBody ? HASH_BODY : 0) | (keepBody ? KEEP_BODY : 0) | (options.closeWithFin === true ? CLOSE_WITH_FIN : 0);
      const id = this.newId();
      const timeoutMs = timeoutOf(options.timeoutMs);
      const serverName = url.sni ?? '';
      const started = options.tls
        ? this.engine.https(id, target, timeoutMs, flags, request, serverName, this.sessions.get(options)?.get(serverName) ?? NO_SESSION)
        : this.engine.http(id, target, timeoutMs, flags, request);
      const waiter: Waiter = (code, status, phase, _elapsedMs, records, md5At, body, reason, session) => {
        if (session !== undefined) this.sessionsOf(options).set(serverName, session);
        resolve(
          code === 0
            ? { ok: true, status, md5: hashBody ? md5Of(records, md5At) : null, body: keepBody ? (body ?? Buffer.alloc(0)) : null }
            : { ok: false, error: code === TLS_FAILED ? `TLS ${PHASES[phase]}: ${reason}` : failure(code, phase, options, 'timeout') },
        );
      };
      this.started(id, started, waiter);
    });
  };

  /** A half-open probe where it can run; where it cannot, a warning once and connects from then on. */
  private startTcp(id: number, target: Buffer, timeoutMs: number, flags: number, halfOpen: boolean): number {
    if (halfOpen && !this.halfOpenFailed) {
      const started = this.engine.tcp(id, target, timeoutMs, flags | HALF_OPEN);
      if (started >>> 16 !== RAW_PHASE) return started;
      this.halfOpenFailed = true;
      this.onWarning(`half-open TCP_CHECK (lvsd_tcp_check syn): no raw socket or no source ports to hold (${ERRNO_NAMES.get(started & 0xffff) ?? started & 0xffff}); TCP_CHECK connects instead`);
    }
    return this.engine.tcp(id, target, timeoutMs, flags);
  }

  close(): void {
    this.engine.close();
    const stranded = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiter of stranded) waiter(TIMEOUT, 0, 0, 0, NO_RECORDS, 0, null, '', undefined);
  }

  private newId(): number {
    return (this.nextId = (this.nextId + 1) >>> 0);
  }

  /** `started`: what engine.tcp() or engine.http() returned. */
  private started(id: number, started: number, waiter: Waiter): void {
    if (started === 0) this.waiting.set(id, waiter);
    else waiter(started & 0xffff, 0, started >>> 16, 0, NO_RECORDS, 0, null, '', undefined);
  }

  private sessionsOf(options: HttpProbeOptions): Map<string, Buffer> {
    let sessions = this.sessions.get(options);
    if (sessions === undefined) this.sessions.set(options, (sessions = new Map()));
    return sessions;
  }

  /** The encoded target, or why there can be none (an address the engine cannot use). */
  private targetOf(key: object, o: Pick<TcpProbeOptions, 'host' | 'port' | 'bindTo'> & { readonly bindPort?: number }): Buffer | string {
    let target = this.targets.get(key);
    if (target === undefined) {
      try {
        target = this.engine.target(o.host, o.port, o.bindTo, o.bindPort ?? 0);
      } catch (error) {
        return (error as Error).message;
      }
      this.targets.set(key, target);
    }
    return target;
  }

  private requestOf(url: HttpUrlExpectation, options: HttpProbeOptions): Buffer {
    let request = this.requests.get(url);
    if (request === undefined) {
      const virtualhost = url.virtualhost ?? options.virtualhost;
      request = Buffer.from(
        requestText({ host: options.host, port: options.port, path: url.path, protocol: options.httpProtocol, ...(virtualhost === undefined ? {} : { virtualhost }) }),
        'latin1',
      );
      this.requests.set(url, request);
    }
    return request;
  }

  private onBatch(records: ArrayBuffer, bodies: unknown[], sessions: unknown[], reasons: unknown[]): void {
    const ints = new Int32Array(records);
    const floats = new Float64Array(records);
    const bytes = Buffer.from(records);
    const bodyOf = byProbe<Buffer>(bodies);
    const reasonOf = byProbe<string>(reasons);
    const sessionOf = byProbe<Buffer>(sessions);
    const count = records.byteLength / RECORD_BYTES;
    for (let i = 0; i < count; i++) {
      const id = ints[i * 10]! >>> 0;
      const waiter = this.waiting.get(id);
      if (waiter === undefined) continue;
      this.waiting.delete(id);
      waiter(ints[i * 10 + 1]!, ints[i * 10 + 2]!, ints[i * 10 + 3]!, floats[i * 5 + 2]!, bytes, i * RECORD_BYTES + 24, bodyOf?.get(id) ?? null, reasonOf?.get(id) ?? '', sessionOf?.get(id));
    }
  }
}

/** [id, value, id, value, ...] as a map; none when empty, the common case. */
function byProbe<T>(pairs: unknown[]): Map<number, T> | undefined {
  if (pairs.length === 0) return undefined;
  const map = new Map<number, T>();
  for (let i = 0; i < pairs.length; i += 2) map.set(pairs[i] as number, pairs[i + 1] as T);
  return map;
}

/** Whole milliseconds, within what the engine takes. */
function timeoutOf(ms: number): number {
  return Math.min(0xffffffff, Math.max(0, Math.ceil(ms)));
}

function failure(code: number, phase: number, o: TcpProbeOptions | HttpProbeOptions, timeoutText: string): string {
  switch (code) {
    case TIMEOUT:
      return `${timeoutText} after ${o.timeoutMs} ms`;
    case NOT_HTTP:
      return 'not an HTTP response';
    case HEADER_TOO_LARGE:
      return 'response header too large';
    case CLOSED_BEFORE_HEADER:
      return 'connection closed before the response header';
  }
  const name = ERRNO_NAMES.get(code) ?? `errno ${code}`;
  const step = PHASES[phase] ?? 'probe';
  const peer = step === 'bind' ? (o.bindTo ?? '') : `${o.host}:${o.port}`;
  return `${name}: ${step} ${name}${peer === '' ? '' : ` ${peer}`}`;
}
