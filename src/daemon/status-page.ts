import type { IncomingMessage, ServerResponse } from 'node:http';
import { ago } from './status-view.ts';

/** `lvsctl status --json`, as the control socket renders it. */
export type StatusJson = () => Promise<string>;

const REFRESH_MS = 3_000;

// One dense table per kind, state coloured as on HAProxy's stats page, which operators know.
// Everything inline: the page is read on management networks that may reach no CDN.
const STYLE = `
body { font: 12px Verdana, Arial, sans-serif; margin: 8px; color: #000; background: #fff; }
h1 { font-size: 15px; margin: 0 0 4px; }
h2 { font-size: 13px; margin: 14px 0 3px; }
#summary, #updated { color: #444; }
.alert { background: #ffb0b0; padding: 3px 6px; margin: 4px 0; }
.alert.warn { background: #ffd080; }
.alert:empty { display: none; }
table { border-collapse: collapse; }
th, td { border: 1px solid #999; padding: 1px 6px; text-align: left; white-space: nowrap; }
th { background: #20377f; color: #fff; font-weight: normal; }
tr.vs td { background: #b0c4de; font-weight: bold; }
tr.vs td.bad { background: #ffb0b0; }
tr.vs td.warn { background: #ffd080; }
td.reason { white-space: normal; max-width: 40em; }
.good { background: #c0f0c0; }
.bad { background: #ffb0b0; }
.warn { background: #ffd080; }
.dim { color: #777; }
`;

// Built with DOM nodes and textContent, never innerHTML: names and reasons come from the
// configuration and from the servers checked.
const SCRIPT = `
const ago = ${ago.toString()};
const $ = (id) => document.getElementById(id);
function cell(text, tone, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (tone) td.classList.add(tone);
  if (className) td.classList.add(className);
  return td;
}
function row(cells, className) {
  const tr = document.createElement('tr');
  if (className) tr.className = className;
  tr.append(...cells);
  return tr;
}
/** A row of one cell across the table: a virtual server's heading, or a note. */
function wide(text, tone, columns, className) {
  const td = cell(text, tone, 'reason');
  td.colSpan = columns;
  return row([td], className);
}
function table(headers, rows) {
  const t = document.createElement('table');
  t.append(row(headers.map((h) => { const th = document.createElement('th'); th.textContent = h; return th; })), ...rows);
  return t;
}
function realServerState(rs) {
  if (!rs.up) return ['DOWN', 'bad'];
  if (rs.drain) return [rs.drain.state.toUpperCase(), 'warn'];
  return ['UP', 'good'];
}
function realServerNote(rs) {
  if (rs.failure) return [rs.failure.checker + ': ' + rs.failure.reason, 'bad'];
  if (rs.drain) {
    const c = rs.drain.connections;
    return ['drained ' + ago(rs.drain.sinceMs) + ' ago (lvsctl drain)' + (c ? ', ' + c.activeConnections + ' active / ' + c.inactiveConnections + ' inactive connections' : ''), 'warn'];
  }
  return [rs.checkers === 0 ? 'no checker' : '', undefined];
}
function virtualServers(status) {
  const rows = [];
  for (const vs of status.virtualServers) {
    const quorum = (vs.quorum.up ? 'quorum up ' : 'quorum DOWN ') + vs.quorum.alive + '/' + vs.quorum.needed;
    const sorry = vs.sorryServer ? ', sorry server ' + vs.sorryServer.address + (vs.sorryServer.active ? ' IN USE' : '') : '';
    const tone = !vs.quorum.up ? 'bad' : vs.sorryServer && vs.sorryServer.active ? 'warn' : undefined;
    rows.push(wide(vs.name + ' \u2014 ' + vs.scheduler + ', ' + vs.method + ', ' + quorum + sorry, tone, 7, 'vs'));
    if (vs.correctedAtStart) rows.push(wide('was in IPVS before lvsd with other settings, corrected: ' + vs.correctedAtStart.join('; '), 'warn', 7));
    for (const rs of vs.realServers) {
      const [state, tone] = realServerState(rs);
      const [note, noteTone] = realServerNote(rs);
      rows.push(row([
        cell(rs.address),
        cell(String(rs.configuredWeight)),
        cell(state, tone),
        cell(rs.ipvsWeight === undefined ? 'absent' : String(rs.ipvsWeight), rs.ipvsWeight === undefined ? 'dim' : undefined),
        cell(ago(rs.stateAgeMs)),
        cell(rs.lastCheckLatencyMs === undefined ? '-' : rs.lastCheckLatencyMs.toFixed(1) + ' ms'),
        cell(note, noteTone, 'reason'),
      ], 'rs'));
    }
  }
  return table(['Real server', 'Weight', 'State', 'IPVS weight', 'Since', 'Check', 'Reason'], rows);
}
function vrrpInstances(status) {
  const rows = [];
  for (const v of status.vrrp) {
    const prio = v.priority.effective === v.priority.configured ? String(v.priority.effective) : v.priority.effective + ' (conf ' + v.priority.configured + ')';
    rows.push(row([
      cell(v.name), cell(v.interface), cell(String(v.vrid)),
      cell(v.state, v.state === 'MASTER' ? 'good' : v.state === 'FAULT' ? 'bad' : undefined),
      cell(prio), cell(v.masterAddress || '-'),
      cell(v.lastAdvertAgeMs === undefined ? '-' : ago(v.lastAdvertAgeMs) + ' ago'),
      cell(v.virtualAddresses.join(' ')),
    ], 'vrrp'));
    for (const warning of v.warnings) rows.push(wide(warning, 'warn', 8));
  }
  return table(['VRRP instance', 'Interface', 'VRID', 'State', 'Priority', 'Master', 'Last advert', 'Virtual addresses'], rows);
}
function syncDaemons(status) {
  return table(['Sync daemon', 'Interface', 'Sync id', 'Group', 'Follows', 'Problem'], status.syncDaemons.map((d) => row([
    cell(d.state, 'good'), cell(d.interface), cell(String(d.syncId)),
    cell(d.group === null ? '-' : d.group + (d.port === null ? '' : ' port ' + d.port)),
    cell(d.follows || '-'), cell(d.problem || '', d.problem ? 'bad' : undefined, 'reason'),
  ])));
}
function section(title, content) {
  const h = document.createElement('h2');
  h.textContent = title;
  return [h, content];
}
function render(status) {
  const last = status.reloads.last;
  $('summary').textContent = 'lvsd ' + status.version + ', pid ' + status.pid + ', up ' + ago(Date.now() - Date.parse(status.startedAt)) + ', config ' + status.configFile
    + ', IPVS ' + status.ipvs.state + (last ? ', last reload ' + (last.ok ? 'ok' : 'FAILED') + ' ' + ago(Date.now() - Date.parse(last.at)) + ' ago' : '');
  const alerts = [];
  if (last && !last.ok) alerts.push('reload rejected: ' + last.message);
  if (status.ipvs.state === 'unavailable') alerts.push('IPVS unavailable: ' + (status.ipvs.problem || 'unknown'));
  const refusals = status.ipvs.refusals;
  if (refusals && refusals.last && refusals.retryInMs !== undefined) alerts.push('IPVS refused ' + refusals.count + ' operation(s) since start, retrying; last at ' + refusals.last.at + ': ' + refusals.last.op + ': ' + refusals.last.error);
  $('alerts').textContent = alerts.join('\\n');
  const drift = status.ipvs.drift;
  $('drift').textContent = drift && drift.last ? 'IPVS changed by another tool, put back (' + drift.repairs + ' operation(s) since start); last at ' + drift.last.at + ': ' + drift.last.changes.join('; ') : '';
  const parts = [];
  if (status.virtualServers.length > 0) parts.push(...section('Virtual servers', virtualServers(status)));
  if (status.vrrp.length > 0) parts.push(...section('VRRP instances', vrrpInstances(status)));
  if (status.syncDaemons.length > 0) parts.push(...section('IPVS sync daemons', syncDaemons(status)));
  if (parts.length === 0) parts.push(document.createTextNode('nothing configured'));
  $('tables').replaceChildren(...parts);
}
async function refresh() {
  try {
    const response = await fetch('status.json', { cache: 'no-store' });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    render(await response.json());
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString() + ', every ${REFRESH_MS / 1000} s';
    $('stale').textContent = '';
  } catch (error) {
    $('stale').textContent = 'lvsd did not answer at ' + new Date().toLocaleTimeString() + ' (' + error.message + '); showing the last status it gave';
  }
}
refresh();
setInterval(refresh, ${REFRESH_MS});
`;

/** The status page at GET / of the --metrics listener: the page fetches /status.json and re-renders, without reloading. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width">
<title>lvsd status</title>
<style>${STYLE}</style>
</head>
<body>
<h1>lvsd status</h1>
<div id="summary">loading…</div>
<div id="updated"></div>
<div id="stale" class="alert"></div>
<div id="alerts" class="alert" style="white-space: pre-line"></div>
<div id="drift" class="alert warn"></div>
<div id="tables"></div>
<script>${SCRIPT}</script>
</body>
</html>
`;

/**
 * Answers GET / (the page) and GET /status.json (what `lvsctl status --json` prints); false for
 * any other path, which the caller answers.
 */
export function answerStatusPage(path: string, response: ServerResponse<IncomingMessage>, statusJson: StatusJson): boolean {
  if (path === '/') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(STATUS_PAGE_HTML);
    return true;
  }
  if (path === '/status.json') {
    statusJson().then(
      (json) => response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(json),
      (error: Error) => response.writeHead(500).end(`${error.message}\n`),
    );
    return true;
  }
  return false;
}
