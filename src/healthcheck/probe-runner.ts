import type { ProbeResult } from './state.ts';
import { loadProbeEngineAddon, ProbeEngine } from './probe-engine.ts';
import type { DnsProbeOptions } from './probes/dns.ts';
import type { FileProbeOptions } from './probes/file.ts';
import { httpProbe, type HttpProbeOptions } from './probes/http.ts';
import type { MiscProbeOptions } from './probes/misc.ts';
import type { Pinger, PingProbeOptions } from './probes/ping.ts';
import type { SmtpProbeOptions } from './probes/smtp.ts';
import type { TcpProbeOptions } from './probes/tcp.ts';
import type { UdpProbeOptions } from './probes/udp.ts';

// Each kind of probe is loaded when a checker of that kind first runs: a director with TCP checks
// alone does not pay, at every start, for loading ICMP, DNS, UDP, SMTP and script probes (and the
// node modules under them).
const probes = {
  dns: once(() => import('./probes/dns.ts')),
  file: once(() => import('./probes/file.ts')),
  misc: once(() => import('./probes/misc.ts')),
  ping: once(() => import('./probes/ping.ts')),
  smtp: once(() => import('./probes/smtp.ts')),
  tcp: once(() => import('./probes/tcp.ts')),
  udp: once(() => import('./probes/udp.ts')),
};

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}

/** A probe that threw (the engine closed under it, say) is a failure, never a lost check. */
function crashed(error: unknown, startMs: number): ProbeResult {
  return { ok: false, latencyMs: performance.now() - startMs, reason: `probe crashed: ${String(error)}` };
}

/** What one checker probes, with the options of its probe. */
export type ProbeSpec =
  | { readonly kind: 'TCP_CHECK'; readonly options: TcpProbeOptions }
  | { readonly kind: 'HTTP_GET' | 'SSL_GET'; readonly options: HttpProbeOptions }
  | { readonly kind: 'PING_CHECK'; readonly options: PingProbeOptions }
  | { readonly kind: 'UDP_CHECK'; readonly options: UdpProbeOptions }
  | { readonly kind: 'DNS_CHECK'; readonly options: DnsProbeOptions }
  | { readonly kind: 'SMTP_CHECK'; readonly options: SmtpProbeOptions }
  | { readonly kind: 'MISC_CHECK'; readonly options: MiscProbeOptions }
  | {
      readonly kind: 'FILE_CHECK';
      readonly options: FileProbeOptions;
      /** track_file init_file */
      readonly initFile?: { readonly value: number; readonly overwrite: boolean };
    };

export interface ProbeRunner {
  /** Runs one probe and calls `done` with its result, once; a probe that throws is a failure. */
  run(spec: ProbeSpec, done: (result: ProbeResult) => void): void;
  /** One-time preparation before a checker's first run (track_file init_file); an error message or null. */
  prepare(spec: ProbeSpec): Promise<string | null>;
  close(): Promise<void>;
}

export interface NetworkProbeRunnerOptions {
  readonly onWarning?: (message: string) => void;
  /** Run TCP_CHECK, HTTP_GET and SSL_GET in JavaScript even where the native probe engine loads. */
  readonly javascriptOnly?: boolean;
}

/**
 * Runs probes for real: TCP_CHECK, HTTP_GET and SSL_GET through the native probe engine (or in
 * JavaScript where it cannot load), the rest in JavaScript, sharing one raw ICMP socket.
 */
export class NetworkProbeRunner implements ProbeRunner {
  private pinger: Promise<Pinger> | undefined;
  private engine: ProbeEngine | null | undefined;

  constructor(private readonly options: NetworkProbeRunnerOptions = {}) {
    if (options.javascriptOnly === true) this.engine = null;
  }

  run(spec: ProbeSpec, done: (result: ProbeResult) => void): void {
    const startMs = performance.now();
    // The native TCP_CHECK, most of a director's checks, calls back without a promise.
    if (spec.kind === 'TCP_CHECK') {
      const engine = this.nativeEngine();
      if (engine !== null) {
        try {
          return engine.tcpThen(spec.options, done);
        } catch (error) {
          return done(crashed(error, startMs));
        }
      }
    }
    let probe: Promise<ProbeResult>;
    try {
      probe = this.promised(spec);
    } catch (error) {
      probe = Promise.reject(error);
    }
    probe.then(done, (error: unknown) => done(crashed(error, startMs)));
  }

  private promised(spec: ProbeSpec): Promise<ProbeResult> {
    switch (spec.kind) {
      case 'TCP_CHECK':
        return probes.tcp().then((m) => m.tcpProbe(spec.options));
      case 'HTTP_GET':
      case 'SSL_GET': {
        const engine = this.nativeEngine();
        return engine === null ? httpProbe(spec.options) : httpProbe(spec.options, engine.httpGet);
      }
      case 'PING_CHECK':
        return (this.pinger ??= probes.ping().then((m) => new m.Pinger())).then((pinger) => pinger.ping(spec.options));
      case 'UDP_CHECK':
        return probes.udp().then((m) => m.udpProbe(spec.options));
      case 'DNS_CHECK':
        return probes.dns().then((m) => m.dnsProbe(spec.options));
      case 'SMTP_CHECK':
        return probes.smtp().then((m) => m.smtpProbe(spec.options));
      case 'MISC_CHECK':
        return probes.misc().then((m) => m.miscProbe(spec.options));
      case 'FILE_CHECK':
        return probes.file().then((m) => m.fileProbe(spec.options));
    }
  }

  async prepare(spec: ProbeSpec): Promise<string | null> {
    if (spec.kind === 'FILE_CHECK' && spec.initFile !== undefined) {
      const error = await (await probes.file()).initTrackedFile(spec.options.path, spec.initFile.value, spec.initFile.overwrite);
      return error === null ? null : `init_file ${spec.options.path}: ${error}`;
    }
    return null;
  }

  async close(): Promise<void> {
    (await this.pinger)?.close();
    this.engine?.close();
    this.engine = null;
  }

  /** Loaded on first use, so a director without TCP, HTTP or SSL checks opens no epoll set. */
  private nativeEngine(): ProbeEngine | null {
    if (this.engine === undefined) {
      try {
        this.engine = new ProbeEngine(loadProbeEngineAddon(), this.options.onWarning);
      } catch (error) {
        this.engine = null;
        this.options.onWarning?.(
          `native probe engine not loaded (${(error as Error).message.split('\n')[0]}): TCP_CHECK, HTTP_GET and SSL_GET run in JavaScript, at about twice the CPU per check`,
        );
      }
    }
    return this.engine;
  }
}
