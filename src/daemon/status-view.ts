import type { BgpStatus, DirectorStatus, RealServerStatus, SplitBrainStatus } from './status.ts';

export interface ViewOptions {
  /** ANSI colours, for a terminal. */
  readonly color: boolean;
}

type Tone = 'good' | 'bad' | 'warn' | 'dim';
const ANSI: Record<Tone, string> = { good: '\x1b[32m', bad: '\x1b[31m', warn: '\x1b[33m', dim: '\x1b[2m' };

/** Renders a status as aligned tables a person reads at a glance. */
export function renderStatus(status: DirectorStatus, options: ViewOptions): string {
  const paint = (tone: Tone, text: string): Cell => ({ text, tone: options.color ? tone : undefined });
  const lines: string[] = [];
  const reload = status.reloads.last
    ? `, last reload ${status.reloads.last.ok ? 'ok' : 'FAILED'} ${ago(Date.now() - Date.parse(status.reloads.last.at))} ago`
    : '';
  lines.push(`lvsd ${status.version}, pid ${status.pid}, up ${ago(Date.now() - Date.parse(status.startedAt))}, config ${status.configFile}${reload}`);
  if (status.reloads.last && !status.reloads.last.ok) lines.push(render([[paint('bad', `  reload rejected: ${status.reloads.last.message}`)]]));
  if (status.ipvs.state === 'unavailable') lines.push(render([[paint('bad', `IPVS unavailable: ${status.ipvs.problem ?? 'unknown'}`)]]));
  const refusals = status.ipvs.refusals;
  if (refusals?.last && refusals.retryInMs !== undefined) {
    lines.push(render([[paint('bad', `IPVS refused ${refusals.count} operation${refusals.count === 1 ? '' : 's'} since start, retrying with a ${Math.round(refusals.retryInMs / 1000)} s backoff; last at ${refusals.last.at}: ${refusals.last.op}: ${refusals.last.error}`)]]));
  }
  const drift = status.ipvs.drift;
  if (drift?.last) {
    lines.push(render([[paint('warn', `IPVS changed by another tool, put back (${drift.repairs} operation${drift.repairs === 1 ? '' : 's'} since start); last at ${drift.last.at}:`)]]));
    for (const change of drift.last.changes) lines.push(render([[plain(`  ${change}`)]]));
  }

  if (status.virtualServers.length > 0) {
    const rows: Cell[][] = [['VIRTUAL SERVER', 'SCHED', 'METHOD', 'QUORUM', 'SORRY SERVER'].map(header)];
    for (const vs of status.virtualServers) {
      rows.push([
        plain(vs.name),
        plain(vs.scheduler),
        plain(vs.method),
        vs.quorum.up ? paint('good', `up ${vs.quorum.alive}/${vs.quorum.needed}`) : paint('bad', `DOWN ${vs.quorum.alive}/${vs.quorum.needed}`),
        vs.sorryServer ? (vs.sorryServer.active ? paint('warn', `${vs.sorryServer.address} IN USE`) : plain(vs.sorryServer.address)) : plain('-'),
      ]);
      if (vs.correctedAtStart) rows.push([paint('warn', `  ! was in IPVS before lvsd with other settings, corrected: ${vs.correctedAtStart.join('; ')}`)]);
    }
    lines.push('', render(rows));

    const servers: Cell[][] = [['REAL SERVER', 'OF', 'STATE', 'WEIGHT', 'IPVS', 'SINCE', 'CHECK', 'REASON'].map(header)];
    for (const vs of status.virtualServers) {
      for (const rs of vs.realServers) {
        servers.push([
          plain(rs.address),
          paint('dim', vs.name),
          !rs.up ? paint('bad', 'DOWN') : rs.drain ? paint('warn', rs.drain.state.toUpperCase()) : paint('good', 'up'),
          plain(String(rs.configuredWeight)),
          rs.ipvsWeight === undefined ? paint('dim', 'absent') : plain(`w${rs.ipvsWeight}`),
          plain(ago(rs.stateAgeMs)),
          plain(rs.lastCheckLatencyMs === undefined ? '-' : `${rs.lastCheckLatencyMs.toFixed(1)}ms`),
          rs.failure ? paint('bad', `${rs.failure.checker}: ${rs.failure.reason}`) : rs.drain ? paint('warn', drainNote(rs.drain)) : plain(rs.checkers === 0 ? 'no checker' : ''),
        ]);
      }
    }
    lines.push('', render(servers));
  }

  if (status.vrrp.length > 0) {
    const rows: Cell[][] = [['VRRP INSTANCE', 'IF', 'VRID', 'STATE', 'PRIO', 'MASTER', 'ADVERT', 'VIPS'].map(header)];
    for (const instance of status.vrrp) {
      rows.push([
        plain(instance.name),
        plain(instance.interface),
        plain(String(instance.vrid)),
        instance.state === 'MASTER' ? paint('good', instance.state) : instance.state === 'FAULT' ? paint('bad', instance.state) : plain(instance.state),
        plain(
          instance.priority.effective === instance.priority.configured
            ? String(instance.priority.effective)
            : `${instance.priority.effective} (conf ${instance.priority.configured})`,
        ),
        plain(instance.masterAddress ?? '-'),
        plain(instance.lastAdvertAgeMs === undefined ? '-' : `${ago(instance.lastAdvertAgeMs)} ago`),
        plain(instance.virtualAddresses.join(' ')),
      ]);
      for (const warning of instance.warnings) rows.push([paint('warn', `  ! ${warning}`)]);
      if (instance.splitBrain && !instance.splitBrain.ongoing) rows.push([paint('dim', `  ${endedSplitBrainNote(instance.splitBrain)}`)]);
    }
    lines.push('', render(rows));
  }
  if (status.syncDaemons.length > 0) {
    const rows: Cell[][] = [['SYNC DAEMON', 'IF', 'SYNCID', 'GROUP', 'FOLLOWS'].map(header)];
    for (const daemon of status.syncDaemons) {
      rows.push([
        paint('good', daemon.state),
        plain(daemon.interface),
        plain(String(daemon.syncId)),
        plain(daemon.group === null ? '-' : `${daemon.group}${daemon.port === null ? '' : ` port ${daemon.port}`}`),
        plain(daemon.follows ?? '-'),
      ]);
      if (daemon.problem !== undefined) rows.push([paint('bad', `  ! ${daemon.problem}`)]);
    }
    lines.push('', render(rows));
  }
  if (status.bgp) lines.push('', ...bgpLines(status.bgp, paint));
  if (status.virtualServers.length === 0 && status.vrrp.length === 0) lines.push('', 'nothing configured');
  return `${lines.join('\n')}\n`;
}

function bgpLines(bgp: BgpStatus, paint: (tone: Tone, text: string) => Cell): string[] {
  const lines: string[] = [];
  const vips: Cell[][] = [[`BGP VIP (table ${bgp.table} proto ${bgp.proto})`, 'STATE', 'SINCE', 'REASON'].map(header)];
  for (const vip of bgp.announcements) {
    vips.push([
      plain(vip.address),
      vip.announced ? paint('good', 'announced') : paint('bad', 'WITHDRAWN'),
      plain(vip.since === '' ? '-' : ago(Date.now() - Date.parse(vip.since))),
      plain(vip.reason ?? ''),
    ]);
  }
  if (bgp.problem) vips.push([paint('bad', `  ! ${bgp.problem.message} (at ${bgp.problem.at}, retrying)`)]);
  lines.push(render(vips));
  const sessions: Cell[][] = [['BGP SESSION (BIRD)', 'STATE', 'SINCE', 'INFO'].map(header)];
  for (const session of bgp.sessions) {
    sessions.push([
      plain(session.name),
      session.up ? paint('good', 'up') : paint('bad', `DOWN (${session.state})`),
      plain(session.sinceAt === undefined ? session.since : `${ago(Date.now() - Date.parse(session.sinceAt))} (${session.since})`),
      plain(session.info),
    ]);
  }
  if (bgp.birdProblem !== undefined) sessions.push([paint('bad', `  ! ${bgp.birdProblem}`)]);
  lines.push('', render(sessions));
  return lines;
}

function endedSplitBrainNote(seen: SplitBrainStatus): string {
  const how = seen.outcome === 'left-master' ? 'this node left MASTER' : 'the other master went quiet';
  return `last split brain: ${seen.peer} (priority ${seen.peerPriority}) master too for ${duration(seen.durationMs)}, ended ${ago(seen.endedAgoMs ?? 0)} ago (${how})`;
}

/** A length that may be well under a second: 0.4s, 12s, 4m12s. */
export function duration(ms: number): string {
  return ms < 10_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : ago(ms);
}

function drainNote(drain: NonNullable<RealServerStatus['drain']>): string {
  const connections = drain.connections ? `, ${drain.connections.activeConnections} active / ${drain.connections.inactiveConnections} inactive connections` : '';
  return `drained ${ago(drain.sinceMs)} ago (lvsctl drain)${connections}`;
}

interface Cell {
  readonly text: string;
  readonly tone?: Tone | undefined;
}

const plain = (text: string): Cell => ({ text });
const header = (text: string): Cell => ({ text });

/** Left-aligned columns; a row with a single cell (a note) spans the table and sets no width. */
function render(rows: readonly Cell[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    if (row.length === 1) continue;
    row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.text.length)));
  }
  return rows
    .map((row) =>
      row
        .map((cell, index) => {
          const padded = index === row.length - 1 ? cell.text : cell.text.padEnd(widths[index] ?? 0);
          return cell.tone ? `${ANSI[cell.tone]}${padded}\x1b[0m` : padded;
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** 3s, 4m12s, 2h05m, 3d04h */
export function ago(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}
