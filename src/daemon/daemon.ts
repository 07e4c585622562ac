import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { formatDiagnostic, parseConfigFile, type ConfigResult, type KeepalivedConfig } from '../config/index.ts';
import { writeStderr } from '../util/stderr.ts';
import { serveControl, type ControlRequest } from './control.ts';
import { renderStatus } from './status-view.ts';
import { drainsFileOf, fileDrainStore } from './drain-file.ts';
import { DrainBook } from './drains.ts';
import { Director, type DiffOutcome, type ReloadOutcome } from './director.ts';
import { PoolHealth } from './health-adapter.ts';
import { boundHeapGrowth } from './heap.ts';
import { DeferredLog } from './log.ts';
import { openIpvs, type IpvsConnection } from './ipvs-adapter.ts';
import type { MetricsSnapshot, ReloadObserver } from './metrics.ts';
import { notifyScriptRunner, withScriptSecurity } from './scripts.ts';
import type { DaemonOptions } from './options.ts';
import type { DirectorStatus, ReloadStatus } from './status.ts';
import { SyncDaemons } from './sync-adapter.ts';
import { syncDaemonPlan } from './sync-daemons.ts';
import { startVrrpFor, type VrrpPart } from './vrrp-adapter.ts';
import type { BgpAnnounce } from '../config/model.ts';
import type { BgpPart } from './bgp-adapter.ts';

const FIRST_CHECKS_MAX_WAIT_MS = 1_000;

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Prints every diagnostic of a parse; true when the configuration is usable. */
function report(result: ConfigResult, log: (line: string) => void): result is Extract<ConfigResult, { ok: true }> {
  for (const warning of result.warnings) log(formatDiagnostic(warning));
  if (!result.ok) for (const error of result.errors) log(formatDiagnostic(error));
  return result.ok;
}

/**
 * The lvsd process: parse, check the kernel, program IPVS, start checkers and
 * VRRP, serve the control socket; reload on SIGHUP, clean up on SIGTERM/SIGINT.
 * Resolves with the exit code.
 */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const parsed = parseConfigFile(options.configFile);
  if (!report(parsed, (line) => writeStderr(`lvsd: ${line}\n`))) {
    const unreadable = parsed.errors.every((error) => error.at.line === 0);
    if (!unreadable) writeStderr(`lvsd: ${options.configFile} is not usable; nothing was changed\n`);
    return 1;
  }
  const log = new DeferredLog(options.logDetail ? 'debug' : 'info');
  try {
    return await serve(options, parsed.config, log);
  } finally {
    // However start ended, what was logged before pino loaded is written.
    await log.pino();
  }
}

async function serve(options: DaemonOptions, parsedConfig: KeepalivedConfig, log: DeferredLog): Promise<number> {
  // Signals are caught from here on: a HUP or TERM during start must not kill the process
  // with half its work done; they take effect once start is complete.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  let reloading: Promise<unknown> = Promise.resolve();
  // Set when a stop signal arrives: from then on no reload may change the kernel or the VIPs.
  let stopping = false;
  let startComplete: () => void = () => {};
  const started = new Promise<void>((resolve) => (startComplete = resolve));
  process.on('SIGHUP', () => {
    // A reload's duration counts from the signal: waiting behind another reload is part of it.
    const requestedAt = performance.now();
    reloading = reloading.then(() => started).then(() => {
      log.info('SIGHUP: reloading');
      return reload(requestedAt);
    }).catch((error: unknown) => log.error({ err: error }, 'reload failed'));
  });
  const usable = (next: KeepalivedConfig): KeepalivedConfig => withScriptSecurity(next, (message) => log.warn(message));
  const config = usable(parsedConfig);
  const runScript = notifyScriptRunner((script, reason, why) => log.warn({ script: script.command, reason }, `script failed: ${why}`));

  const wantIpvs = options.runCheckers && config.virtualServers.length > 0;
  const wantVrrp = options.runVrrp && config.vrrpInstances.length > 0;
  // Sync daemons are IPVS too: a VRRP-only director that syncs needs the netlink family.
  const wantSync = syncDaemonPlan(config) !== undefined && (options.runCheckers || wantVrrp);
  let ipvs: IpvsConnection | undefined;
  let ipvsProblem: string | undefined;
  if (wantIpvs || wantSync) {
    const opened = await openIpvs();
    if (opened.ok) ipvs = opened.connection;
    else ipvsProblem = opened.reason;
  }
  if (ipvsProblem !== undefined && !wantVrrp) {
    writeStderr(`lvsd: ${ipvsProblem}\n`);
    return 1;
  }
  if (ipvsProblem !== undefined) log.error(`IPVS unavailable, running VRRP only: ${ipvsProblem}`);

  const startedAt = new Date().toISOString();
  const reloads: { count: number; failed: number; last?: ReloadStatus['last'] } = { count: 0, failed: 0 };
  let director: Director | undefined;
  let vrrp: VrrpPart | undefined;
  let bgp: BgpPart | undefined;
  // Loaded only with a bgp_announce block: rtnetlink and BIRD's client are no part of other starts.
  const startBgp = async (settings: BgpAnnounce, of: Director): Promise<BgpPart> => (await import('./bgp-adapter.ts')).startBgpFor(settings, of, log);
  const syncDaemons = ipvs && new SyncDaemons(
    ipvs,
    { runsCheckers: options.runCheckers, stateOf: (instance) => vrrp?.status().find((v) => v.name === instance)?.state },
    { info: (message) => log.info(message), error: (message) => log.error(message) },
  );

  const status = (): DirectorStatus => ({
    version: packageVersion(),
    pid: process.pid,
    startedAt,
    configFile: options.configFile,
    reloads,
    ipvs:
      ipvsProblem !== undefined
        ? { state: 'unavailable', problem: ipvsProblem }
        : { state: wantIpvs ? 'in use' : 'unused', ...(director && { drift: director.driftStatus(), refusals: director.refusalStatus() }) },
    virtualServers: director?.virtualServerStatus() ?? [],
    vrrp: vrrp?.status() ?? [],
    syncDaemons: syncDaemons?.status() ?? [],
    ...(bgp && { bgp: bgp.status() }),
  });
  // What a status shows that is read when asked: drained servers' connections, BIRD's sessions.
  const refreshStatus = async (): Promise<void> => {
    await director?.refreshDrainConnections();
    await bgp?.refreshSessions();
  };

  const drainCommand = async (act: (director: Director) => Promise<string[]>): Promise<string[]> => {
    await started;
    if (!director) throw new Error('lvsd programs no IPVS here: nothing to drain');
    const done = await act(director);
    log.info({ realServers: done }, 'drains changed');
    return done;
  };

  const reload = async (requestedAt = performance.now()): Promise<ReloadOutcome> => {
    await started;
    if (stopping) return { ok: false, message: 'lvsd is stopping: reload not applied' };
    const counted = (ok: boolean, message: string): void => {
      if (!ok) reloads.failed++;
      reloads.count++;
      reloads.last = { at: new Date().toISOString(), ok, message };
      metrics?.observeReload(ok, (performance.now() - requestedAt) / 1000);
    };
    const next = parseConfigFile(options.configFile);
    const lines: string[] = [];
    if (!report(next, (line) => lines.push(line))) {
      const message = lines.join('\n');
      counted(false, message);
      log.error({ diagnostics: lines }, 'reload rejected: the configuration is not usable, keeping the running one');
      return { ok: false, message };
    }
    for (const line of lines) log.warn(line);
    const outcome = await applyConfig(usable(next.config));
    counted(true, outcome.message);
    log.info(outcome.message);
    return outcome;
  };

  const applyConfig = async (next: KeepalivedConfig): Promise<ReloadOutcome> => {
    const outcome = director ? await director.reload(next) : { ok: true, message: 'no IPVS part' };
    if (stopping) return outcome;
    if (director && JSON.stringify(bgp?.settings) !== JSON.stringify(next.bgpAnnounce)) {
      // Another table or proto: what the old settings announced is withdrawn before the new ones start.
      await bgp?.stop();
      bgp = undefined;
      if (next.bgpAnnounce) bgp = await startBgp(next.bgpAnnounce, director).catch((error: unknown) => void log.error({ err: error }, 'BGP announcements not started'));
    }
    if (vrrp) await vrrp.update(next);
    else if (options.runVrrp && next.vrrpInstances.length > 0) vrrp = await startVrrpFor(next, await log.pino(), onTransition);
    await syncDaemons?.follow(syncDaemonPlan(next));
    return outcome;
  };
  // The followed instance's every move swaps the sync daemons (keepalived: ipvs_syncd_master / _backup).
  const onTransition = (): void => void syncDaemons?.reconcile();

  const diff = async (configFile: string): Promise<DiffOutcome> => {
    await started;
    const next = parseConfigFile(configFile);
    const lines: string[] = [];
    if (!report(next, (line) => lines.push(line))) return { ok: false, message: lines.join('\n') };
    return { ok: true, changes: director ? await director.preview(usable(next.config)) : [] };
  };

  // `lvsctl status --json` and the status page's /status.json: one rendering for both.
  const statusJson = async (): Promise<string> => {
    await refreshStatus();
    return `${JSON.stringify(status(), null, 2)}\n`;
  };

  let health: PoolHealth | undefined;
  const metricsSnapshot = async (): Promise<MetricsSnapshot> => {
    await bgp?.refreshSessions();
    return {
      status: status(),
      connections: (await ipvs?.connections(director?.ownedKernelServices() ?? [])) ?? [],
      checks: health?.checkTallies() ?? [],
      checkLag: health?.takeCheckLag(),
      checkQueue: health?.checkQueue(),
      ipvsUpdatesPending: director?.pendingUpdates(),
      netlink: ipvs?.operationCounts() ?? [],
    };
  };

  // The control socket and the metrics listener come up before IPVS is touched, so that a
  // socket problem stops lvsd with nothing changed.
  let control: Server;
  let metrics: { server: Server; observeReload: ReloadObserver } | undefined;
  try {
    control = await serveControl(options.socketPath, async (request: ControlRequest) => {
      switch (request.command) {
        case 'status':
          await refreshStatus();
          return status();
        case 'status-view':
          if (request.format === 'json') return statusJson();
          await refreshStatus();
          return renderStatus(status(), { color: request.color });
        case 'drain':
          return drainCommand((d) => d.drain(request.realServer, request.virtualServer));
        case 'undrain':
          return drainCommand((d) => d.undrain(request.realServer, request.virtualServer, request.overSeconds * 1000));
        case 'reload':
          return reload();
        case 'diff':
          return diff(request.configFile);
      }
    });
    // node:http is loaded only where metrics are served.
    metrics = options.metricsAddress
      ? await (await import('./metrics.ts')).serveMetrics(options.metricsAddress, metricsSnapshot, statusJson)
      : undefined;
  } catch (error) {
    writeStderr(`lvsd: cannot listen: ${(error as Error).message}; nothing was changed\n`);
    rmSync(options.socketPath, { force: true });
    ipvs?.close();
    return 1;
  }
  if (options.pidFile) writeFileSync(options.pidFile, `${process.pid}\n`);

  if (ipvs) {
    health = new PoolHealth(
      log,
      (plan, realServer, verdict) => director?.onVerdict(plan, realServer, verdict),
      runScript,
      (plan, realServer) => director?.onChecked(plan, realServer),
    );
    director = new Director(config, ipvs, health, runScript, log, new DrainBook(fileDrainStore(drainsFileOf(options.socketPath), log), Date.now));
    director.followQuorum(() => bgp?.update());
    if (config.bgpAnnounce) {
      try {
        bgp = await startBgp(config.bgpAnnounce, director);
      } catch (error) {
        // Announcements an earlier run left could not be withdrawn: starting would leave them to the routers.
        writeStderr(`lvsd: cannot withdraw the announcements in routing table ${config.bgpAnnounce.table}: ${(error as Error).message}; nothing was changed\n`);
        control.close();
        metrics?.server.close();
        ipvs.close();
        rmSync(options.socketPath, { force: true });
        if (options.pidFile) rmSync(options.pidFile, { force: true });
        return 1;
      }
    }
    await director.start();
    log.info({ virtualServers: config.virtualServers.length }, 'IPVS programmed, checkers running');
  }
  // The plan first: without an instance both daemons start now; with one, they follow its states.
  await syncDaemons?.follow(syncDaemonPlan(config));
  // What loads after the table (pino, node:v8) takes a loaded machine's CPU for a second: without a
  // VRRP speaker to start, it waits until the checks due at start have answered and their verdicts
  // reached IPVS (at most FIRST_CHECKS_MAX_WAIT_MS), so that it holds none of them up.
  if (!wantVrrp) {
    await health?.settled(FIRST_CHECKS_MAX_WAIT_MS);
    // The last verdict's pass may still wait for its turn of the event loop: loading pino in the
    // microtask before it held a quorum change back 3 s in a loaded kernel VM.
    await director?.idle();
  }
  // Loaded once the table is programmed: loading pino took longer than programming a small table.
  const logger = await log.pino();
  if (wantVrrp) {
    try {
      vrrp = await startVrrpFor(config, logger, onTransition);
      // The first states came while the speaker started, before `vrrp` could report them.
      await syncDaemons?.reconcile();
    } catch (error) {
      // An interface that is missing or has no address: the speaker has undone what it started.
      const reason = (error as Error).message;
      if (!director) {
        writeStderr(`lvsd: VRRP cannot start: ${reason}\n`);
        control.close();
        metrics?.server.close();
        rmSync(options.socketPath, { force: true });
        if (options.pidFile) rmSync(options.pidFile, { force: true });
        return 1;
      }
      log.error(`VRRP not started, running the checkers and IPVS only (a reload tries again): ${reason}`);
    }
  }

  startComplete();
  // From here the heap holds a steady working set; start is left to V8's default growth.
  boundHeapGrowth();

  const signal = await stopSignal;
  stopping = true;
  log.info(`${signal}: removing what lvsd programmed`);
  control.close();
  metrics?.server.close();
  await reloading;
  // Withdrawn before IPVS lets go of the services: the routers send the flows elsewhere first.
  await bgp?.stop();
  const [ipvsStop] = await Promise.all([director?.stop(), vrrp?.stop()]);
  await syncDaemons?.stop();
  ipvs?.close();
  rmSync(options.socketPath, { force: true });
  if (options.pidFile) rmSync(options.pidFile, { force: true });
  if (ipvsStop && !ipvsStop.ok) {
    log.error({ left: ipvsStop.left }, 'stopped, leaving IPVS entries behind');
    return 1;
  }
  log.info('stopped');
  return 0;
}
